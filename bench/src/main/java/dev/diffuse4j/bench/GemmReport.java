package dev.diffuse4j.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Runs {@link PeakFlopsBench}, {@link MatmulBench}, {@link LinearBench} and {@link ConvBench}
 * through JMH and prints one table: time, GFLOP/s and the fraction of the measured peak, both from
 * each benchmark's best measurement iteration (the mean is printed too). Extra
 * arguments are JMH options, e.g. {@code -wi 2 -i 3} for a quicker run or {@code -p mkn=4096x320x320}
 * for one size.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.diffuse4j.bench.GemmReport</pre>
 */
public final class GemmReport {
    private GemmReport() {}

    public static void main(String[] args) throws Exception {
        var options = new OptionsBuilder().parent(new CommandLineOptions(args))
                .include(PeakFlopsBench.class.getSimpleName())
                .include(MatmulBench.class.getSimpleName())
                .include(LinearBench.class.getSimpleName())
                .include(ConvBench.class.getSimpleName())
                .build();
        Collection<RunResult> results = new Runner(options).run();

        // GFLOP/s from the best measurement iteration: on a shared machine the mean mixes in time
        // slices lost to other processes; the mean is printed too
        double peak = Double.NaN, onePeak = Double.NaN;
        int peakThreads = 0;
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            double best = r.getPrimaryResult().getStatistics().getMin();
            if (name.endsWith("PeakFlopsBench.allCores")) {
                peakThreads = r.getParams().getThreads();
                peak = peakThreads * PeakFlops.flopsPerCall() / (best * 1e6);
            } else if (name.endsWith("PeakFlopsBench.oneCore")) {
                onePeak = PeakFlops.flopsPerCall() / (best * 1e6);
            }
        }
        List<String[]> rows = new ArrayList<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            String op = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            double flops;
            String size;
            if (name.contains("MatmulBench") || name.contains("LinearBench")) {
                int[] d = BenchTensors.dims(r.getParams().getParam("mkn"));
                flops = 2.0 * d[0] * d[1] * d[2];
                size = r.getParams().getParam("mkn") + (name.contains("LinearBench") ? " W " + r.getParams().getParam("wtype") : "");
            } else if (name.contains("ConvBench")) {
                int[] d = BenchTensors.dims(r.getParams().getParam("hwc"));
                flops = 2.0 * d[0] * d[1] * d[2] * d[2] * 9;
                size = r.getParams().getParam("hwc") + " 3x3";
            } else {
                continue;
            }
            double mean = r.getPrimaryResult().getScore(), best = r.getPrimaryResult().getStatistics().getMin();
            double gflops = flops / (best * 1e6);
            rows.add(new String[]{op, size, String.format("%.3f", mean), String.format("%.3f", best), String.format("%.1f", gflops),
                    String.format("%.0f%%", 100 * gflops / peak)});
        }

        double mhz = PeakFlops.cpuinfoMhz();
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.println();
        System.out.printf("peak (FMA loop, best iteration): %.1f GFLOP/s on %d threads, %.1f GFLOP/s on one (= %.2f GHz at 32 flops/cycle)%n",
                peak, peakThreads, onePeak, onePeak / 32);
        System.out.printf("nominal: %d cores x 2 FMA pipes x 8 lanes x 2 flops x %.2f GHz (/proc/cpuinfo) = %.1f GFLOP/s; at the measured clock %.1f GFLOP/s%n",
                cores, mhz / 1000, PeakFlops.nominalGflops(cores, mhz / 1000), PeakFlops.nominalGflops(cores, onePeak / 32));
        String fmt = "%-20s %-22s %11s %11s %9s %8s%n";
        System.out.printf(fmt, "benchmark", "size", "mean ms/op", "best ms/op", "GFLOP/s", "of peak");
        for (String[] row : rows) System.out.printf(fmt, (Object[]) row);
    }
}
