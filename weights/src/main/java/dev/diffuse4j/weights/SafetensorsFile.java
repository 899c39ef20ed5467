package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.CpuStorage;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.SafetensorsFormatException.Rule;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, memory-mapped. Opening reads and validates only the header; the data area is
 * mapped (through {@link FileChannel#map(FileChannel.MapMode, long, long, Arena)}, so files of any
 * size work) and pages are read by the OS when a tensor is first touched.
 *
 * <p>{@link #tensor} returns a zero-copy, read-only view of the mapping. Each view borrows its bytes
 * from the file: the tensor must not be used after the file is closed (the mapping's arena is then
 * closed and any access fails with an {@link IllegalStateException}, never with a crash). Views are
 * built on a borrowed {@link CpuStorage} over the tensor's own byte range, so a tensor whose offset
 * in the file is not a multiple of its element size is still exact.
 */
public final class SafetensorsFile implements TensorSource {
    private final Path path;
    private final SafetensorsHeader header;
    private final long dataStart;
    private final Arena arena;
    private final MemorySegment data;
    private volatile boolean closed;

    private SafetensorsFile(Path path, SafetensorsHeader header, long dataStart, Arena arena, MemorySegment data) {
        this.path = path;
        this.header = header;
        this.dataStart = dataStart;
        this.arena = arena;
        this.data = data;
    }

    /** Opens and validates a file; every problem is a {@link WeightsException} naming the file and the rule. */
    public static SafetensorsFile open(Path path) {
        String name = path.toString();
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN)
            throw new SafetensorsFormatException(name, null, Rule.UNSUPPORTED_PLATFORM, "this reader maps little-endian data without conversion");
        if (Files.isDirectory(path)) throw new WeightsException(name + " is a folder, not a safetensors file");
        if (Files.exists(path) && !Files.isRegularFile(path)) throw new WeightsException(name + " is not a regular file");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8)
                throw new SafetensorsFormatException(name, null, Rule.FILE_TOO_SHORT, "the file has only " + size + " bytes");
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long n = len.getLong(0);
            if (n < 0 || n > SafetensorsHeader.MAX_HEADER_BYTES)
                throw new SafetensorsFormatException(name, null, Rule.HEADER_TOO_LARGE, "the header length is " + Long.toUnsignedString(n) + " bytes");
            if (8 + n > size)
                throw new SafetensorsFormatException(name, null, Rule.HEADER_PAST_END, "the header length is " + n + " bytes but the file has only " + (size - 8) + " after the length");
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(ch, json, 8);
            long dataStart = 8 + n, dataLength = size - dataStart;
            SafetensorsHeader header = SafetensorsHeader.parse(name, json.array(), dataLength);

            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = dataLength == 0 ? arena.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLength, arena);
                return new SafetensorsFile(path, header, dataStart, arena, data);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (SafetensorsFormatException e) {
            // A PyTorch pickle given where safetensors was expected: say that, not which byte broke the format.
            String pickle = PickleCheckpoints.sniff(path);
            if (pickle != null) throw PickleCheckpoints.refusal(path, pickle);
            throw e;
        } catch (NoSuchFileException e) {
            throw new WeightsException("no such file: " + name);
        } catch (IOException e) {
            throw new WeightsException("cannot read " + name + ": " + e, e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, position + buf.position());
            if (r < 0) throw new IOException("unexpected end of file at byte " + (position + buf.position()));
        }
    }

    public Path path() { return path; }

    public SafetensorsHeader header() { return header; }

    /** The {@code __metadata__} strings (empty when absent). */
    public Map<String, String> metadata() { return header.metadata(); }

    /** Byte position of the data area in the file (8 + header length). */
    public long dataStart() { return dataStart; }

    /** Keys in data-offset order. */
    @Override
    public Set<String> keys() { return header.byName().keySet(); }

    @Override
    public boolean contains(String key) { return header.byName().containsKey(key); }

    @Override
    public TensorInfo info(String key) { return entry(key).info(); }

    /** The header entry of a key (dtype, shape, byte range). */
    public SafetensorsHeader.Entry entry(String key) {
        SafetensorsHeader.Entry e = header.byName().get(key);
        if (e == null) throw new WeightsException(path + " has no tensor \"" + key + "\"");
        return e;
    }

    /** A read-only view of the tensor's bytes in the mapping; valid until this file is closed. */
    @Override
    public Tensor tensor(String key) {
        SafetensorsHeader.Entry e = entry(key);
        if (closed) throw new WeightsException(path + " is closed; cannot read tensor \"" + key + "\"");
        CpuStorage storage = CpuStorage.borrow(data.asSlice(e.begin(), e.byteLength()));
        return Tensor.adopt(storage, e.dtype(), e.shape());
    }

    @Override
    public String describe() { return path.toString(); }

    /** Unmaps the file; tensors obtained from it become unusable. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        arena.close();
    }

    @Override
    public String toString() { return "SafetensorsFile(" + path + ", " + header.entries().size() + " tensors)"; }
}
