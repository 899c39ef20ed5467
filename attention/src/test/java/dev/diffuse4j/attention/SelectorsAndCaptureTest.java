package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.Attention;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.DeterministicWeights;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Selectors hit exactly the layers and steps asked for (counted through LayerInfo); capture changes nothing. */
class SelectorsAndCaptureTest {
    static UNet2DConditionModel unet;
    static Tensor sample, context;

    @BeforeAll
    static void load() {
        UNetConfig c = UNetConfig.TINY_SDXL; // 3 levels, depths 0/1/2: self and cross layers at two resolutions
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(c, LdmUNetMapping.PREFIX))) {
            unet = UNetLoader.fromSingleFile(c, w, Device.CPU);
        }
        Random r = new Random(1);
        sample = ProcessorFixtures.random(r, 2, 16, 16, 4);
        context = ProcessorFixtures.random(r, 2, 77, 48);
    }

    @AfterAll
    static void free() {
        unet.close();
        sample.close();
        context.close();
    }

    static float[] forward(int step) {
        try (Scope s = Scope.open(); Tensor y = ProcessorFixtures.random(new Random(2), 2, 64)) {
            UNetInput in = UNetInput.of(sample, 500f, context).withY(y).withStep(StepContext.of(step, 4, 900 - 200 * step));
            return unet.forward(in).toFloatArray();
        }
    }

    /** Counts every call with its layer. */
    static final class Counting implements AttentionProcessor {
        final List<String> seen = new ArrayList<>();

        @Override
        public Tensor process(Attention attn, Tensor hidden, Tensor ctx, LayerInfo layer, StepContext step) {
            seen.add(layer.name() + "@" + step.step());
            return attn.plain(hidden, ctx);
        }
    }

    @Test
    void selectorsPickExactlyTheRequestedLayers() {
        List<LayerInfo> all = unet.layers();
        long self = all.stream().filter(LayerInfo::isSelf).count();
        assertEquals(all.size(), 2 * self, "one self and one cross layer per transformer block");
        try {
            Counting counting = new Counting();
            int n = unet.processors().install(Layers.self().and(Layers.decoder()), counting);
            long expected = all.stream().filter(l -> l.isSelf() && l.block() == LayerInfo.Block.UP).count();
            assertEquals(expected, n);
            forward(0);
            assertEquals(expected, counting.seen.size(), counting.seen.toString());
            assertTrue(counting.seen.stream().allMatch(s -> s.startsWith("up_blocks.") && s.contains(".attn1@")), counting.seen.toString());

            List<String> names = all.stream().filter(LayerInfo::isSelf).map(LayerInfo::name).toList();
            assertEquals(names.subList(0, 2), unet.processors().select(Layers.topOfRanking(names, 2.0 / names.size())).stream().map(LayerInfo::name).toList());
            assertEquals(all.stream().filter(l -> l.height() * l.width() == 16).count(), unet.processors().select(Layers.tokens(16)).size());
        } finally {
            unet.processors().reset();
        }
    }

    @Test
    void stepSelectorsActOnlyOnTheirSteps() {
        try {
            Counting counting = new Counting();
            unet.processors().install(Layers.self(), PerStep.only(Steps.first(2), counting));
            for (int step = 0; step < 4; step++) forward(step);
            long selfLayers = unet.layers().stream().filter(LayerInfo::isSelf).count();
            assertEquals(2 * selfLayers, counting.seen.size());
            assertTrue(counting.seen.stream().allMatch(s -> s.endsWith("@0") || s.endsWith("@1")), counting.seen.toString());
            assertTrue(Steps.timestepAtLeast(0.6, 1000).test(StepContext.of(1, 4, 700)));
            assertFalse(Steps.timestepAtLeast(0.6, 1000).test(StepContext.of(2, 4, 500)));
        } finally {
            unet.processors().reset();
        }
    }

    @Test
    void captureLeavesTheOutputUnchangedAndMapsAreDistributions() {
        float[] plain = forward(0);
        try (AttentionMaps maps = new AttentionMaps()) {
            unet.processors().install(Layers.all(), new CaptureAttention(maps));
            float[] captured = forward(0);
            assertArrayEquals(plain, captured, 0f, "capture must not change the result");
            assertEquals(unet.layers().size(), maps.size());
            for (AttentionMaps.Entry e : maps.entries()) {
                Tensor m = e.maps();
                int keys = m.dim(2);
                assertEquals(e.layer().isCross() ? 77 : e.layer().height() * e.layer().width(), keys, e.layer().name());
                float[] v = m.toFloatArray();
                for (int row = 0; row < v.length / keys; row++) {
                    double s = 0;
                    for (int j = 0; j < keys; j++) s += v[row * keys + j];
                    assertEquals(1.0, s, 1e-4, e.layer().name() + " row " + row);
                }
            }
            assertNotNull(maps.mean(0, 16));
        } finally {
            unet.processors().reset();
        }
    }
}
