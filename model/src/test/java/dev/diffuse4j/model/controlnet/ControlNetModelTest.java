package dev.diffuse4j.model.controlnet;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.nn.ParamStore;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.ParamMapping;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiny ControlNets on deterministic weights, written in both checkpoint layouts: the layouts agree
 * bit for bit, zeroed zero convs leave the UNet untouched, the scale is exactly linear, bad
 * checkpoints name their keys, and the conditioning stack matches a float64 reference.
 */
class ControlNetModelTest {
    private static final int H = 4, W = 4; // latent size; control image is 32x32

    /** Original-layout tensors of a config, values as WEIGHTS.md defines them for those keys. */
    static Map<String, Tensor> ldmTensors(ControlNetConfig c) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<TensorInfo> infos = LdmControlNetMapping.checkpointTensors(c, LdmControlNetMapping.PREFIX);
        try (DeterministicWeights w = new DeterministicWeights(infos)) {
            for (TensorInfo i : infos) out.put(i.key(), w.tensor(i.key()));
        }
        return out;
    }

    /** The same tensors under diffusers names. */
    static Map<String, Tensor> diffusersTensors(ControlNetConfig c, Map<String, Tensor> ldm) {
        LdmControlNetMapping m = new LdmControlNetMapping(c, LdmControlNetMapping.PREFIX);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ParamSpec p : ControlNetModel.parameters(c)) out.put(p.name(), ldm.get(m.map(p).sourceKey()));
        return out;
    }

    static Path writeFolder(Path dir, ControlNetConfig c, Map<String, Tensor> diffusers, String variant) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(c.toJson()));
        SafetensorsWriter.write(dir.resolve("diffusion_pytorch_model" + variant + ".safetensors"), diffusers);
        return dir;
    }

    static float[] random(Random r, int n, float lo, float hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextFloat();
        return v;
    }

    /** A batch-2 UNet input for a config (SDXL with text embeds and time ids). */
    static UNetInput input(UNetConfig u, long seed) {
        Random r = new Random(seed);
        UNetInput in = UNetInput.of(Tensor.of(random(r, 2 * H * W * 4, -1, 1), 2, H, W, 4), new float[]{501f, 37f},
                Tensor.of(random(r, 2 * 5 * u.crossAttentionDim(), -1, 1), 2, 5, u.crossAttentionDim()));
        if (u.hasTextTime())
            in = in.withTextTime(Tensor.of(random(r, 2 * u.pooledTextDim(), -1, 1), 2, u.pooledTextDim()),
                    Tensor.of(new float[]{32, 32, 0, 0, 32, 32, 64, 48, 4, 2, 32, 32}, 2, 6));
        return in;
    }

    static Tensor controlImage(long seed) { return Tensor.of(random(new Random(seed), 2 * 8 * H * 8 * W * 3, 0, 1), 2, 8 * H, 8 * W, 3); }

    static ControlNetConfig config(String family) { return family.equals("sdxl") ? ControlNetConfig.TINY_SDXL : ControlNetConfig.TINY_SD15; }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl"})
    void bothLayoutsGiveBitIdenticalResiduals(String family, @TempDir Path dir) throws IOException {
        ControlNetConfig c = config(family);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> ldm = ldmTensors(c);
            Path single = dir.resolve("control.safetensors");
            SafetensorsWriter.write(single, ldm);
            Path folder = writeFolder(dir.resolve("folder"), c, diffusersTensors(c, ldm), "");
            try (ControlNetModel a = ControlNetLoader.load(single, false, c.unet(), Device.CPU);
                 ControlNetModel b = ControlNetLoader.load(folder, false, Device.CPU)) {
                assertEquals(c, a.config(), "config read off the single file's shapes");
                assertEquals(c, b.config(), "config read from config.json");
                UNetInput in = input(c.unet(), 1);
                Tensor cond = controlImage(2);
                ControlNetOutput ra = a.forward(in, cond, 0.8f), rb = b.forward(in, cond, 0.8f);
                assertEquals(c.unet().levels() * 3, ra.down().size(), "one residual per UNet skip");
                for (int i = 0; i < ra.down().size(); i++)
                    assertArrayEquals(ra.down().get(i).toFloatArray(), rb.down().get(i).toFloatArray(), "down residual " + i);
                assertArrayEquals(ra.mid().toFloatArray(), rb.mid().toFloatArray(), "mid residual");
                assertTrue(maxAbs(ra.mid().toFloatArray()) > 0, "a live ControlNet adds something");
            }
        }
    }

    @Test
    void fp16VariantFolderMatchesAnF16SingleFile(@TempDir Path dir) throws IOException {
        ControlNetConfig c = ControlNetConfig.TINY_SD15;
        try (Scope s = Scope.open()) {
            Map<String, Tensor> ldm = new LinkedHashMap<>();
            for (var e : ldmTensors(c).entrySet()) ldm.put(e.getKey(), dev.diffuse4j.runtime.ops.Ops.cast(e.getValue(), DType.F16));
            Path single = dir.resolve("control.safetensors");
            SafetensorsWriter.write(single, ldm);
            Path folder = writeFolder(dir.resolve("folder"), c, diffusersTensors(c, ldm), ".fp16");
            try (ControlNetModel a = ControlNetLoader.load(single, false, c.unet(), Device.CPU);
                 ControlNetModel b = ControlNetLoader.load(folder, true, Device.CPU)) {
                UNetInput in = input(c.unet(), 3);
                Tensor cond = controlImage(4);
                assertArrayEquals(a.forward(in, cond, 1f).mid().toFloatArray(), b.forward(in, cond, 1f).mid().toFloatArray());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd15", "sdxl"})
    void zeroedZeroConvsLeaveTheUNetUnchanged(String family, @TempDir Path dir) throws IOException {
        ControlNetConfig c = config(family);
        try (Scope s = Scope.open()) {
            Map<String, Tensor> ldm = ldmTensors(c);
            Map<String, Tensor> zeroed = new LinkedHashMap<>(ldm);
            for (String k : ldm.keySet())
                if (k.contains("zero_convs.") || k.contains("middle_block_out."))
                    zeroed.put(k, Tensor.zeros(ldm.get(k).shape()));
            Path live = dir.resolve("live.safetensors"), dead = dir.resolve("dead.safetensors");
            SafetensorsWriter.write(live, ldm);
            SafetensorsWriter.write(dead, zeroed);
            try (UNet2DConditionModel unet = tinyUNet(c.unet());
                 ControlNetModel on = ControlNetLoader.load(live, false, c.unet(), Device.CPU);
                 ControlNetModel off = ControlNetLoader.load(dead, false, c.unet(), Device.CPU)) {
                UNetInput in = input(c.unet(), 5);
                Tensor cond = controlImage(6);
                float[] plain = unet.forward(in).toFloatArray();
                ControlNetOutput z = off.forward(in, cond, 1f), r = on.forward(in, cond, 1f);
                float[] withZeros = unet.forward(in.withControl(z.down(), z.mid())).toFloatArray();
                for (int i = 0; i < plain.length; i++) assertEquals(plain[i], withZeros[i], 0f, "element " + i);
                float[] steered = unet.forward(in.withControl(r.down(), r.mid())).toFloatArray();
                assertTrue(maxAbsDiff(plain, steered) > 1e-4, "non-zero residuals change the UNet's output");
            }
        }
    }

    @Test
    void residualsScaleExactlyLinearly() {
        ControlNetConfig c = ControlNetConfig.TINY_SDXL;
        try (Scope s = Scope.open(); ControlNetModel m = fromMemory(c, ldmTensors(c))) {
            UNetInput in = input(c.unet(), 7);
            Tensor cond = controlImage(8);
            ControlNetOutput one = m.forward(in, cond, 1f);
            for (float scale : new float[]{0.8f, 2f, 0.3f}) {
                ControlNetOutput r = m.forward(in, cond, scale);
                for (int i = 0; i < one.down().size(); i++) assertArrayEquals(times(one.down().get(i), scale), r.down().get(i).toFloatArray(), "down " + i + " at " + scale);
                assertArrayEquals(times(one.mid(), scale), r.mid().toFloatArray(), "mid at " + scale);
            }
        }
    }

    @Test
    void oneEmbeddingBroadcastOverTheBatchGivesTheReplicatedImagesResiduals() {
        ControlNetConfig c = ControlNetConfig.TINY_SD15;
        try (Scope s = Scope.open(); ControlNetModel m = fromMemory(c, ldmTensors(c))) {
            UNetInput in = input(c.unet(), 3);
            Tensor one = controlImage(5).slice(0, 0, 1).contiguous();
            ControlNetOutput replicated = m.forward(in, Ops.concat(0, one, one), 1f);
            ControlNetOutput broadcast = m.forwardEmbedded(in, m.embed(one), 1f);
            for (int i = 0; i < replicated.down().size(); i++)
                assertArrayEquals(replicated.down().get(i).toFloatArray(), broadcast.down().get(i).toFloatArray(), "down " + i);
            assertArrayEquals(replicated.mid().toFloatArray(), broadcast.mid().toFloatArray(), "mid");
            var e = assertThrows(IllegalArgumentException.class, () -> m.forwardEmbedded(in, Tensor.zeros(1, 3, 3, 32), 1f));
            assertTrue(e.getMessage().contains("conditioning embedding"), e.getMessage());
        }
    }

    @Test
    void missingUnexpectedAndMisshapedKeysAreNamedTogether(@TempDir Path dir) throws IOException {
        ControlNetConfig c = ControlNetConfig.TINY_SD15;
        try (Scope s = Scope.open()) {
            Map<String, Tensor> ldm = ldmTensors(c);
            ldm.remove("control_model.zero_convs.3.0.weight");
            ldm.put("control_model.input_hint_block.2.bias", Tensor.zeros(7));
            ldm.put("control_model.zero_convs.99.0.weight", Tensor.zeros(1));
            Path f = dir.resolve("bad.safetensors");
            SafetensorsWriter.write(f, ldm);
            var e = assertThrows(WeightMismatchException.class, () -> ControlNetLoader.load(f, false, c.unet(), Device.CPU));
            assertTrue(e.getMessage().contains("control_model.zero_convs.3.0.weight"), e.getMessage());
            assertTrue(e.getMessage().contains("control_model.input_hint_block.2.bias"), e.getMessage());
            assertTrue(e.getMessage().contains("control_model.zero_convs.99.0.weight"), e.getMessage());
        }
    }

    @Test
    void aControlImageOfTheWrongSizeIsRefusedWithItsShape() {
        ControlNetConfig c = ControlNetConfig.TINY_SD15;
        try (Scope s = Scope.open(); ControlNetModel m = fromMemory(c, ldmTensors(c))) {
            var e = assertThrows(IllegalArgumentException.class, () -> m.forward(input(c.unet(), 1), Tensor.zeros(2, 16, 16, 3), 1f));
            assertTrue(e.getMessage().contains("[2, 32, 32, 3]"), e.getMessage());
        }
    }

    @Test
    void aFolderWithoutConfigOrWeightsSaysWhat(@TempDir Path dir) throws IOException {
        var e = assertThrows(RuntimeException.class, () -> ControlNetLoader.load(dir, false, Device.CPU));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), new ObjectMapper().writeValueAsString(ControlNetConfig.TINY_SD15.toJson()));
        e = assertThrows(RuntimeException.class, () -> ControlNetLoader.load(dir, false, Device.CPU));
        assertTrue(e.getMessage().contains("diffusion_pytorch_model"), e.getMessage());
    }

    @Test
    void conditioningEmbeddingMatchesAFloat64Reference() {
        int cin = 3, hw = 9; // odd size: the stride-2 convs round up
        List<Integer> widths = List.of(4, 5, 6);
        List<TensorInfo> infos = new ArrayList<>();
        int[][] convs = {{4, 3}, {4, 4}, {5, 4}, {5, 5}, {6, 5}, {7, 6}}; // conv_in, blocks 0..3, conv_out (out, in)
        String[] names = {"conv_in", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "conv_out"};
        for (int i = 0; i < convs.length; i++) {
            infos.add(new TensorInfo(names[i] + ".weight", DType.F32, new int[]{convs[i][0], convs[i][1], 3, 3}));
            infos.add(new TensorInfo(names[i] + ".bias", DType.F32, new int[]{convs[i][0]}));
        }
        try (Scope s = Scope.open(); DeterministicWeights w = new DeterministicWeights(infos)) {
            Map<String, Tensor> params = new HashMap<>();
            Map<String, float[]> copies = new HashMap<>();
            for (TensorInfo i : infos) {
                params.put(i.key(), w.tensor(i.key()));
                copies.put(i.key(), w.tensor(i.key()).toFloatArray());
            }
            ConditioningEmbedding emb = ConditioningEmbedding.of(Params.root(ParamStore.of(params)), cin, widths, 7);
            float[] img = random(new Random(9), hw * hw * cin, 0, 1);
            float[] got = emb.forward(Tensor.of(img, 1, hw, hw, cin)).toFloatArray();

            double[] x = new double[img.length];
            for (int i = 0; i < x.length; i++) x[i] = img[i];
            int size = hw, ch = cin;
            for (int i = 0; i < convs.length; i++) {
                int stride = (i == 2 || i == 4) ? 2 : 1, out = (size + 2 - 3) / stride + 1;
                x = conv(x, size, ch, copies.get(names[i] + ".weight"), copies.get(names[i] + ".bias"), convs[i][0], stride);
                size = out;
                ch = convs[i][0];
                if (i < convs.length - 1) for (int j = 0; j < x.length; j++) x[j] = x[j] / (1 + Math.exp(-x[j]));
            }
            assertEquals(x.length, got.length);
            assertEquals(3 * 3 * 7, got.length, "9 -> 5 -> 3 pixels");
            for (int i = 0; i < x.length; i++) assertEquals(x[i], got[i], 1e-5 * (1 + Math.abs(x[i])), "element " + i);
        }
    }

    /** NHWC 3x3 conv, padding 1, float64; weights OIHW. */
    private static double[] conv(double[] x, int size, int cin, float[] w, float[] b, int cout, int stride) {
        int out = (size + 2 - 3) / stride + 1;
        double[] y = new double[out * out * cout];
        for (int oy = 0; oy < out; oy++)
            for (int ox = 0; ox < out; ox++)
                for (int o = 0; o < cout; o++) {
                    double acc = b[o];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy * stride + ky - 1, ix = ox * stride + kx - 1;
                            if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
                            for (int c = 0; c < cin; c++) acc += (double) w[((o * cin + c) * 3 + ky) * 3 + kx] * x[(iy * size + ix) * cin + c];
                        }
                    y[(oy * out + ox) * cout + o] = acc;
                }
        return y;
    }

    static ControlNetModel fromMemory(ControlNetConfig c, Map<String, Tensor> ldm) {
        return ControlNetLoader.fromSingleFile(c, new MapSource(ldm), LdmControlNetMapping.PREFIX, Device.CPU);
    }

    static UNet2DConditionModel tinyUNet(UNetConfig u) {
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(u, LdmUNetMapping.PREFIX))) {
            return UNetLoader.fromSingleFile(u, w, Device.CPU);
        }
    }

    private static float[] times(Tensor t, float s) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] *= s;
        return v;
    }

    private static float maxAbs(float[] v) {
        float m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** Tensors in memory as a source (values shared, not copied). */
    record MapSource(Map<String, Tensor> tensors) implements dev.diffuse4j.weights.TensorSource {
        @Override public java.util.Set<String> keys() { return tensors.keySet(); }
        @Override public TensorInfo info(String key) { Tensor t = tensors.get(key); return new TensorInfo(key, t.dtype(), t.shape()); }
        @Override public Tensor tensor(String key) { return tensors.get(key).share(); }
        @Override public String describe() { return "tensors in memory"; }
        @Override public void close() {}
    }
}
