package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * CPU GroupNorm + SiLU on an NHWC activation of SD's largest UNet resolution (1x64x64x320, 32 groups),
 * the op a UNet step runs about a hundred times. Besides ops/s it reports {@code gigabytes}: effective
 * bandwidth in GB/s, counting one read of x and one write of the result (the least any GroupNorm must
 * move; the CPU kernel reads x twice, once for statistics and once to normalise). The time includes
 * allocating the result, as every op call does.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp ... org.openjdk.jmh.Main GroupNormBench [-p shape=1x32x32x640]</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class GroupNormBench {
    /** B x H x W x C. */
    @Param({"1x64x64x320"})
    public String shape;

    @Param({"32"})
    public int groups;

    private Tensor x, gamma, beta;
    private double gigabytesPerCall;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int[] s = new int[p.length];
        for (int i = 0; i < p.length; i++) s[i] = Integer.parseInt(p[i].trim());
        int c = s[s.length - 1];
        Random r = new Random(42);
        x = Tensor.of(gaussian(r, (int) numel(s), 3f, 0.5f), s);
        gamma = Tensor.of(gaussian(r, c, 1f, 1f), c);
        beta = Tensor.of(gaussian(r, c, 0.5f, 0f), c);
        gigabytesPerCall = 2.0 * x.byteSize() / 1e9;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        gamma.close();
        beta.close();
    }

    /** Effective bandwidth: JMH reports this counter per second, i.e. in GB/s. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Traffic {
        public double gigabytes;

        @Setup(Level.Iteration)
        public void reset() { gigabytes = 0; }
    }

    @Benchmark
    public void groupNormSilu(Traffic traffic, Blackhole bh) {
        Tensor y = Ops.groupNormSilu(x, groups, gamma, beta, 1e-5f);
        bh.consume(y);
        y.close();
        traffic.gigabytes += gigabytesPerCall;
    }

    private static long numel(int[] s) {
        long n = 1;
        for (int d : s) n *= d;
        return n;
    }

    private static float[] gaussian(Random r, int n, float std, float mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = mean + std * (float) r.nextGaussian();
        return v;
    }
}
