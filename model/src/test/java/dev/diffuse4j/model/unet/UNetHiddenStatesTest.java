package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** hiddenStates(in, k) runs exactly the layers before up block k and leaves the full forward unchanged. */
class UNetHiddenStatesTest {
    @Test
    void runsOnlyTheLayersOfTheFirstUpBlocks() {
        for (String name : new String[]{"unet_tiny_sd15", "unet_tiny_sdxl"})
            try (TinyUNet t = new TinyUNet(name); Scope s = Scope.open()) {
                UNet2DConditionModel unet = t.unet;
                float[] full = unet.forward(t.input()).toFloatArray();
                List<LayerInfo> called = new ArrayList<>();
                unet.processors().installAll((attn, hidden, context, layer, step) -> {
                    called.add(layer);
                    return AttentionProcessor.PLAIN.process(attn, hidden, context, layer, step);
                });
                try {
                    int levels = unet.config().levels();
                    for (int k = 0; k <= levels; k++) {
                        called.clear();
                        Tensor h = unet.hiddenStates(t.input(), k);
                        final int upBlocks = k;
                        List<LayerInfo> expected = unet.processors().layers().stream()
                                .filter(l -> l.block() != LayerInfo.Block.UP || l.blockIndex() < upBlocks).toList();
                        assertEquals(expected.stream().map(LayerInfo::name).sorted().toList(), called.stream().map(LayerInfo::name).sorted().toList(),
                                name + ": attention layers run with " + k + " up blocks");
                        assertEquals(t.input().sample().dim(0), h.dim(0));
                    }
                    assertArrayEquals(full, unet.forward(t.input()).toFloatArray(), name + ": forward is unchanged");
                    assertThrows(IllegalArgumentException.class, () -> unet.hiddenStates(t.input(), levels + 1));
                } finally {
                    unet.processors().reset();
                }
            }
    }
}
