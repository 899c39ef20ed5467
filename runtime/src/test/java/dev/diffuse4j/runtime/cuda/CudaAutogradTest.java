package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reverse mode on CUDA (F32 tensors) matches the CPU backend: a small graph through every family of
 * backward rule (the grad.cu primitives, GEMM-based conv gradients, broadcast reductions),
 * run on both devices with the same inputs and seed.
 */
class CudaAutogradTest {
    private static List<Tensor> gradients(Device d, Function<List<Tensor>, Tensor> f, List<Tensor> inputs, Tensor seed) {
        try (Scope s = Scope.open(); Tape tape = Tape.record()) {
            List<Tensor> xs = inputs.stream().map(t -> tape.watch(Ops.to(t, d))).toList();
            Tensor y = f.apply(xs);
            Gradients g = tape.backward(Map.of(y, Ops.to(seed, d)));
            return xs.stream().map(x -> Scope.detach(Ops.to(g.of(x), Device.CPU))).toList();
        }
    }

    @Test
    void smallGraphGradientsMatchTheCpu() {
        CudaTestSupport.backendOrSkip();
        Random rnd = new Random(3);
        Tensor x = CudaTestSupport.random(rnd, dev.diffuse4j.runtime.DType.F32, 2, 6, 6, 8);
        Tensor w = CudaTestSupport.random(rnd, dev.diffuse4j.runtime.DType.F32, 8, 3, 3, 8);
        Tensor gamma = CudaTestSupport.random(rnd, dev.diffuse4j.runtime.DType.F32, 8);
        Tensor lw = CudaTestSupport.random(rnd, dev.diffuse4j.runtime.DType.F32, 8, 8);
        Function<List<Tensor>, Tensor> f = in -> {
            Tensor h = Ops.groupNormSilu(Ops.conv2d(in.get(0), in.get(1), null, Conv2dParams.of(2, 1)), 4, in.get(2), null, 1e-5f);
            Tensor t = Ops.upsampleNearest2x(h).reshape(2, 36, 8);
            Tensor a = Ops.attention(AttentionCall.plain(t, t, t, 2)).out();
            return Ops.mul(Ops.gelu(Ops.linear(Ops.layerNorm(a, null, null, 1e-5f), in.get(3), null)), in.get(2));
        };
        Tensor seed = CudaTestSupport.random(rnd, dev.diffuse4j.runtime.DType.F32, 2, 36, 8);
        List<Tensor> inputs = List.of(x, w, gamma, lw);
        List<Tensor> cpu = gradients(Device.CPU, f, inputs, seed), gpu = gradients(Device.cuda(), f, inputs, seed);
        for (int i = 0; i < cpu.size(); i++) {
            double err = CudaTestSupport.relL2(cpu.get(i).toFloatArray(), gpu.get(i).toFloatArray());
            assertTrue(err < 1e-3, "gradient of input " + i + ": relative L2 error " + err + " between CUDA and CPU");
        }
    }
}
