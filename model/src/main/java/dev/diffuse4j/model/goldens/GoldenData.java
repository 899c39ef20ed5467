package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.model.nn.Nhwc;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.WeightsException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a golden case (inputs, intermediates, expected outputs), read from the case's
 * safetensors files; images and latents there are NCHW. Tensors handed out are fresh F32 copies
 * the caller owns.
 */
public final class GoldenData implements AutoCloseable {
    private final GoldenCase gc;
    private final List<SafetensorsFile> files = new ArrayList<>();

    private GoldenData(GoldenCase gc) { this.gc = gc; }

    /** Opens every *.safetensors file the case lists except its weights file. */
    public static GoldenData open(GoldenCase gc) {
        GoldenData d = new GoldenData(gc);
        String weights = gc.json().path("weights").path("file").asText("");
        try {
            for (JsonNode f : gc.json().path("files")) {
                String name = f.asText();
                if (!name.endsWith(".safetensors") || name.equals(weights)) continue;
                Path p = gc.file(name);
                if (!Files.exists(p)) throw new WeightsException(gc.name() + ": case file " + p + " is missing");
                d.files.add(SafetensorsFile.open(p));
            }
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        if (d.files.isEmpty()) throw new WeightsException(gc.name() + ": the manifest lists no tensor file for this case");
        return d;
    }

    public boolean has(String key) {
        for (SafetensorsFile f : files) if (f.contains(key)) return true;
        return false;
    }

    /** A copy of the tensor as F32 on the CPU. */
    public Tensor get(String key) {
        for (SafetensorsFile f : files) {
            if (!f.contains(key)) continue;
            try (Tensor mapped = f.tensor(key)) {
                return mapped.dtype() == DType.F32 ? Ops.contiguous(mapped) : Ops.cast(mapped, DType.F32);
            }
        }
        throw new WeightsException(gc.name() + ": no tensor \"" + key + "\" in the case files");
    }

    /** The tensor as a float array. */
    public float[] floats(String key) {
        try (Tensor t = get(key)) {
            return t.toFloatArray();
        }
    }

    /** An NCHW tensor of the case as NHWC on the device. */
    public Tensor nhwc(String key, Device device) {
        try (Tensor nchw = get(key); Tensor nhwc = Nhwc.fromNchw(nchw)) {
            return to(nhwc, device);
        }
    }

    /** A tensor of the case on the device, as stored. */
    public Tensor on(String key, Device device) {
        try (Tensor t = get(key)) {
            return to(t, device);
        }
    }

    /** Compares an NHWC result with the case's NCHW expected output, with the case's tolerances. */
    public Comparison compareNchw(String output, Tensor nhwc) {
        try (Tensor host = nhwc.device().isCpu() ? nhwc.share() : Ops.to(nhwc, Device.CPU); Tensor nchw = Nhwc.toNchw(host)) {
            return Comparison.of(output, nchw.toFloatArray(), floats(output), gc.tolMaxAbs(), gc.tolRelL2());
        }
    }

    private static Tensor to(Tensor t, Device device) { return device.isCpu() ? t.share() : Ops.to(t, device); }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
        files.clear();
    }
}
