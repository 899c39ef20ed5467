package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.DType;
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
 * {@code Ops.linear}, the models' form of the product: x[M, K] W^T with the weight W [N, K] stored
 * in {@code wtype} (F16/BF16 are widened while packing), no bias, at the "MxKxN" sizes.
 * GFLOP/s = 2 M K N / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class LinearBench {
    @Param({"4096x320x320", "4096x320x1280", "1024x640x2560"})
    public String mkn;

    @Param({"F32", "F16", "BF16"})
    public String wtype;

    private Tensor a, w;

    @Setup(Level.Trial)
    public void setup() {
        int[] d = BenchTensors.dims(mkn);
        a = BenchTensors.uniform(1, d[0], d[1]);
        try (Tensor wf = BenchTensors.uniform(3, d[2], d[1])) {
            w = Ops.cast(wf, DType.valueOf(wtype));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        w.close();
    }

    @Benchmark
    public float linear() {
        try (Tensor y = Ops.linear(a, w, null)) {
            return y.getFloat(0);
        }
    }
}
