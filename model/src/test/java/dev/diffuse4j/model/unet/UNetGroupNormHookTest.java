package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.GroupNormProcessor;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Every GroupNorm of the UNet (resnets, transformer input norms, conv_norm_out) runs through the installed processor. */
class UNetGroupNormHookTest {
    @Test
    void everyGroupNormGoesThroughTheProcessorOncePerForward() {
        for (String name : new String[]{"unet_tiny_sd15", "unet_tiny_sdxl"})
            try (TinyUNet t = new TinyUNet(name); Scope s = Scope.open()) {
                UNet2DConditionModel unet = t.unet;
                float[] plain = unet.forward(t.input()).toFloatArray();
                long groupNorms = UNet2DConditionModel.parameters(unet.config()).stream().map(p -> p.name())
                        .filter(n -> !n.contains("transformer_blocks") && (n.endsWith("norm1.weight") || n.endsWith("norm2.weight")
                                || n.endsWith(".norm.weight") || n.equals("conv_norm_out.weight")))
                        .count();
                AtomicInteger calls = new AtomicInteger(), fused = new AtomicInteger();
                unet.groupNorms((norm, x, silu) -> {
                    calls.incrementAndGet();
                    if (silu) fused.incrementAndGet();
                    return GroupNormProcessor.PLAIN.apply(norm, x, silu);
                });
                try {
                    assertArrayEquals(plain, unet.forward(t.input()).toFloatArray(), name + ": a processor computing plain GroupNorm changes nothing");
                    assertEquals(groupNorms, calls.get(), name + ": every GroupNorm once");
                    long transformers = UNet2DConditionModel.parameters(unet.config()).stream().filter(p -> p.name().endsWith(".norm.weight")
                            && !p.name().contains("transformer_blocks")).count();
                    assertEquals(groupNorms - transformers, fused.get(), name + ": resnet norms and conv_norm_out fuse SiLU, transformer input norms do not");

                    unet.groupNorms((norm, x, silu) -> Ops.scale(GroupNormProcessor.PLAIN.apply(norm, x, silu), 0.5f));
                    assertFalse(java.util.Arrays.equals(plain, unet.forward(t.input()).toFloatArray()), name + ": the processor's result is used");
                } finally {
                    unet.groupNorms(null);
                }
                assertSame(GroupNormProcessor.PLAIN, unet.groupNorms());
                assertArrayEquals(plain, unet.forward(t.input()).toFloatArray(), name + ": back to plain");
            }
    }
}
