package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Captured attention maps written to disk: one safetensors file per sampling step
 * ({@code step-007.safetensors}) holding every captured layer's head-averaged probabilities
 * [B, Nq, Nk] (F32) under the layer's name, with the step, the timestep and each layer's kind, block
 * and level in the metadata. Only the current step's maps are held in memory; a step's file is
 * written when the next step's first map arrives, and the last one on {@link #close()}. Readable with
 * {@code safetensors.torch.load_file} or our {@code SafetensorsFile}.
 */
public final class MapFiles implements MapSink, AutoCloseable {
    private final Path dir;
    private final Map<String, Tensor> pending = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private int step = Integer.MIN_VALUE;
    private int written;

    public MapFiles(Path dir) {
        try {
            this.dir = Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("attention maps: cannot create the folder " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The file of a step's maps. */
    public static Path fileOf(Path dir, int step) { return dir.resolve(String.format(Locale.ROOT, "step-%03d.safetensors", step)); }

    @Override
    public synchronized void accept(LayerInfo layer, StepContext at, Tensor maps) {
        if (at.step() != step) {
            flush();
            step = at.step();
            metadata.put("step", Integer.toString(at.step()));
            metadata.put("timestep", Double.toString(at.timestep()));
        }
        String key = layer.name();
        for (int n = 2; pending.containsKey(key); n++) key = layer.name() + "#" + n; // the same layer called twice in a step
        try (Scope s = Scope.open()) { // the host copy and cast are freed here; the F32 map is ours until flushed
            Tensor host = Ops.to(maps, Device.CPU); // a copy: the caller closes maps after this call
            pending.put(key, Scope.detach(host.dtype() == DType.F32 ? host : Ops.cast(host, DType.F32)));
        }
        metadata.put(key, layer.kind().name().toLowerCase(Locale.ROOT) + " " + layer.block().name().toLowerCase(Locale.ROOT) + " level " + layer.level());
    }

    /** How many step files have been written so far. */
    public synchronized int filesWritten() { return written; }

    private void flush() {
        if (pending.isEmpty()) return;
        try {
            SafetensorsWriter.write(fileOf(dir, step), pending, metadata);
            written++;
        } finally {
            for (Tensor t : pending.values()) t.close();
            pending.clear();
            metadata.clear();
        }
    }

    @Override
    public synchronized void close() { flush(); }
}
