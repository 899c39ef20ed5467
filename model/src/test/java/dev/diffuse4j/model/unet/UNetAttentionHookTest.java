package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UNetAttentionHookTest {
    @Test
    void everyLayerGoesThroughItsProcessorOncePerForward() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sdxl"); Scope s = Scope.open()) {
            UNet2DConditionModel unet = t.unet;
            float[] plain = unet.forward(t.input()).toFloatArray();

            List<LayerInfo> calls = new ArrayList<>();
            List<StepContext> steps = new ArrayList<>();
            StepContext step = StepContext.of(3, 50, 921);
            assertEquals(unet.layers().size(), unet.processors().install(l -> true, (attn, hidden, context, layer, st) -> {
                calls.add(layer);
                steps.add(st);
                assertEquals(layer.tokens(), hidden.dim(1));
                assertEquals(attn.dim(), hidden.dim(2));
                if (layer.isSelf()) assertNull(context);
                else assertEquals(attn.contextDim(), context.dim(2));
                return attn.plain(hidden, context);
            }));
            float[] counted = unet.forward(t.input().withStep(step)).toFloatArray();
            assertArrayEquals(plain, counted, "a processor computing plain attention changes nothing");
            assertEquals(unet.layers().size(), calls.size());
            assertTrue(steps.stream().allMatch(st -> st == step), "every processor sees the pass's step");
            List<String> order = new ArrayList<>();
            for (LayerInfo l : calls) order.add(l.name());
            // execution order is down, mid, up; every layer exactly once
            List<String> sorted = new ArrayList<>(order);
            sorted.sort(null);
            List<String> expected = new ArrayList<>(unet.layers().stream().map(LayerInfo::name).toList());
            expected.sort(null);
            assertEquals(expected, sorted);
            // latent 16x16: level 1 layers see 8x8 grids, the mid block 4x4
            assertTrue(calls.stream().filter(l -> l.level() == 1).allMatch(l -> l.height() == 8 && l.width() == 8));
            assertTrue(calls.stream().filter(l -> l.block() == LayerInfo.Block.MID).allMatch(l -> l.tokens() == 16));

            calls.clear();
            steps.clear();
            unet.forward(t.input());
            assertEquals(unet.layers().size(), calls.size(), "once per forward, every forward");
            assertTrue(steps.stream().allMatch(st -> st == StepContext.NONE));
            unet.processors().reset();
        }
    }

    @Test
    void processorsAreInstalledPerLayer() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15"); Scope s = Scope.open()) {
            UNet2DConditionModel unet = t.unet;
            float[] plain = unet.forward(t.input()).toFloatArray();
            // cross-attention contributing nothing: the output must change, and equal the same done by hand below
            AttentionProcessor zero = (attn, hidden, context, layer, step) -> Ops.scale(attn.plain(hidden, context), 0f);
            int n = unet.processors().install(LayerInfo::isCross, zero);
            assertEquals(unet.layers().size() / 2, n);
            float[] noCross = unet.forward(t.input()).toFloatArray();
            assertFalse(Arrays.equals(plain, noCross));
            unet.processors().reset();
            assertArrayEquals(plain, unet.forward(t.input()).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> unet.processors().install("down_blocks.9.attentions.0.transformer_blocks.0.attn1", zero));
            unet.processors().install("mid_block.attentions.0.transformer_blocks.0.attn2", zero);
            assertFalse(Arrays.equals(plain, unet.forward(t.input()).toFloatArray()));
            unet.processors().reset();
        }
    }

    @Test
    void aProcessorReturningTheWrongShapeIsNamed() {
        try (TinyUNet t = new TinyUNet("unet_tiny_sd15"); Scope s = Scope.open()) {
            t.unet.processors().install(LayerInfo::isSelf, (attn, hidden, context, layer, step) -> Tensor.zeros(1, 2, 3));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.unet.forward(t.input()));
            assertTrue(e.getMessage().contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1"), e.getMessage());
        }
    }
}
