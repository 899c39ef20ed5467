package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionGrads;
import dev.diffuse4j.runtime.ops.Backends;
import dev.diffuse4j.runtime.ops.KvSegment;
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

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The CPU attention op's backward against its forward at SD1.5 shapes: batch 2 (a CFG pair), 8 heads
 * x 40 channels, self-attention over 1024 or 4096 tokens and cross-attention over 77 text tokens.
 * The backward recomputes the softmax (QK^T and PV for the statistics and O, then QK^T, dO V^T,
 * dS K, P^T dO and dS^T Q): about 3.5x the forward's two products. {@code backwardWithMaps} also
 * back-propagates a gradient of the captured head-averaged map (Attend-and-Excite style).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
public class AttentionBackwardBench {
    static final int ITEMS = 2, HEADS = 8, DIM = 320;

    /** "self1024", "self4096" or "cross77" (4096 queries over 77 keys). */
    @Param({"self1024", "self4096", "cross77"})
    public String shape;

    private AttentionCall call;
    private Tensor dOut, dMaps;

    @Setup(Level.Trial)
    public void setup() {
        Random r = new Random(42);
        int queries = shape.equals("self1024") ? 1024 : 4096;
        int keys = switch (shape) {
            case "self1024" -> 1024;
            case "self4096" -> 4096;
            case "cross77" -> 77;
            default -> throw new IllegalArgumentException("unknown shape " + shape);
        };
        call = AttentionCall.plain(randn(r, ITEMS, queries, DIM), randn(r, ITEMS, keys, DIM), randn(r, ITEMS, keys, DIM), HEADS).withCapture(0);
        dOut = randn(r, ITEMS, queries, DIM);
        dMaps = randn(r, ITEMS, queries, keys);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        call.q().close();
        call.segments().get(0).k().close();
        call.segments().get(0).v().close();
        dOut.close();
        dMaps.close();
    }

    @Benchmark
    public Tensor forward() {
        var res = Backends.cpu().attention(call.withCapture(-1));
        res.out().close();
        return res.out();
    }

    @Benchmark
    public Tensor backward() { return close(Backends.cpu().attentionBackward(call.withCapture(-1), dOut, null)); }

    @Benchmark
    public Tensor backwardWithMaps() { return close(Backends.cpu().attentionBackward(call, dOut, dMaps)); }

    private static Tensor close(AttentionGrads g) {
        g.dq().close();
        g.dk().forEach(Tensor::close);
        g.dv().forEach(Tensor::close);
        return g.dq();
    }

    private static Tensor randn(Random r, int... shape) {
        float[] a = new float[shape[0] * shape[1] * shape[2]];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        return Tensor.of(a, shape);
    }

    /**
     * Quick timing without JMH: best of [repetitions] after one warm-up, wall ms and CPU ms of the
     * process (the latter stays meaningful on a shared machine). Arguments: [repetitions] [shape,shape...].
     */
    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String[] shapes = args.length > 1 ? args[1].split(",") : new String[]{"self1024", "self4096", "cross77"};
        for (String s : shapes) {
            AttentionBackwardBench b = new AttentionBackwardBench();
            b.shape = s;
            b.setup();
            double[] fwd = best(reps, b::forward), bwd = best(reps, b::backward), maps = best(reps, b::backwardWithMaps);
            System.out.printf("%-9s %d threads: forward %.1f ms (cpu %.1f), backward %.1f ms (cpu %.1f; %.2fx), with maps %.1f ms (cpu %.1f)%n",
                    s, dev.diffuse4j.runtime.cpu.Parallel.threads(), fwd[0], fwd[1], bwd[0], bwd[1], bwd[1] / fwd[1], maps[0], maps[1]);
            b.tearDown();
        }
    }

    /**
     * {best wall ms, best CPU ms}: the process's CPU time, or with -Dd4j.threads=1 (everything runs on
     * the calling thread) that thread's, which has a much finer clock.
     */
    private static double[] best(int reps, Runnable op) {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        boolean single = dev.diffuse4j.runtime.cpu.Parallel.threads() == 1;
        java.util.function.LongSupplier cpuNanos = single ? threads::getCurrentThreadCpuTime : os::getProcessCpuTime;
        op.run();
        double wall = Double.MAX_VALUE, cpu = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long c0 = cpuNanos.getAsLong(), t0 = System.nanoTime();
            op.run();
            wall = Math.min(wall, (System.nanoTime() - t0) / 1e6);
            cpu = Math.min(cpu, (cpuNanos.getAsLong() - c0) / 1e6);
        }
        return new double[]{wall, cpu};
    }
}
