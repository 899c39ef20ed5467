package dev.diffuse4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeterministicWeightsTest {
    private static final String CONV = "model.diffusion_model.input_blocks.0.0.weight";
    private static final String CONV_BIAS = "model.diffusion_model.input_blocks.0.0.bias";
    private static final String NORM = "model.diffusion_model.out.0.weight";
    private static final String NORM_BIAS = "model.diffusion_model.out.0.bias";
    private static final String TOKENS = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight";
    private static final String Q = "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight";

    /** The set of keys the worked examples of WEIGHTS.md come from. */
    private static DeterministicWeights examples() {
        return new DeterministicWeights(List.of(
                new TensorInfo(CONV, DType.F32, new int[]{32, 4, 3, 3}),
                new TensorInfo(CONV_BIAS, DType.F32, new int[]{32}),
                new TensorInfo(NORM, DType.F32, new int[]{32}),
                new TensorInfo(NORM_BIAS, DType.F32, new int[]{32}),
                new TensorInfo(TOKENS, DType.F32, new int[]{49408, 768}),
                new TensorInfo(Q, DType.F32, new int[]{768, 768})));
    }

    @Test
    void hashesMatchTheStatedChecks() {
        assertEquals(0xCBF29CE484222325L, DeterministicWeights.fnv1a64(""));
        assertEquals(0xAF63F54C86021707L, DeterministicWeights.fnv1a64("x"));
        assertEquals(0xE220A8397B1DCDAFL, DeterministicWeights.splitmix64(0));
    }

    /** Every row of the worked-examples table in WEIGHTS.md: seed, z, u, kind and the float's bits. */
    @ParameterizedTest
    @CsvSource({
            CONV + ",weight,0,8C8AB0AAC9D49768,A9A5D1413F7769F0,0.6626864075660706,3D5E1F05",
            CONV + ",weight,1,8C8AB0AAC9D49768,E061D9FEFC34032E,0.8764930367469788,3E008277",
            CONV + ",weight,7,8C8AB0AAC9D49768,2C58074C0614242B,0.17321819067001343,BDDF1543",
            CONV + ",weight,1000,8C8AB0AAC9D49768,02D7A8AC2E4A5A30,0.011103153228759766,BE26E075",
            CONV_BIAS + ",bias,0,77BAC8747F013F9D,EC28232FCC92CD07,0.9224874377250671,3C8A70D1",
            CONV_BIAS + ",bias,1,77BAC8747F013F9D,773C4192990EC10B,0.4657631516456604,BAB37FEC",
            CONV_BIAS + ",bias,7,77BAC8747F013F9D,52C658BF1B2B2D8E,0.32333898544311523,BBE78D9A",
            NORM + ",norm_weight,0,E12B56BE79DCC3B5,29FCA0B9263F6925,0.16401100158691406,3F6ECC20",
            NORM + ",norm_weight,1,E12B56BE79DCC3B5,BF0566ADBFAA78C9,0.7461761236190796,3F864D57",
            NORM + ",norm_weight,7,E12B56BE79DCC3B5,2CDD20CFD29BCBA4,0.1752490997314453,3F6F5F6D",
            NORM_BIAS + ",norm_bias,0,D8250D3255AEAD90,B96A8730E02FDFEF,0.7242817282676697,3CB7BB4A",
            NORM_BIAS + ",norm_bias,1,D8250D3255AEAD90,A049EF1B69243ECA,0.6261281371116638,3C4EA5FA",
            NORM_BIAS + ",norm_bias,7,D8250D3255AEAD90,1A7E365E7E5E9266,0.10348832607269287,BD226943",
            TOKENS + ",embedding,0,85A2A43FE8544E1F,A784D4C23D049DF4,0.6543705463409424,3BCA5629",
            TOKENS + ",embedding,1,85A2A43FE8544E1F,DA786B117C06A618,0.853399932384491,3C679AAC",
            TOKENS + ",embedding,7,85A2A43FE8544E1F,45D104DDE4E6417A,0.2727205753326416,BC14F329",
            TOKENS + ",embedding,1000,85A2A43FE8544E1F,65F26CAA6D77C151,0.39823031425476074,BB85643D",
            Q + ",weight,0,2A6A1823E672A349,15834A6557709A04,0.08403456211090088,BCF5EBEA",
            Q + ",weight,1,2A6A1823E672A349,D70FB1EA85C54213,0.8400831818580627,3CC90F38",
            Q + ",weight,7,2A6A1823E672A349,4ED30E6B34AE5B1A,0.30790793895721436,BC6321D9",
            Q + ",weight,1000,2A6A1823E672A349,2E03E09728EEBA3C,0.1797466278076172,BCBD5600",
    })
    void workedExamples(String key, String kind, long i, String seedHex, String zHex, double u, String bitsHex) {
        long seed = Long.parseUnsignedLong(seedHex, 16);
        long z = Long.parseUnsignedLong(zHex, 16);
        int bits = Integer.parseUnsignedInt(bitsHex, 16);
        assertEquals(seed, DeterministicWeights.fnv1a64(key), "seed of " + key);
        assertEquals(z, DeterministicWeights.splitmix64(seed + i), "z");
        assertEquals(u, (z >>> 40) / (double) (1 << 24), 0.0, "u");

        try (DeterministicWeights w = examples()) {
            assertEquals(kind, w.kind(key).label());
            TensorInfo info = w.info(key);
            float scalar = DeterministicWeights.value(w.kind(key), seed, i, DeterministicWeights.fanIn(info.shape()));
            assertEquals(bits, Float.floatToRawIntBits(scalar), "scalar rule, element " + i + " of " + key);
            try (Tensor t = w.tensor(key)) {
                assertEquals(DType.F32, t.dtype());
                assertEquals(bits, Float.floatToRawIntBits(t.getFloat(i)), "generated tensor, element " + i + " of " + key);
            }
        }
    }

    /** The fast (vectorised, parallel) fill equals the scalar rule on every element, for every kind and odd sizes. */
    @ParameterizedTest
    @ValueSource(ints = {1, 3, 7, 8, 9, 17, 1000, 65_535, 65_536, 65_537, 300_001})
    void fastFillEqualsScalarRule(int n) {
        List<TensorInfo> infos = List.of(
                new TensorInfo("a.embedding_table", DType.F32, new int[]{n, 1}),
                new TensorInfo("b.proj.weight", DType.F32, new int[]{1, n}),
                new TensorInfo("c.conv.weight", DType.F32, new int[]{n, 3}),
                new TensorInfo("d.norm.weight", DType.F32, new int[]{n}),
                new TensorInfo("d.norm.bias", DType.F32, new int[]{n}),
                new TensorInfo("e.linear.bias", DType.F32, new int[]{n}));
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            for (TensorInfo info : infos) {
                long seed = DeterministicWeights.fnv1a64(info.key());
                long fanIn = DeterministicWeights.fanIn(info.shape());
                DeterministicWeights.Kind kind = w.kind(info.key());
                try (Tensor t = w.tensor(info.key())) {
                    float[] got = t.toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        int want = Float.floatToRawIntBits(DeterministicWeights.value(kind, seed, i, fanIn));
                        if (want != Float.floatToRawIntBits(got[i]))
                            assertEquals(want, Float.floatToRawIntBits(got[i]), info.key() + " element " + i);
                    }
                }
            }
            assertEquals(DeterministicWeights.Kind.NORM_BIAS, w.kind("d.norm.bias"));
            assertEquals(DeterministicWeights.Kind.BIAS, w.kind("e.linear.bias"));
            assertEquals(DeterministicWeights.Kind.EMBEDDING, w.kind("a.embedding_table"));
        }
    }

    @Test
    void kindOfBiasDependsOnTheSiblingWeight() {
        List<TensorInfo> withNorm = List.of(new TensorInfo("x.bias", DType.F32, new int[]{4}), new TensorInfo("x.weight", DType.F32, new int[]{4}));
        List<TensorInfo> withLinear = List.of(new TensorInfo("x.bias", DType.F32, new int[]{4}), new TensorInfo("x.weight", DType.F32, new int[]{4, 4}));
        List<TensorInfo> alone = List.of(new TensorInfo("x.bias", DType.F32, new int[]{4}));
        List<TensorInfo> inProj = List.of(new TensorInfo("attn.in_proj_bias", DType.F32, new int[]{12}), new TensorInfo("attn.in_proj_weight", DType.F32, new int[]{12, 4}));
        assertEquals(DeterministicWeights.Kind.NORM_BIAS, new DeterministicWeights(withNorm).kind("x.bias"));
        assertEquals(DeterministicWeights.Kind.BIAS, new DeterministicWeights(withLinear).kind("x.bias"));
        assertEquals(DeterministicWeights.Kind.BIAS, new DeterministicWeights(alone).kind("x.bias"));
        // "in_proj_" + "weight" is the sibling of in_proj_bias, and it is 2-D
        assertEquals(DeterministicWeights.Kind.BIAS, new DeterministicWeights(inProj).kind("attn.in_proj_bias"));
        assertEquals(DeterministicWeights.Kind.WEIGHT, new DeterministicWeights(inProj).kind("attn.in_proj_weight"));
        // time_embed / label_emb are linear layers, not embeddings
        assertEquals(DeterministicWeights.Kind.WEIGHT, new DeterministicWeights(
                List.of(new TensorInfo("model.diffusion_model.time_embed.0.weight", DType.F32, new int[]{8, 4}))).kind("model.diffusion_model.time_embed.0.weight"));
    }

    @Test
    void fillIntoAnExistingTensorEqualsTensor() {
        try (DeterministicWeights w = examples(); Tensor buffer = Tensor.zeros(DType.F32, 32 * 4 * 3 * 3 + 5);
             Tensor view = buffer.slice(0, 0, 32 * 4 * 3 * 3); Tensor target = view.reshape(32, 4, 3, 3); Tensor want = w.tensor(CONV)) {
            w.fillInto(CONV, target);
            assertEquals(List.of(want.toFloatArray().length), List.of(target.toFloatArray().length));
            org.junit.jupiter.api.Assertions.assertArrayEquals(want.toFloatArray(), target.toFloatArray());
            assertEquals(0f, buffer.getFloat(32 * 4 * 3 * 3), "nothing past the target is written");
            WeightsException e = assertThrows(WeightsException.class, () -> w.fillInto(Q, target));
            assertTrue(e.getMessage().contains("[768, 768]"), e.getMessage());
        }
    }

    @Test
    void buffersAreRefusedByName() {
        WeightsException e = assertThrows(WeightsException.class, () -> new DeterministicWeights(
                List.of(new TensorInfo("cond_stage_model.transformer.text_model.embeddings.position_ids", DType.I64, new int[]{77}))));
        assertTrue(e.getMessage().contains("position_ids"), e.getMessage());
        assertThrows(WeightsException.class, () -> new DeterministicWeights(List.of(new TensorInfo("logit_scale", DType.F32, new int[]{}))));
    }

    /** The tiny goldens ship the rule's output: regenerate every tensor and compare every value bit for bit. */
    @ParameterizedTest
    @ValueSource(strings = {"unet_tiny_sd15.weights.safetensors", "unet_tiny_sdxl.weights.safetensors"})
    void reproducesShippedWeightFiles(String name) {
        Path golden = SharedFiles.golden(name);
        try (SafetensorsFile file = SafetensorsFile.open(golden)) {
            List<TensorInfo> infos = new ArrayList<>();
            for (String k : file.keys()) infos.add(file.info(k));
            try (DeterministicWeights w = new DeterministicWeights(infos)) {
                assertEquals(file.keys(), w.keys());
                for (String k : file.keys()) {
                    try (Tensor want = file.tensor(k); Tensor got = w.tensor(k)) {
                        assertEquals(DType.F32, want.dtype(), k);
                        MemorySegment a = want.cpuSegment(), b = got.cpuSegment();
                        long n = want.numel();
                        for (long i = 0; i < n; i++) {
                            int x = a.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4), y = b.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4);
                            if (x != y) assertEquals(Integer.toHexString(x), Integer.toHexString(y), k + " element " + i);
                        }
                    }
                }
            }
        }
    }

    /**
     * The full-size cases list every key with its kind, the float64 sum of its values and the first 4.
     * Checks a spread of keys per file (generating everything would take the default suite too long).
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet_full_sd15", "unet_full_sdxl", "clip_l_full", "openclip_bigg_full", "vae_full_decoder", "vae_full_encoder"})
    void matchesWeightChecks(String kase) {
        Path checks = SharedFiles.golden(kase + ".weight_checks.json");
        JsonNode root = Json.readObject(checks);
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode s = e.getValue().get("shape");
            int[] shape = new int[s.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = s.get(i).intValue();
            infos.add(new TensorInfo(e.getKey(), DType.F32, shape));
        }
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            int checked = 0;
            for (int idx = 0; idx < infos.size(); idx += 37) { // a fixed stride visits every kind in these layouts
                TensorInfo info = infos.get(idx);
                JsonNode c = root.get(info.key());
                assertEquals(c.get("kind").textValue(), w.kind(info.key()).label(), info.key());
                try (Tensor t = w.tensor(info.key())) {
                    float[] v = t.toFloatArray();
                    for (int i = 0; i < 4 && i < v.length; i++)
                        assertEquals((float) c.get("first4").get(i).doubleValue(), v[i], 0f, info.key() + " value " + i);
                    double sum = 0;
                    for (float x : v) sum += x;
                    double want = c.get("sum").doubleValue();
                    // float64 sums in a different order differ in the last bits only
                    assertEquals(want, sum, 1e-9 * Math.max(1, Math.abs(want)) + 1e-12 * v.length, info.key() + " sum");
                }
                checked++;
            }
            assertTrue(checked > 2);
            // every key's kind agrees with the file's classification
            for (TensorInfo info : infos)
                assertEquals(root.get(info.key()).get("kind").textValue(), w.kind(info.key()).label(), info.key());
        }
    }
}
