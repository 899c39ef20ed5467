package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole tiny SD1.5 UNet is differentiable: the gradient with respect to the input latent and the
 * encoder hidden states, for f = sum(w * output) and for a loss on a captured cross-attention map,
 * matches directional finite differences (f(x + hv) - f(x - hv)) / 2h of the plain (untaped) forward.
 */
class UNetGradientTest {
    private static final double H = 1e-2;

    private static Tensor random(Random r, int[] shape, double scale) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return Tensor.of(v, shape);
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }

    /** Checks <g_x, v_x> + <g_c, v_c> against the central difference of {@code f} along (v_x, v_c). */
    private static void checkDirectional(TinyUNet t, Function<UNetInput, Tensor> f, String what) {
        Random r = new Random(what.hashCode());
        try (Scope s = Scope.open()) {
            UNetInput in = t.input();
            Tensor x0 = in.sample(), c0 = in.context();
            Tensor w, analytic;
            try (Tape tape = Tape.record()) {
                Tensor x = tape.watch(x0), c = tape.watch(c0);
                Tensor y = f.apply(UNetInput.of(x, in.timesteps(), c));
                w = random(r, y.shape(), 1);
                Gradients g = tape.backward(Map.of(y, w));
                Tensor vx = random(r, x0.shape(), 1), vc = random(r, c0.shape(), 1);
                double directional = dot(g.of(x), vx) + dot(g.of(c), vc);
                double plus = dot(w, f.apply(UNetInput.of(Ops.add(x0, Ops.scale(vx, (float) H)), in.timesteps(), Ops.add(c0, Ops.scale(vc, (float) H)))));
                double minus = dot(w, f.apply(UNetInput.of(Ops.sub(x0, Ops.scale(vx, (float) H)), in.timesteps(), Ops.sub(c0, Ops.scale(vc, (float) H)))));
                double fd = (plus - minus) / (2 * H);
                assertTrue(Math.abs(fd) > 1e-3, what + ": the loss must depend on the inputs (fd " + fd + ")");
                assertEquals(fd, directional, 2e-3 * Math.abs(fd) + 1e-4, what + ": directional derivative vs finite difference");
                // each watched input alone: the latent path and the text path are both wired
                double onlyX = dot(g.of(x), vx);
                double px = dot(w, f.apply(UNetInput.of(Ops.add(x0, Ops.scale(vx, (float) H)), in.timesteps(), c0)));
                double mx = dot(w, f.apply(UNetInput.of(Ops.sub(x0, Ops.scale(vx, (float) H)), in.timesteps(), c0)));
                assertEquals((px - mx) / (2 * H), onlyX, 2e-3 * Math.abs(onlyX) + 1e-4, what + ": latent direction alone");
            }
        }
    }

    @Test
    void outputGradientWrtLatentAndContext() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15")) {
            checkDirectional(t, in -> t.unet.forward(in), "unet output");
        }
    }

    @Test
    void capturedCrossAttentionMapGradientWrtLatentAndContext() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15")) {
            String layer = "mid_block.attentions.0.transformer_blocks.0.attn2";
            Tensor[] captured = new Tensor[1];
            t.unet.processors().install(layer, (attn, hidden, context, info, step) -> {
                Tensor q = attn.query(hidden), k = attn.key(context), v = attn.value(context);
                var res = Ops.attention(AttentionCall.plain(q, k, v, attn.heads()).withCapture(0));
                captured[0] = Scope.detach(res.maps());  // outlives the block's scope; the caller takes it
                return attn.out(res.out());
            });
            try {
                checkDirectional(t, in -> {
                    t.unet.forward(in);
                    Tensor maps = captured[0].share();  // into the caller's scope (and onto the tape, when tracked)
                    captured[0].close();
                    return maps;
                }, "cross-attention map of " + layer);
            } finally {
                t.unet.processors().reset();
            }
        }
    }

    @Test
    void closingTheTapeReturnsLiveBytesToTheBaseline() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15"); Scope s = Scope.open()) {
            UNetInput in = t.input();
            long baseline = MemoryStats.cpuBytesInUse(), held;
            try (Tape tape = Tape.record()) {
                Tensor x = tape.watch(in.sample());
                try (Scope forward = Scope.open()) {
                    Tensor y = t.unet.forward(UNetInput.of(x, in.timesteps(), in.context()));
                    held = MemoryStats.cpuBytesInUse();
                    Gradients g = tape.backward(Map.of(y, Ops.full(y.device(), y.dtype(), 1f, y.shape())));
                    assertTrue(g.reached(x));
                }
            }
            assertTrue(held > baseline, "the tape holds the forward's saved activations");
            assertEquals(baseline, MemoryStats.cpuBytesInUse(), "live host bytes after the tape closed");
        }
    }
}
