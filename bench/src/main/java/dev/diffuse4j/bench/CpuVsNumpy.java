package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * The Java half of {@code bench/cpu-vs-numpy}: times {@code Ops.matmul} (F32, output allocated per
 * call, as numpy's {@code a @ b}) at the given "MxKxN" sizes and prints one line per size,
 * {@code ours MxKxN best_ms gflops}, best of {@code reps} after warm-up.
 */
public final class CpuVsNumpy {
    private CpuVsNumpy() {}

    public static void main(String[] args) {
        int reps = Integer.getInteger("reps", 20);
        String[] sizes = args.length > 0 ? args : new String[]{"4096x320x320", "4096x320x1280", "1024x640x2560"};
        for (String s : sizes) {
            int[] d = BenchTensors.dims(s);
            try (Tensor a = BenchTensors.uniform(1, d[0], d[1]); Tensor b = BenchTensors.uniform(2, d[1], d[2])) {
                double flops = 2.0 * d[0] * d[1] * d[2];
                long warmUntil = System.nanoTime() + 2_000_000_000L;
                for (int i = 0; i < 5 || System.nanoTime() < warmUntil; i++) Ops.matmul(a, b).close();
                double best = Double.MAX_VALUE;
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    Ops.matmul(a, b).close();
                    best = Math.min(best, (System.nanoTime() - t0) / 1e6);
                }
                System.out.printf("ours %s %.3f %.1f%n", s, best, flops / (best * 1e6));
            }
        }
    }
}
