package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Conv2dParams;
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
 * 3x3 stride-1 "same" NHWC convolutions of the UNet's three widest levels, batch 1, "HxWxC" with
 * C = Cin = Cout, F32 with bias. GFLOP/s = 2 H W C C 9 / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class ConvBench {
    @Param({"64x64x320", "32x32x640", "16x16x1280"})
    public String hwc;

    private Tensor x, w, bias;

    @Setup(Level.Trial)
    public void setup() {
        int[] d = BenchTensors.dims(hwc);
        x = BenchTensors.uniform(1, 1, d[0], d[1], d[2]);
        w = BenchTensors.uniform(2, d[2], 3, 3, d[2]);
        bias = BenchTensors.uniform(3, d[2]);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        w.close();
        bias.close();
    }

    @Benchmark
    public float conv3x3() {
        try (Tensor y = Ops.conv2d(x, w, bias, Conv2dParams.of(1, 1))) {
            return y.getFloat(0);
        }
    }
}
