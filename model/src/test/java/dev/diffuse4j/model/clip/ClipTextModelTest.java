package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.tokenizer.ByteLevelTokenizer;
import dev.diffuse4j.model.tokenizer.PadToken;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model against the float64 reference on small random weights, loaded through both checkpoint layouts. */
class ClipTextModelTest {
    static final double TOL = 2e-5;

    private static void assertClose(double[][] expected, float[] got, int row, String what) {
        int d = expected[0].length, off = row * expected.length * d;
        double max = 0;
        for (int t = 0; t < expected.length; t++)
            for (int j = 0; j < d; j++) max = Math.max(max, Math.abs(expected[t][j] - got[off + t * d + j]));
        assertTrue(max < TOL, what + " row " + row + ": max |diff| " + max);
    }

    private static void assertClose(double[] expected, float[] got, int row, String what) {
        assertClose(new double[][]{expected}, got, row, what);
    }

    private static void checkAgainstReference(ClipTextConfig c, ClipTextModel model, TinyClip.Weights w, List<String> prompts) {
        ByteLevelTokenizer tok = new ByteLevelTokenizer(c.maxPositions(), PadToken.openClipZero());
        try (Tensor ids = tok.encodeBatch(prompts); ClipTextOutput out = model.forward(ids, 0, -2, -1)) {
            float[] last = out.lastHiddenState().toFloatArray(), pen = out.hiddenState(-2).toFloatArray();
            float[] emb = out.hiddenState(0).toFloatArray(), top = out.hiddenState(c.numLayers()).toFloatArray();
            float[] pooled = out.pooled().toFloatArray();
            for (int b = 0; b < prompts.size(); b++) {
                ClipReference ref = ClipReference.run(c, w, tok.encode(prompts.get(b)).ids());
                assertEquals(ref.eosPosition, out.eosPositions()[b]);
                assertClose(ref.lastHiddenState, last, b, "last_hidden_state");
                assertClose(ref.hiddenStates.get(c.numLayers() - 1), pen, b, "hidden_states[-2]");
                assertClose(ref.hiddenStates.get(0), emb, b, "hidden_states[0]");
                assertClose(ref.hiddenStates.get(c.numLayers()), top, b, "hidden_states[-1]");
                assertClose(ref.pooled, pooled, b, "pooled");
                if (c.withProjection()) assertClose(ref.textEmbeds, out.textEmbeds().toFloatArray(), b, "text_embeds");
            }
            assertEquals(c.withProjection(), out.textEmbeds() != null);
        }
    }

    @Test
    void openClipLayoutMatchesTheFloat64Reference() {
        ClipTextConfig c = TinyClip.config(ClipActivation.GELU, true);
        TinyClip.Weights w = TinyClip.random(c, 11);
        try (var src = TinyClip.openClipCheckpoint(w, c, "conditioner.embedders.1.model.");
             ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, Device.CPU)) {
            checkAgainstReference(c, m, w, List.of("a cat", "a much longer prompt that gets cut", ""));
        }
    }

    @Test
    void quickGeluModelMatchesTheFloat64Reference() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        TinyClip.Weights w = TinyClip.random(c, 12);
        try (var src = TinyClip.transformersCheckpoint(w, "cond_stage_model.transformer.");
             ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.SD15_SINGLE_FILE, Device.CPU)) {
            checkAgainstReference(c, m, w, List.of("hello", "x!"));
        }
    }

    @Test
    void earlierPositionsDoNotSeeLaterTokens() {
        ClipTextConfig c = TinyClip.config(ClipActivation.GELU, true);
        TinyClip.Weights w = TinyClip.random(c, 13);
        ByteLevelTokenizer tok = new ByteLevelTokenizer(c.maxPositions(), PadToken.endOfText(257));
        try (var src = TinyClip.transformersCheckpoint(w, "");
             ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.DIFFUSERS, Device.CPU);
             Tensor ids = tok.encodeBatch(List.of("abcd", "abxy"));
             ClipTextOutput out = m.forward(ids)) {
            float[] h = out.lastHiddenState().toFloatArray();
            int d = c.hiddenSize(), rowLen = c.maxPositions() * d;
            // positions 0..2 (bos, a, b) are shared; position 3 differs.
            for (int i = 0; i < 3 * d; i++) assertEquals(h[i], h[rowLen + i], 0f, "position " + i / d);
            double diff = 0;
            for (int i = 3 * d; i < 4 * d; i++) diff += Math.abs(h[i] - h[rowLen + i]);
            assertTrue(diff > 1e-3);
        }
    }

    @Test
    void hiddenStateRunsOnlyTheLayersItNeedsAndAgreesWithTheFullPass() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        TinyClip.Weights w = TinyClip.random(c, 14);
        ByteLevelTokenizer tok = new ByteLevelTokenizer(c.maxPositions(), PadToken.endOfText(257));
        try (var src = TinyClip.transformersCheckpoint(w, "");
             ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.DIFFUSERS, Device.CPU);
             Tensor ids = tok.encodeBatch(List.of("one", "two"));
             ClipTextOutput out = m.forward(ids, 1, -2);
             Tensor h1 = m.hiddenState(ids, 1); Tensor h2 = m.hiddenState(ids, -2)) {
            assertArrayEquals(out.hiddenState(1).toFloatArray(), h1.toFloatArray());
            assertArrayEquals(out.hiddenState(2).toFloatArray(), h2.toFloatArray());
            assertThrows(IndexOutOfBoundsException.class, () -> m.hiddenState(ids, c.numLayers() + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> m.hiddenState(ids, -(c.numLayers() + 2)));
        }
    }

    @Test
    void rejectsBadIds() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        try (var src = TinyClip.transformersCheckpoint(TinyClip.random(c, 15), "");
             ClipTextModel m = ClipTextModel.load(c, src, ClipWeightLayout.DIFFUSERS, Device.CPU);
             Tensor noEos = Tensor.ofLongs(new long[]{256, 1, 2}, 1, 3);
             Tensor tooLong = Tensor.ofLongs(new long[13], 1, 13);
             Tensor floats = Tensor.of(new float[3], 1, 3)) {
            var e = assertThrows(IllegalArgumentException.class, () -> m.forward(noEos));
            assertTrue(e.getMessage().contains("end-of-text"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.forward(tooLong));
            assertThrows(IllegalArgumentException.class, () -> m.forward(floats));
        }
    }
}
