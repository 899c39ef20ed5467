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
 * through JMH and prints one table: time, GFLOP/s and the fraction of the measured peak. Extra
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

        double peak = Double.NaN, onePeak = Double.NaN;
        int peakThreads = 0;
        List<String[]> rows = new ArrayList<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            double ms = r.getPrimaryResult().getScore();
            if (name.endsWith("PeakFlopsBench.allCores")) {
                peakThreads = r.getParams().getThreads();
                peak = peakThreads * PeakFlops.flopsPerCall() / (ms * 1e6);
            } else if (name.endsWith("PeakFlopsBench.oneCore")) {
                onePeak = PeakFlops.flopsPerCall() / (ms * 1e6);
            }
        }
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            double ms = r.getPrimaryResult().getScore();
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
            double gflops = flops / (ms * 1e6);
            rows.add(new String[]{op, size, String.format("%.3f", ms), String.format("%.1f", gflops), String.format("%.0f%%", 100 * gflops / peak)});
        }

        double mhz = PeakFlops.cpuinfoMhz();
        System.out.println();
        System.out.printf("peak (FMA loop, %d threads): %.1f GFLOP/s; one thread: %.1f GFLOP/s (= %.2f GHz at 32 flops/cycle)%n",
                peakThreads, peak, onePeak, onePeak / 32);
        System.out.printf("nominal: %d cores x 2 FMA pipes x 8 lanes x 2 flops x %.2f GHz (/proc/cpuinfo) = %.1f GFLOP/s%n",
                Runtime.getRuntime().availableProcessors(), mhz / 1000, PeakFlops.nominalGflops(Runtime.getRuntime().availableProcessors(), mhz / 1000));
        System.out.printf("%-22s %-22s %10s %9s %8s%n", "benchmark", "size", "ms/op", "GFLOP/s", "of peak");
        for (String[] row : rows) System.out.printf("%-22s %-22s %10s %9s %8s%n", (Object[]) row);
    }
}
