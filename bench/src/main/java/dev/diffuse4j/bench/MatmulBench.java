package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
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

import java.util.concurrent.TimeUnit;

/**
 * {@code Ops.matmul} A[M, K] B[K, N] in F32 at the sizes, "MxKxN" (M rows, K inner, N
 * out); the output is allocated per call, as numpy's {@code a @ b} does. GFLOP/s = 2 M K N / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class MatmulBench {
    @Param({"4096x320x320", "4096x320x1280", "1024x640x2560"})
    public String mkn;

    private Tensor a, b;

    @Setup(Level.Trial)
    public void setup() {
        int[] d = BenchTensors.dims(mkn);
        a = BenchTensors.uniform(1, d[0], d[1]);
        b = BenchTensors.uniform(2, d[1], d[2]);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
    }

    @Benchmark
    public float matmul() {
        try (Tensor c = Ops.matmul(a, b)) {
            return c.getFloat(0);
        }
    }
}
