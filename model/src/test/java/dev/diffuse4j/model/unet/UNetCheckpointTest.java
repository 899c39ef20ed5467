package dev.diffuse4j.model.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.GoldenCase;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.model.nn.Nhwc;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.DiffusersFolder;
import dev.diffuse4j.weights.ParamSpec;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny SD1.5 golden UNet rewritten as a diffusers pipeline folder (diffusers names, config.json,
 * an fp16 variant) loads through {@code Checkpoints.open} and still matches the golden output.
 */
class UNetCheckpointTest {
    @Test
    void diffusersFolderMatchesTheGolden(@TempDir Path dir) throws IOException {
        GoldenCase gc = SharedGoldens.golden("unet_tiny_sd15");
        writeFolder(dir, gc, false);
        Comparison c = run(dir, DiffusersFolder.Variant.FP32);
        assertTrue(c.pass(), c.toString());
    }

    @Test
    void fp16VariantRunsWithinHalfPrecisionError(@TempDir Path dir) throws IOException {
        GoldenCase gc = SharedGoldens.golden("unet_tiny_sd15");
        writeFolder(dir, gc, true);
        Comparison c = run(dir, DiffusersFolder.Variant.FP16);
        // F16 weights (11-bit mantissas) widened on the fly: about 1e-3 relative, far above F32 noise
        assertTrue(c.relL2() < 5e-3 && c.relL2() > 1e-6, c.toString());
    }

    @Test
    void aMissingTensorIsReportedByName(@TempDir Path dir) throws IOException {
        GoldenCase gc = SharedGoldens.golden("unet_tiny_sd15");
        writeFolder(dir, gc, false);
        Path w = dir.resolve("unet/diffusion_pytorch_model.safetensors");
        Map<String, Tensor> kept = new LinkedHashMap<>();
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(w)) {
            for (String k : f.keys()) if (!k.equals("mid_block.resnets.1.conv2.weight")) kept.put(k, Ops.contiguous(f.tensor(k)));
            Files.delete(w);
            SafetensorsWriter.write(w, kept);
        }
        try (Checkpoint ckpt = Checkpoints.open(dir)) {
            WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> UNetLoader.from(ckpt, Device.CPU));
            assertEquals(1, e.missing().size(), e.getMessage());
            assertTrue(e.missing().getFirst().contains("mid_block.resnets.1.conv2.weight"), e.getMessage());
        }
    }

    private static Comparison run(Path dir, DiffusersFolder.Variant variant) throws IOException {
        GoldenCase gc = SharedGoldens.golden("unet_tiny_sd15");
        try (Checkpoint ckpt = Checkpoints.open(dir, variant);
             UNet2DConditionModel unet = UNetLoader.from(ckpt, Device.CPU);
             SafetensorsFile io = SafetensorsFile.open(SharedGoldens.file("unet_tiny_sd15.safetensors"));
             Scope s = Scope.open()) {
            assertEquals(UNetConfig.TINY_SD15, unet.config());
            Tensor eps = unet.forward(UNetInput.of(Nhwc.fromNchw(f32(io, "input.x")), f32(io, "input.timesteps").toFloatArray(), f32(io, "input.context")));
            return Comparison.of("output.eps", Nhwc.toNchw(eps).toFloatArray(), f32(io, "output.eps").toFloatArray(), gc.tolMaxAbs(), gc.tolRelL2());
        }
    }

    /** model_index.json, unet/config.json (the case's diffusers_style), unet weights under diffusers names. */
    static void writeFolder(Path dir, GoldenCase gc, boolean fp16) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Files.writeString(dir.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}""");
        Files.createDirectories(dir.resolve("unet"));
        Files.writeString(dir.resolve("unet/config.json"), json.writeValueAsString(gc.json().path("diffusers_style")));
        LdmUNetMapping mapping = new LdmUNetMapping(UNetConfig.TINY_SD15);
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        try (Scope s = Scope.open(); SafetensorsFile ldm = SafetensorsFile.open(SharedGoldens.file("unet_tiny_sd15.weights.safetensors"))) {
            for (ParamSpec p : UNet2DConditionModel.parameters(UNetConfig.TINY_SD15)) {
                Tensor t = ldm.tensor(mapping.map(p).sourceKey());
                renamed.put(p.name(), fp16 ? Ops.cast(t, DType.F16) : Ops.contiguous(t));
            }
            SafetensorsWriter.write(dir.resolve(fp16 ? "unet/diffusion_pytorch_model.fp16.safetensors" : "unet/diffusion_pytorch_model.safetensors"), renamed);
        }
    }

    private static Tensor f32(SafetensorsFile f, String key) {
        try (Tensor t = f.tensor(key)) {
            return t.dtype() == DType.F32 ? Ops.contiguous(t) : Ops.cast(t, DType.F32);
        }
    }
}
