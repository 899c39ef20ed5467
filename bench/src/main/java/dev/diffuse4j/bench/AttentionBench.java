package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionMode;
import dev.diffuse4j.runtime.ops.KvSegment;
import dev.diffuse4j.runtime.ops.Ops;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The CPU attention op at SD1.5's largest self-attention: 4096 queries, 8 heads x 40, over one
 * 4096-token segment ("self") and jointly over a second 4096-token segment ("joint", StyleAligned's
 * shared attention), batch 1. GFLOP/s = 4 * B * H * Nq * Nk * D / time (QK^T and PV, 2 flops per
 * multiply-add); {@link #main} prints it from a plain timing loop.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class AttentionBench {
    static final int TOKENS = 4096, HEADS = 8, HEAD_DIM = 40, DIM = HEADS * HEAD_DIM;

    private AttentionCall self, joint;

    @Setup(Level.Trial)
    public void setup() {
        Random r = new Random(42);
        Tensor q = randn(r), k = randn(r), v = randn(r), kRef = randn(r), vRef = randn(r);
        self = AttentionCall.plain(q, k, v, HEADS);
        joint = new AttentionCall(q, HEADS, List.of(KvSegment.of(k, v), KvSegment.of(kRef, vRef)), AttentionMode.JOINT,
                Float.NaN, false, null, -1);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        self.q().close();
        for (KvSegment s : joint.segments()) {
            s.k().close();
            s.v().close();
        }
    }

    @Benchmark
    public Tensor self() { return run(self); }

    @Benchmark
    public Tensor joint() { return run(joint); }

    private static Tensor run(AttentionCall call) {
        var res = Ops.attention(call);
        res.out().close();
        return res.out();
    }

    private static Tensor randn(Random r) {
        float[] a = new float[TOKENS * DIM];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        return Tensor.of(a, 1, TOKENS, DIM);
    }

    static double gflop(AttentionCall call) {
        long keys = 0;
        for (KvSegment s : call.segments()) keys += s.k().dim(1);
        return 4.0 * call.q().dim(0) * call.heads() * call.q().dim(1) * keys * call.headDim() / 1e9;
    }

    /**
     * Quick timing without JMH: best of a few runs after warm-up, as ms and GFLOP/s. Also GFLOP per
     * CPU-second of the process (per-core throughput), which stays meaningful on a shared machine.
     * Arguments: [repetitions] [self|joint].
     */
    public static void main(String[] args) {
        AttentionBench b = new AttentionBench();
        b.setup();
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        var cases = List.of(java.util.Map.entry("self", b.self), java.util.Map.entry("joint", b.joint));
        if (args.length > 1) cases = cases.stream().filter(e -> e.getKey().equals(args[1])).toList();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (var e : cases) {
            for (int i = 0; i < 2; i++) run(e.getValue());
            double best = Double.MAX_VALUE, bestCpu = Double.MAX_VALUE;
            for (int i = 0; i < reps; i++) {
                long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                run(e.getValue());
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                bestCpu = Math.min(bestCpu, (os.getProcessCpuTime() - c0) / 1e9);
            }
            double g = gflop(e.getValue());
            System.out.printf("%-5s %d threads: %.1f ms, %.1f GFLOP/s; %.1f GFLOP per CPU-second%n", e.getKey(),
                    dev.diffuse4j.runtime.cpu.Parallel.threads(), best * 1e3, g / best, g / bestCpu);
        }
        b.tearDown();
    }
}
