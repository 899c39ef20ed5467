package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.AttentionResult;
import dev.diffuse4j.runtime.ops.Conv2dParams;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-graph reverse mode on CUDA against the CPU: a miniature SD UNet built from the ops (a resnet
 * block with GroupNorm+SiLU, 3x3 convs and a broadcast time embedding; a strided downsampling conv; a
 * transformer block with LayerNorm, self-attention, cross-attention to a text context with a captured
 * map, GEGLU feed-forward; nearest upsampling, a skip concat and a 1x1 output conv), seeded at both
 * the output and the captured cross-attention map, as guidance losses do. The gradients of every
 * input and weight must agree within 1e-3 relative L2 (F32, different summation orders through ~20
 * layers). Skipped, with the reason, where no GPU is.
 */
class CudaUNetGradientTest {
    private static final int C = 8, C2 = 16, CTX = 12, TOKENS = 7;

    private static Map<String, Tensor> weights(Random rnd) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("x", CudaTestSupport.random(rnd, DType.F32, 2, 8, 8, C));
        w.put("temb", CudaTestSupport.random(rnd, DType.F32, 2, 32));
        w.put("context", CudaTestSupport.random(rnd, DType.F32, 2, TOKENS, CTX));
        w.put("gn1", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C));
        w.put("gn1b", CudaTestSupport.random(rnd, DType.F32, C));
        w.put("conv1", scaled(rnd, 0.3f, C, 3, 3, C));
        w.put("tproj", scaled(rnd, 0.3f, C, 32));
        w.put("gn2", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C));
        w.put("conv2", scaled(rnd, 0.3f, C, 3, 3, C));
        w.put("down", scaled(rnd, 0.3f, C2, 3, 3, C));
        w.put("ln1", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C2));
        w.put("wq", scaled(rnd, 0.5f, C2, C2));
        w.put("wk", scaled(rnd, 0.5f, C2, C2));
        w.put("wv", scaled(rnd, 0.5f, C2, C2));
        w.put("wo", scaled(rnd, 0.5f, C2, C2));
        w.put("ln2", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C2));
        w.put("cq", scaled(rnd, 0.5f, C2, C2));
        w.put("ck", scaled(rnd, 0.5f, C2, CTX));
        w.put("cv", scaled(rnd, 0.5f, C2, CTX));
        w.put("ln3", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C2));
        w.put("ff1", scaled(rnd, 0.5f, 4 * C2, C2));
        w.put("ff1b", CudaTestSupport.random(rnd, DType.F32, 4 * C2));
        w.put("ff2", scaled(rnd, 0.3f, C2, 2 * C2));
        w.put("gn3", CudaTestSupport.random(rnd, DType.F32, 0.5f, 1.5f, C2 + C));
        w.put("upconv", scaled(rnd, 0.3f, C, 3, 3, C2 + C));
        w.put("out", scaled(rnd, 0.5f, 4, 1, 1, C));
        return w;
    }

    private static Tensor scaled(Random rnd, float s, int... shape) { return CudaTestSupport.random(rnd, DType.F32, -s, s, shape); }

    /** The network; returns {output [2, 8, 8, 4], cross-attention map [2, 16, TOKENS]}. */
    private static Tensor[] forward(Map<String, Tensor> p) {
        Tensor x = p.get("x");
        // resnet block
        Tensor h = Ops.conv2d(Ops.groupNormSilu(x, 4, p.get("gn1"), p.get("gn1b"), 1e-5f), p.get("conv1"), null, Conv2dParams.of(1, 1));
        Tensor t = Ops.linear(Ops.silu(p.get("temb")), p.get("tproj"), null).reshape(2, 1, 1, C);
        h = Ops.add(h, t);
        h = Ops.conv2d(Ops.groupNormSilu(h, 4, p.get("gn2"), null, 1e-5f), p.get("conv2"), null, Conv2dParams.of(1, 1));
        Tensor skip = Ops.add(x, h);
        // downsample and a transformer block at 4x4
        Tensor d = Ops.conv2d(skip, p.get("down"), null, Conv2dParams.of(2, 1));
        Tensor tok = d.reshape(2, 16, C2);
        Tensor n1 = Ops.layerNorm(tok, p.get("ln1"), null, 1e-5f);
        Tensor self = Ops.attention(Ops.linear(n1, p.get("wq"), null), Ops.linear(n1, p.get("wk"), null), Ops.linear(n1, p.get("wv"), null), 2);
        tok = Ops.add(tok, Ops.linear(self, p.get("wo"), null));
        Tensor n2 = Ops.layerNorm(tok, p.get("ln2"), null, 1e-5f);
        Tensor ctx = p.get("context");
        AttentionResult cross = Ops.attention(AttentionCall.plain(Ops.linear(n2, p.get("cq"), null), Ops.linear(ctx, p.get("ck"), null),
                Ops.linear(ctx, p.get("cv"), null), 2).withCapture(0));
        tok = Ops.add(tok, cross.out());
        Tensor n3 = Ops.layerNorm(tok, p.get("ln3"), null, 1e-5f);
        tok = Ops.add(tok, Ops.linear(Ops.geglu(Ops.linear(n3, p.get("ff1"), p.get("ff1b"))), p.get("ff2"), null));
        // up path with the skip connection
        Tensor up = Ops.upsampleNearest2x(tok.reshape(2, 4, 4, C2));
        Tensor cat = Ops.concat(3, up, skip);
        Tensor u = Ops.conv2d(Ops.groupNormSilu(cat, 4, p.get("gn3"), null, 1e-5f), p.get("upconv"), null, Conv2dParams.of(1, 1));
        return new Tensor[]{Ops.conv2d(u, p.get("out"), null, Conv2dParams.of(1, 0)), cross.maps()};
    }

    private static List<Tensor> gradients(Device device, Map<String, Tensor> params, Tensor seedOut, Tensor seedMaps) {
        try (Scope s = Scope.open(); Tape tape = Tape.record()) {
            Map<String, Tensor> watched = new HashMap<>();
            for (var e : params.entrySet()) watched.put(e.getKey(), tape.watch(Ops.to(e.getValue(), device)));
            Tensor[] y = forward(watched);
            Gradients g = tape.backward(Map.of(y[0], Ops.to(seedOut, device), y[1], Ops.to(seedMaps, device)));
            List<Tensor> out = new ArrayList<>();
            for (String k : params.keySet()) out.add(Scope.detach(Ops.to(g.of(watched.get(k)), Device.CPU)));
            return out;
        }
    }

    @Test
    void miniUNetGradientsMatchTheCpu() {
        CudaTestSupport.backendOrSkip();
        Random rnd = new Random(11);
        Map<String, Tensor> params = weights(rnd);
        Tensor seedOut = CudaTestSupport.random(rnd, DType.F32, 2, 8, 8, 4), seedMaps = CudaTestSupport.random(rnd, DType.F32, 2, 16, TOKENS);
        List<Tensor> cpu = gradients(Device.CPU, params, seedOut, seedMaps), gpu = gradients(Device.cuda(), params, seedOut, seedMaps);
        List<String> names = new ArrayList<>(params.keySet());
        for (int i = 0; i < names.size(); i++) {
            double err = CudaTestSupport.relL2(cpu.get(i).toFloatArray(), gpu.get(i).toFloatArray());
            assertTrue(err < 1e-3, "gradient of " + names.get(i) + ": relative L2 error " + err + " between CUDA and CPU");
        }
    }
}
