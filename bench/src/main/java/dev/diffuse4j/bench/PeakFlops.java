package dev.diffuse4j.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's F32 peak as the Vector API can reach it: independent FMA chains (more than latency
 * x throughput, so the FMA pipes never wait), nothing else in the loop. GEMM efficiency is reported
 * against this measured figure; {@link #nominalGflops} gives the datasheet-style one for comparison.
 */
public final class PeakFlops {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** FMAs per loop trip: 12 independent accumulators. */
    static final int CHAINS = 12;
    /** Loop trips per call: long enough to hide the call, short enough for JMH to calibrate. */
    public static final int TRIPS = 1 << 16;

    private PeakFlops() {}

    /** Flops of one {@link #run} call. */
    public static long flopsPerCall() { return (long) TRIPS * CHAINS * F.length() * 2; }

    /** TRIPS x CHAINS vector FMAs; the result depends on every one of them. */
    public static float run(float seed) {
        FloatVector a0 = FloatVector.broadcast(F, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3);
        FloatVector a4 = a0.add(4), a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7);
        FloatVector a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-6f);
        for (int i = 0; i < TRIPS; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c);
            a4 = a4.fma(m, c); a5 = a5.fma(m, c); a6 = a6.fma(m, c); a7 = a7.fma(m, c);
            a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** Best GFLOP/s of {@code rounds} timed rounds of {@code calls} calls on each of {@code threads} threads. */
    public static double measure(int threads, int calls, int rounds) throws InterruptedException {
        double best = 0;
        float[] sink = new float[threads];
        for (int r = 0; r < rounds; r++) {
            Thread[] ts = new Thread[threads];
            long t0 = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts[t] = new Thread(() -> {
                    float s = 0;
                    for (int i = 0; i < calls; i++) s += run(id + i);
                    sink[id] = s;
                });
                ts[t].start();
            }
            for (Thread t : ts) t.join();
            double seconds = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, threads * (double) calls * flopsPerCall() / seconds / 1e9);
        }
        if (Float.isNaN(sink[0])) System.out.print("");
        return best;
    }

    /** "cpu MHz" of /proc/cpuinfo (the nominal clock under virtualisation), or NaN. */
    public static double cpuinfoMhz() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("cpu MHz")) return Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /**
     * Datasheet peak: cores x 2 FMA pipes x 8 F32 lanes (256-bit pipes; Zen 4 runs a 512-bit FMA as
     * two halves) x 2 flops x clock.
     */
    public static double nominalGflops(int cores, double ghz) { return cores * 2 * 8 * 2 * ghz; }
}
