package dev.diffuse4j.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.WeightBinder;
import dev.diffuse4j.weights.WeightMismatchException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipWeightLayoutTest {
    static final String BIGG = "conditioner.embedders.1.model.";

    private static Map<String, String> keyShapes(List<TensorInfo> infos) {
        Map<String, String> m = new TreeMap<>();
        for (TensorInfo t : infos) m.put(t.key(), Arrays.toString(t.shape()));
        return m;
    }

    private static Map<String, String> goldenKeyShapes(String file) throws IOException {
        JsonNode checks = new ObjectMapper().readTree(SharedGoldens.dir().resolve(file).toFile());
        Map<String, String> m = new TreeMap<>();
        checks.fields().forEachRemaining(e -> {
            int[] shape = new int[e.getValue().path("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().path("shape").get(i).asInt();
            m.put(e.getKey(), Arrays.toString(shape));
        });
        return m;
    }

    @Test
    void singleFileKeysAreExactlyTheGoldenCheckpointKeys() throws IOException {
        var clipL = ClipWeightLayout.SD15_SINGLE_FILE.sourceTensors(ClipTextModel.parameters(ClipTextConfig.CLIP_L), DType.F32);
        assertEquals(goldenKeyShapes("clip_l_full.weight_checks.json"), keyShapes(clipL));
        assertEquals(196, clipL.size());
        var bigG = ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP.sourceTensors(ClipTextModel.parameters(ClipTextConfig.OPENCLIP_BIGG), DType.F32);
        assertEquals(goldenKeyShapes("openclip_bigg_full.weight_checks.json"), keyShapes(bigG));
        assertEquals(389, bigG.size());
    }

    @Test
    void openClipAndTransformersCheckpointsGiveTheSameParameters() {
        ClipTextConfig c = TinyClip.config(ClipActivation.GELU, true);
        TinyClip.Weights w = TinyClip.random(c, 7);
        List<ParamSpec> specs = ClipTextModel.parameters(c);
        ClipWeightLayout oc = ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, hf = ClipWeightLayout.DIFFUSERS;
        try (var a = TinyClip.openClipCheckpoint(w, c, BIGG); var b = TinyClip.transformersCheckpoint(w, "")) {
            Map<String, Tensor> fromOc = WeightBinder.bind(specs, a, oc.mapping(), oc::belongs, oc::ignorable);
            Map<String, Tensor> fromHf = WeightBinder.bind(specs, b, hf.mapping(), hf::belongs, hf::ignorable);
            assertEquals(specs.size(), fromOc.size());
            for (ParamSpec p : specs) {
                assertArrayEquals(p.shape(), fromOc.get(p.name()).shape(), p.name());
                assertArrayEquals(w.get(p.name()), fromOc.get(p.name()).toFloatArray(), p.name());
                assertArrayEquals(w.get(p.name()), fromHf.get(p.name()).toFloatArray(), p.name());
            }
            fromOc.values().forEach(Tensor::close);
            fromHf.values().forEach(Tensor::close);
        }
    }

    @Test
    void brokenCheckpointIsReportedAsAWhole() {
        ClipTextConfig c = TinyClip.config(ClipActivation.GELU, true);
        try (var src = TinyClip.openClipCheckpoint(TinyClip.random(c, 3), c, BIGG)) {
            src.remove(BIGG + "transformer.resblocks.1.ln_2.bias");
            src.put(BIGG + "transformer.resblocks.2.mlp.c_fc.weight", Tensor.zeros(39, 16));
            src.put(BIGG + "transformer.resblocks.3.ln_1.weight", Tensor.zeros(16)); // a 4th layer the config lacks
            src.put("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", Tensor.zeros(16)); // another component
            var e = assertThrows(WeightMismatchException.class,
                    () -> ClipTextModel.load(c, src, ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP, dev.diffuse4j.runtime.Device.CPU));
            assertEquals(1, e.missing().size(), e.getMessage());
            assertTrue(e.missing().getFirst().startsWith(BIGG + "transformer.resblocks.1.ln_2.bias"), e.getMessage());
            assertEquals(List.of(BIGG + "transformer.resblocks.3.ln_1.weight"), e.unexpected(), e.getMessage());
            assertEquals(1, e.misshaped().size(), e.getMessage());
            assertTrue(e.misshaped().getFirst().contains("mlp.c_fc.weight") && e.misshaped().getFirst().contains("[39, 16]"), e.getMessage());
        }
    }

    @Test
    void loadsFromEverySingleFilePrefix() {
        ClipTextConfig c = TinyClip.config(ClipActivation.QUICK_GELU, false);
        TinyClip.Weights w = TinyClip.random(c, 5);
        List<ClipWeightLayout> layouts = List.of(ClipWeightLayout.SD15_SINGLE_FILE, ClipWeightLayout.SDXL_SINGLE_FILE_CLIP_L, ClipWeightLayout.DIFFUSERS);
        List<String> loaded = new ArrayList<>();
        for (ClipWeightLayout layout : layouts) {
            try (var src = TinyClip.transformersCheckpoint(w, layout.prefix());
                 ClipTextModel m = ClipTextModel.load(c, src, layout, dev.diffuse4j.runtime.Device.CPU)) {
                loaded.add(layout.prefix());
                assertEquals(c, m.config());
            }
        }
        assertEquals(3, loaded.size());
    }

    @Test
    void infersTheConfigFromCheckpointShapes() {
        ClipTextConfig c = TinyClip.config(ClipActivation.GELU, true);
        TinyClip.Weights w = TinyClip.random(c, 1);
        try (var oc = TinyClip.openClipCheckpoint(w, c, BIGG); var hf = TinyClip.transformersCheckpoint(w, "cond_stage_model.transformer.")) {
            assertEquals(c.withTokenIds(257, 0), ClipWeightLayout.SDXL_SINGLE_FILE_OPENCLIP.inferConfig(oc, 4));
            ClipTextConfig inferred = ClipWeightLayout.SD15_SINGLE_FILE.inferConfig(hf, 4);
            assertEquals(new ClipTextConfig(258, 16, 40, 4, 3, 12, ClipActivation.QUICK_GELU, 1e-5f, true, 8, 257, 257), inferred);
            var bad = assertThrows(IllegalArgumentException.class, () -> ClipWeightLayout.SDXL_SINGLE_FILE_CLIP_L.inferConfig(hf, 4));
            assertTrue(bad.getMessage().contains("conditioner.embedders.0.transformer."), bad.getMessage());
        }
    }
}
