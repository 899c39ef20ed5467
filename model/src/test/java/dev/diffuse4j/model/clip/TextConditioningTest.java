package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.tokenizer.ByteLevelTokenizer;
import dev.diffuse4j.model.tokenizer.PadToken;
import dev.diffuse4j.runtime.Device;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SD1.5 / SDXL conditioning built from tiny encoders, checked against the float64 reference. */
class TextConditioningTest {
    static final double TOL = 2e-5;

    private static double maxDiff(double[][] exp, float[] got, int off, int stride, int col) {
        double max = 0;
        for (int t = 0; t < exp.length; t++)
            for (int j = 0; j < exp[t].length; j++) max = Math.max(max, Math.abs(exp[t][j] - got[off + t * stride + col + j]));
        return max;
    }

    @Test
    void sd15ContextIsTheFinalNormedLastOrSkippedHiddenState() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        TinyClip.Weights w = TinyClip.random(c, 21);
        ByteLevelTokenizer tok = new ByteLevelTokenizer(c.maxPositions(), PadToken.endOfText(257));
        List<String> prompts = List.of("a dog", "a very long prompt indeed");
        try (var src = TinyClip.transformersCheckpoint(w, "");
             ClipTextModel clip = ClipTextModel.load(c, src, ClipWeightLayout.DIFFUSERS, Device.CPU)) {
            Sd15TextEncoder enc = new Sd15TextEncoder(tok, clip);
            for (int skip = 0; skip <= 1; skip++) {
                try (TextConditioning cond = enc.encode(prompts, skip)) {
                    assertNull(cond.pooled());
                    assertArrayEquals(new int[]{2, c.maxPositions(), c.hiddenSize()}, cond.context().shape());
                    assertArrayEquals(new int[]{0, 25 - 10}, cond.droppedTokens());
                    float[] got = cond.context().toFloatArray();
                    for (int b = 0; b < 2; b++) {
                        ClipReference ref = ClipReference.run(c, w, tok.encode(prompts.get(b)).ids());
                        double[][] h = ref.hiddenStates.get(c.numLayers() - skip);
                        double[][] exp = ClipReference.layerNorm(h, w.get("text_model.final_layer_norm.weight"),
                                w.get("text_model.final_layer_norm.bias"), c.layerNormEps());
                        double d = maxDiff(exp, got, b * c.maxPositions() * c.hiddenSize(), c.hiddenSize(), 0);
                        assertTrue(d < TOL, "clip skip " + skip + " row " + b + ": " + d);
                    }
                }
            }
            assertThrows(IllegalArgumentException.class, () -> enc.encode(prompts, c.numLayers()));
        }
    }

    @Test
    void sdxlContextConcatenatesBothPenultimateStatesAndPoolsTheProjectedBigG() {
        ClipTextConfig cl = TinyClip.config(ClipActivation.QUICK_GELU, false, 16);
        ClipTextConfig cg = TinyClip.config(ClipActivation.GELU, true, 24);
        TinyClip.Weights wl = TinyClip.random(cl, 31), wg = TinyClip.random(cg, 32);
        ByteLevelTokenizer tok1 = new ByteLevelTokenizer(12, PadToken.endOfText(257));
        ByteLevelTokenizer tok2 = new ByteLevelTokenizer(12, PadToken.openClipZero());
        List<String> prompts = List.of("red", "blue sky");
        try (var srcL = TinyClip.transformersCheckpoint(wl, "conditioner.embedders.0.transformer.");
             var srcG = TinyClip.openClipCheckpoint(wg, cg, "conditioner.embedders.1.model.");
             ClipTextModel clipL = ClipTextModel.load(cl, srcL, ClipWeightLayout.SDXL_SINGLE_FILE_CLIP_L, Device.CPU);
             ClipTextModel bigG = ClipTextModel.load(cg, srcG, ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, Device.CPU);
             TextConditioning cond = new SdxlTextEncoder(tok1, clipL, tok2, bigG).encode(prompts, 0)) {
            int width = 16 + 24;
            assertArrayEquals(new int[]{2, 12, width}, cond.context().shape());
            assertArrayEquals(new int[]{2, 8}, cond.pooled().shape());
            float[] ctx = cond.context().toFloatArray(), pooled = cond.pooled().toFloatArray();
            for (int b = 0; b < 2; b++) {
                ClipReference l = ClipReference.run(cl, wl, tok1.encode(prompts.get(b)).ids());
                ClipReference g = ClipReference.run(cg, wg, tok2.encode(prompts.get(b)).ids());
                int off = b * 12 * width;
                assertTrue(maxDiff(l.hiddenStates.get(cl.numLayers() - 1), ctx, off, width, 0) < TOL);
                assertTrue(maxDiff(g.hiddenStates.get(cg.numLayers() - 1), ctx, off, width, 16) < TOL);
                assertTrue(maxDiff(new double[][]{g.textEmbeds}, pooled, b * 8, 8, 0) < TOL);
            }
            assertEquals(2, cond.droppedTokens().length);
        }
    }
}
