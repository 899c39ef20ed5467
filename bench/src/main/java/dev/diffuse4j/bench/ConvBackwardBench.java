package dev.diffuse4j.bench;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
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

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reverse mode of the UNet's 3x3 stride-1 convolutions ("HxWxC", C = Cin = Cout, batch 1) through
 * the tape: forward alone, forward + input gradient (latent optimisation: weights are constants),
 * forward + input and weight gradients (training). Each gradient is one GEMM plus col2im/im2col.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
public class ConvBackwardBench {
    @Param({"64x64x320", "32x32x640"})
    public String hwc;

    private Tensor x, w, bias, seed;

    @Setup(Level.Trial)
    public void setup() {
        int[] d = BenchTensors.dims(hwc);
        x = BenchTensors.uniform(1, 1, d[0], d[1], d[2]);
        w = BenchTensors.uniform(2, d[2], 3, 3, d[2]);
        bias = BenchTensors.uniform(3, d[2]);
        seed = BenchTensors.uniform(4, 1, d[0], d[1], d[2]);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        w.close();
        bias.close();
        seed.close();
    }

    @Benchmark
    public float forward() {
        try (Tensor y = Ops.conv2d(x, w, bias, Conv2dParams.of(1, 1))) {
            return y.getFloat(0);
        }
    }

    @Benchmark
    public float forwardAndInputGradient() {
        try (Tape tape = Tape.record()) {
            Tensor xi = tape.watch(x);
            try (Tensor y = Ops.conv2d(xi, w, bias, Conv2dParams.of(1, 1))) {
                Gradients g = tape.backward(Map.of(y, seed));
                return g.of(xi).getFloat(0);
            }
        }
    }

    @Benchmark
    public float forwardAndInputAndWeightGradients() {
        try (Tape tape = Tape.record()) {
            Tensor xi = tape.watch(x), wi = tape.watch(w);
            try (Tensor y = Ops.conv2d(xi, wi, bias, Conv2dParams.of(1, 1))) {
                Gradients g = tape.backward(Map.of(y, seed));
                return g.of(xi).getFloat(0) + g.of(wi).getFloat(0);
            }
        }
    }
}
