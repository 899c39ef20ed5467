package dev.diffuse4j.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files the way the reference library does: tensors ordered by element size
 * (largest first) then name, {@code __metadata__} first in the header, the header padded with spaces
 * so the data area starts at a multiple of 8 bytes. Tensor data is streamed one tensor at a time,
 * straight from its memory when it is contiguous and already in the stored dtype, else through a
 * small conversion buffer; nothing the size of a tensor is copied onto the heap. The file appears
 * under its name only once complete (written next to it, then renamed).
 */
public final class SafetensorsWriter {
    private static final int CHUNK = 1 << 26; // largest single write: 64 MiB
    private static final int SCRATCH = 1 << 20;

    private SafetensorsWriter() {}

    /** Writes CPU tensors under their map keys. */
    public static void write(Path file, Map<String, Tensor> tensors) {
        write(file, tensors, Map.of());
    }

    /** Writes CPU tensors under their map keys, with {@code __metadata__}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        write(file, new MapSource(tensors), null, metadata);
    }

    /** Writes every tensor of a source, taking (and closing) one tensor at a time. */
    public static void write(Path file, TensorSource source, Map<String, String> metadata) {
        write(file, source, null, metadata);
    }

    /**
     * Writes every tensor of a source, storing floating-point tensors as {@code floatsAs} (F16 for an
     * fp16 variant; null keeps each tensor's dtype). Integer tensors always keep their dtype.
     */
    public static void write(Path file, TensorSource source, DType floatsAs, Map<String, String> metadata) {
        if (floatsAs != null && !floatsAs.isFloating()) throw new IllegalArgumentException("floatsAs must be a float dtype, not " + floatsAs);
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) throw new WeightsException("writing safetensors needs a little-endian platform");
        List<SafetensorsHeader.Entry> entries = layout(source, floatsAs);
        byte[] header = header(entries, metadata);

