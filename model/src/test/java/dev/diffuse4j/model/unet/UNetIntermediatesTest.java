package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.model.nn.Nhwc;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.SafetensorsFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Block by block against the tiny cases' intermediates (outputs of every LDM sub-module during the
 * reference forward pass), so a failure names the first block that drifts.
 */
class UNetIntermediatesTest {
    @ParameterizedTest
    @ValueSource(strings = {"unet_tiny_sd15", "unet_tiny_sdxl"})
    void everyBlockMatchesTheReference(String name) {
        boolean xl = name.endsWith("sdxl");
        UNetConfig config = xl ? UNetConfig.TINY_SDXL : UNetConfig.TINY_SD15;
        double tolAbs = xl ? 2.430738925933838e-4 : 2.543647527694702e-4, tolRel = 1e-4;
        Map<String, float[]> seen = new LinkedHashMap<>();
        try (SafetensorsFile io = SafetensorsFile.open(SharedGoldens.file(name + ".safetensors"));
             SafetensorsFile mids = SafetensorsFile.open(SharedGoldens.file(name + ".intermediates.safetensors"));
             SafetensorsFile weights = SafetensorsFile.open(SharedGoldens.file(name + ".weights.safetensors"));
             UNet2DConditionModel unet = UNetLoader.fromSingleFile(config, weights, Device.CPU);
             Scope s = Scope.open()) {
            UNetInput in = UNetInput.of(Nhwc.fromNchw(f32(io, "input.x")), f32(io, "input.timesteps").toFloatArray(), f32(io, "input.context"))
                    .withObserver((module, value) -> seen.put(ldm(config, module), value.rank() == 4 ? nchw(value) : value.toFloatArray()));
            if (xl) in = in.withY(f32(io, "input.y"));
            unet.forward(in);

            List<String> failures = new ArrayList<>();
            for (String key : mids.keys()) {
                String module = key.substring("intermediate.".length());
                float[] got = seen.get(module);
                if (got == null) {
                    failures.add(module + ": not produced");
                    continue;
                }
                Comparison c = Comparison.of(module, got, f32(mids, key).toFloatArray(), tolAbs, tolRel);
                if (!c.pass()) failures.add(module + ": max_abs " + c.maxAbs() + " rel_l2 " + c.relL2());
            }
            assertTrue(failures.isEmpty(), name + " blocks out of tolerance (execution order):\n" + String.join("\n", failures));
        }
    }

    /** The LDM sub-module whose output a diffusers module's output is. */
    static String ldm(UNetConfig c, String module) {
        int slots = c.layersPerBlock() + 1;
        String[] p = module.split("\\.");
        switch (p[0]) {
            case "conv_in": return "input_blocks.0.0";
            case "time_embedding": return "emb";
            case "conv_out": return "out";
            case "mid_block": return "middle_block." + (p[1].equals("attentions") ? 1 : 2 * Integer.parseInt(p[2]));
            case "down_blocks": {
                int b = Integer.parseInt(p[1]), l = Integer.parseInt(p[3]);
                return switch (p[2]) {
                    case "resnets" -> "input_blocks." + (1 + b * slots + l) + ".0";
                    case "attentions" -> "input_blocks." + (1 + b * slots + l) + ".1";
                    default -> "input_blocks." + (1 + b * slots + c.layersPerBlock()) + ".0";
                };
            }
            case "up_blocks": {
                int b = Integer.parseInt(p[1]), l = Integer.parseInt(p[3]);
                return switch (p[2]) {
                    case "resnets" -> "output_blocks." + (b * slots + l) + ".0";
                    case "attentions" -> "output_blocks." + (b * slots + l) + ".1";
                    default -> "output_blocks." + (b * slots + c.layersPerBlock()) + "." + (c.upHasAttention(b) ? 2 : 1);
                };
            }
            default: throw new IllegalArgumentException(module);
        }
    }

    private static Tensor f32(SafetensorsFile f, String key) {
        try (Tensor t = f.tensor(key)) {
            return t.dtype() == DType.F32 ? Ops.contiguous(t) : Ops.cast(t, DType.F32);
        }
    }

    private static float[] nchw(Tensor nhwc) {
        try (Tensor t = Nhwc.toNchw(nhwc)) {
            return t.toFloatArray();
        }
    }
}
