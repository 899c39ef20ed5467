package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.model.nn.Nhwc;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.SafetensorsFile;

/** A tiny golden UNet with its shipped weights and the case's inputs (NHWC), for tests. */
final class TinyUNet implements AutoCloseable {
    final SafetensorsFile io, weights;
    final UNet2DConditionModel unet;

    TinyUNet(String name) {
        io = SafetensorsFile.open(SharedGoldens.file(name + ".safetensors"));
        weights = SafetensorsFile.open(SharedGoldens.file(name + ".weights.safetensors"));
        unet = UNetLoader.fromSingleFile(name.endsWith("sdxl") ? UNetConfig.TINY_SDXL : UNetConfig.TINY_SD15, weights, Device.CPU);
    }

    Tensor tensor(String key) {
        try (Tensor t = io.tensor(key)) {
            return t.dtype() == DType.F32 ? Ops.contiguous(t) : Ops.cast(t, DType.F32);
        }
    }

    /** The case's inputs (y for SDXL) as a UNetInput; tensors belong to the caller's scope. */
    UNetInput input() {
        UNetInput in = UNetInput.of(Nhwc.fromNchw(tensor("input.x")), tensor("input.timesteps").toFloatArray(), tensor("input.context"));
        return io.contains("input.y") ? in.withY(tensor("input.y")) : in;
    }

    @Override
    public void close() {
        unet.close();
        weights.close();
        io.close();
    }
}