        Path dir = file.toAbsolutePath().getParent();
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".partial");
        } catch (IOException e) {
            throw new WeightsException("cannot create a file in " + dir + ": " + e, e);
        }
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                 Arena scratchArena = Arena.ofConfined()) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                MemorySegment scratch = scratchArena.allocate(SCRATCH, 64);
                for (SafetensorsHeader.Entry e : entries) {
                    try (Tensor t = source.tensor(e.name())) {
                        writeTensor(ch, file, e, t, scratch);
                    }
                }
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new WeightsException("cannot write " + file + ": " + e, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Entries in file order with their byte ranges. */
    static List<SafetensorsHeader.Entry> layout(TensorSource source, DType floatsAs) {
        List<TensorInfo> infos = new ArrayList<>();
        for (String k : source.keys()) {
            if (k.equals(SafetensorsHeader.METADATA_KEY)) throw new WeightsException("a tensor may not be named " + SafetensorsHeader.METADATA_KEY);
            TensorInfo i = source.info(k);
            infos.add(floatsAs != null && i.dtype().isFloating() ? new TensorInfo(k, floatsAs, i.shape()) : i);
        }
        infos.sort(Comparator.comparingInt((TensorInfo i) -> -i.dtype().byteSize()).thenComparing(TensorInfo::key));
        List<SafetensorsHeader.Entry> entries = new ArrayList<>(infos.size());
        long pos = 0;
        for (TensorInfo i : infos) {
            long bytes = Math.multiplyExact(i.numel(), (long) i.dtype().byteSize());
            entries.add(new SafetensorsHeader.Entry(i.key(), i.dtype(), i.shape(), pos, pos + bytes));
            pos += bytes;
        }
        return entries;
    }

    /** The header bytes, padded with spaces so that 8 + length is a multiple of 8. */
    static byte[] header(List<SafetensorsHeader.Entry> entries, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach((k, v) -> {
                if (k == null || v == null) throw new IllegalArgumentException("metadata keys and values must not be null: " + k + "=" + v);
                m.put(k, v);
            });
        }
        for (SafetensorsHeader.Entry e : entries) {
            ObjectNode o = root.putObject(e.name());
            o.put("dtype", e.dtype().safetensorsName());
            ArrayNode shape = o.putArray("shape");
            for (int d : e.shape()) shape.add(d);
            o.putArray("data_offsets").add(e.begin()).add(e.end());
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new WeightsException("cannot encode a safetensors header: " + e.getOriginalMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MAX_HEADER_BYTES) throw new WeightsException("the safetensors header would be " + padded + " bytes, over the format's limit");
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static void writeTensor(FileChannel ch, Path file, SafetensorsHeader.Entry e, Tensor t, MemorySegment scratch) throws IOException {
        if (!Arrays.equals(t.shape(), e.shape()))
            throw new WeightsException("writing " + file + ": tensor \"" + e.name() + "\" is " + t.describe() + " but was declared " + Arrays.toString(e.shape()));
        if (t.device() != Device.CPU)
            throw new WeightsException("writing " + file + ": tensor \"" + e.name() + "\" lives on " + t.device() + "; copy it to the CPU first");
        if (t.dtype() != e.dtype() && !(t.dtype().isFloating() && e.dtype().isFloating()))
            throw new WeightsException("writing " + file + ": tensor \"" + e.name() + "\" is " + t.dtype() + " but was declared " + e.dtype());
        MemorySegment seg = t.cpuSegment();
        long n = t.numel();
        if (n == 0) return;
        if (t.dtype() == e.dtype() && t.isContiguous()) {
            MemorySegment bytes = seg.asSlice(t.offset() * t.dtype().byteSize(), e.byteLength());
            for (long p = 0; p < bytes.byteSize(); p += CHUNK)
                writeFully(ch, bytes.asSlice(p, Math.min(CHUNK, bytes.byteSize() - p)).asByteBuffer());
            return;
        }
        DType from = t.dtype(), to = e.dtype();
        int outSize = to.byteSize();
        long perChunk = scratch.byteSize() / outSize;
        if (t.isContiguous()) {
            // Converted: a scratch-buffer's worth of elements at a time.
            long base = t.offset() * from.byteSize();
            for (long i = 0; i < n; i += perChunk) {
                long count = Math.min(perChunk, n - i);
                convert(seg, base + i * from.byteSize(), from, scratch, to, count);
                writeFully(ch, scratch.asSlice(0, count * outSize).asByteBuffer());
            }
            return;
        }
        // Strided: element by element in logical order.
        long fill = 0;
        for (long i = 0; i < n; i++) {
            long src = t.byteOffsetOf(i);
            if (from == to) MemorySegment.copy(seg, src, scratch, fill, outSize);
            else Numbers.writeFloat(scratch, to, fill, Numbers.readFloat(seg, from, src));
            fill += outSize;
            if (fill + outSize > scratch.byteSize()) {
                writeFully(ch, scratch.asSlice(0, fill).asByteBuffer());
                fill = 0;
            }
        }
        if (fill > 0) writeFully(ch, scratch.asSlice(0, fill).asByteBuffer());
    }

    /** {@code count} contiguous floats of one dtype to another; the F32 -> F16/BF16 paths are tight loops. */
    private static void convert(MemorySegment src, long srcOff, DType from, MemorySegment dst, DType to, long count) {
        if (from == DType.F32 && to == DType.F16) {
            for (long i = 0; i < count; i++)
                dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, Float.floatToFloat16(src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, srcOff + 4 * i)));
        } else if (from == DType.F32 && to == DType.BF16) {
            for (long i = 0; i < count; i++)
                dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, Numbers.f32ToBf16(src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, srcOff + 4 * i)));
        } else {
            int in = from.byteSize(), out = to.byteSize();
            for (long i = 0; i < count; i++) Numbers.writeFloat(dst, to, out * i, Numbers.readFloat(src, from, srcOff + in * i));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the original error is what matters
        }
    }

    /** Tensors the caller holds, as a source (shares them; never closes them). */
    private static final class MapSource implements TensorSource {
        private final Map<String, Tensor> tensors;

        MapSource(Map<String, Tensor> tensors) { this.tensors = new LinkedHashMap<>(tensors); }

        @Override public Set<String> keys() { return tensors.keySet(); }

        @Override public TensorInfo info(String key) {
            Tensor t = tensors.get(key);
            if (t == null) throw new WeightsException("no tensor \"" + key + "\"");
            return new TensorInfo(key, t.dtype(), t.shape());
        }

        @Override public Tensor tensor(String key) {
            info(key);
            return tensors.get(key).share();
        }

        @Override public String describe() { return "tensors in memory"; }

        @Override public void close() {}
    }
}
