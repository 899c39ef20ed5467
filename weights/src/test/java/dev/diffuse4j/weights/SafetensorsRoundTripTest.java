package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.CpuStorage;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Numbers;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** A CPU tensor of the dtype filled with random bytes (valid bit patterns for every dtype but BOOL, which gets 0/1). */
    static Tensor randomTensor(DType dt, Random r, int... shape) {
        Tensor t = Tensor.zeros(dt, shape);
        MemorySegment s = t.cpuSegment();
        for (long b = 0; b < s.byteSize(); b++) s.set(ValueLayout.JAVA_BYTE, b, (byte) (dt == DType.BOOL ? r.nextInt(2) : r.nextInt()));
        return t;
    }

    static byte[] bytesOf(Tensor t) {
        return t.cpuSegment().asSlice(t.offset() * t.dtype().byteSize(), t.byteSize()).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void everyDtypeRoundTripsByteForByte() {
        Random r = new Random(1);
        Map<String, Tensor> in = new LinkedHashMap<>();
        int i = 0;
        for (DType dt : DType.values()) in.put("t" + (i++) + "." + dt, randomTensor(dt, r, 3, 5));
        in.put("scalar", randomTensor(DType.F32, r));                 // shape []: one element
        in.put("empty", randomTensor(DType.F16, r, 0, 7));           // no bytes
        in.put("odd", randomTensor(DType.U8, r, 3));                 // leaves later 1-byte tensors unaligned
        Path file = dir.resolve("all.safetensors");
        SafetensorsWriter.write(file, in, Map.of("format", "pt", "note", "ü ∑ \"quoted\""));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(in.keySet(), new java.util.HashSet<>(f.keys()));
            assertEquals(Map.of("format", "pt", "note", "ü ∑ \"quoted\""), f.metadata());
            for (var e : in.entrySet()) {
                try (Tensor t = f.tensor(e.getKey())) {
                    assertEquals(e.getValue().dtype(), t.dtype(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
                    assertArrayEquals(bytesOf(e.getValue()), bytesOf(t), e.getKey());
                    assertTrue(t.cpuSegment().isReadOnly(), "mapped tensors are read-only views");
                }
            }
        } finally {
            in.values().forEach(Tensor::close);
        }
    }

    @Test
    void layoutFollowsTheReferenceWriter() throws IOException {
        Random r = new Random(2);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", randomTensor(DType.F16, r, 3));
        in.put("a", randomTensor(DType.F16, r, 1));
        in.put("z", randomTensor(DType.F64, r, 2));
        in.put("m", randomTensor(DType.U8, r, 5));
        in.put("c", randomTensor(DType.F32, r, 2));
        Path file = dir.resolve("order.safetensors");
        SafetensorsWriter.write(file, in, Map.of("format", "pt"));
        byte[] raw = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, (8 + n) % 8, "data area starts 8-aligned");
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"z\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}"), header);
        String trimmed = header.stripTrailing();
        assertTrue(trimmed.endsWith("}") && header.length() - trimmed.length() < 8 && header.substring(trimmed.length()).isBlank(), "padding is spaces");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            // largest element size first, then by name: F64, F32, F16 a b, U8
            assertEquals(List.of("z", "c", "a", "b", "m"), new ArrayList<>(f.keys()));
            assertEquals(8 + n, f.dataStart());
        }
        in.values().forEach(Tensor::close);
    }

    @Test
    void writerConvertsFloatsAndKeepsIntegers() {
        Random r = new Random(3);
        float[] vals = new float[12];
        for (int i = 0; i < vals.length; i++) vals[i] = (float) r.nextGaussian();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("w", Tensor.of(vals, 3, 4));
        in.put("ids", Tensor.ofLongs(new long[]{1, 2, 3}, 3));
        Path src = dir.resolve("src.safetensors");
        SafetensorsWriter.write(src, in);
        for (DType to : new DType[]{DType.F16, DType.BF16, DType.F64}) {
            Path out = dir.resolve("as" + to + ".safetensors");
            try (SafetensorsFile f = SafetensorsFile.open(src)) {
                SafetensorsWriter.write(out, f, to, Map.of());
            }
            try (SafetensorsFile g = SafetensorsFile.open(out); Tensor w = g.tensor("w"); Tensor ids = g.tensor("ids")) {
                assertEquals(to, w.dtype());
                assertEquals(DType.I64, ids.dtype());
                assertArrayEquals(new long[]{1, 2, 3}, ids.toLongArray());
                for (int i = 0; i < vals.length; i++) {
                    float want = switch (to) {
                        case F16 -> Numbers.f16ToF32(Numbers.f32ToF16(vals[i]));
                        case BF16 -> Numbers.bf16ToF32(Numbers.f32ToBf16(vals[i]));
                        default -> vals[i];
                    };
                    assertEquals(want, w.getFloat(i), 0f, to + " element " + i);
                }
            }
        }
        in.values().forEach(Tensor::close);
    }

    @Test
    void stridedTensorsAreWrittenInLogicalOrder() {
        float[] vals = new float[6];
        for (int i = 0; i < 6; i++) vals[i] = i;
        try (Tensor t = Tensor.of(vals, 2, 3); Tensor tt = t.transpose(0, 1)) {
            Path file = dir.resolve("t.safetensors");
            SafetensorsWriter.write(file, Map.of("tt", tt));
            try (SafetensorsFile f = SafetensorsFile.open(file); Tensor back = f.tensor("tt")) {
                assertArrayEquals(new int[]{3, 2}, back.shape());
                assertArrayEquals(new float[]{0, 3, 1, 4, 2, 5}, back.toFloatArray());
            }
        }
    }

    @Test
    void tensorsAtOffsetsThatAreNotMultiplesOfTheirSize() {
        // U8[3] at [0,3), then F32[2] at [3,11): legal in the format, even if the reference writer never does it
        String header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]}}";
        ByteBuffer data = ByteBuffer.allocate(11).order(ByteOrder.LITTLE_ENDIAN);
        data.put((byte) 7).put((byte) 8).put((byte) 9).putFloat(1.5f).putFloat(-2.25f);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = RawSafetensors.write(dir.resolve("unaligned.safetensors"), RawSafetensors.bytes(h.length, h, data.array()));
        try (SafetensorsFile f = SafetensorsFile.open(file); Tensor a = f.tensor("a"); Tensor b = f.tensor("b")) {
            assertArrayEquals(new long[]{7, 8, 9}, a.toLongArray());
            assertArrayEquals(new float[]{1.5f, -2.25f}, b.toFloatArray());
        }
    }

    @Test
    void closingTheFileEndsItsTensors() {
        Path file = dir.resolve("c.safetensors");
        try (Tensor t = Tensor.of(new float[]{1, 2}, 2)) {
            SafetensorsWriter.write(file, Map.of("x", t));
        }
        SafetensorsFile f = SafetensorsFile.open(file);
        Tensor x = f.tensor("x");
        assertEquals(2f, x.getFloat(1));
        f.close();
        f.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> x.getFloat(0), "a tensor used after its file closed fails cleanly");
        WeightsException e = assertThrows(WeightsException.class, () -> f.tensor("x"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        x.close();
    }

    @Test
    void unknownKeyIsNamed() {
        Path file = dir.resolve("k.safetensors");
        try (Tensor t = Tensor.of(new float[]{1}, 1)) {
            SafetensorsWriter.write(file, Map.of("x", t));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            WeightsException e = assertThrows(WeightsException.class, () -> f.info("y"));
            assertTrue(e.getMessage().contains("\"y\"") && e.getMessage().contains(file.toString()), e.getMessage());
            assertFalse(f.contains("y"));
        }
    }

    @Test
    void writerRefusesTheReservedName() {
        try (Tensor t = Tensor.of(new float[]{1}, 1)) {
            assertThrows(WeightsException.class, () -> SafetensorsWriter.write(dir.resolve("r.safetensors"), Map.of("__metadata__", t)));
            assertFalse(Files.exists(dir.resolve("r.safetensors")));
        }
    }

    @Test
    void readsAGoldenFileFromThePythonSide() {
        Path golden = SharedFiles.golden("unet_tiny_sd15.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(golden)) {
            assertEquals(List.of("input.context", "input.timesteps", "input.x", "intermediate.t_sinusoid", "output.eps"), new ArrayList<>(f.keys()));
            assertArrayEquals(new int[]{2, 4, 16, 16}, f.info("input.x").shape());
            assertEquals("unet_tiny_sd15", f.metadata().get("case"));
        }
    }

    /** Open reads the header only: the bytes read through read() calls stay far below the data size. */
    @Test
    void openDoesNotReadTheDataArea() throws IOException {
        Path io = Path.of("/proc/self/io");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(io), "needs Linux /proc/self/io");
        Path file = dir.resolve("big.safetensors");
        try (Tensor t = Tensor.zeros(DType.F32, 16 << 20)) { // 64 MiB
            SafetensorsWriter.write(file, Map.of("big", t));
        }
        long before = readChars(io);
        long dataBytes;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            long after = readChars(io);
            dataBytes = f.entry("big").byteLength();
            assertTrue(after - before < (1 << 20), "open read " + (after - before) + " bytes of a file with " + dataBytes + " data bytes");
        }
    }

    private static long readChars(Path io) throws IOException {
        for (String line : Files.readAllLines(io)) if (line.startsWith("rchar:")) return Long.parseLong(line.substring(6).trim());
        throw new IllegalStateException("no rchar in /proc/self/io");
    }

    /** A sparse file with a tensor ending past 2 GiB: the mapping is not limited to int offsets. */
    @Test
    void filesLargerThan2GiB() throws IOException {
        int half = (1 << 30) + 8;
        long big = 2L * half; // 2^31 + 16 bytes
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[2," + half + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" + big + "," + (big + 4) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("sparse.safetensors");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.wrap(RawSafetensors.bytes(h.length, h, new byte[0])));
            ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 42.5f);
            ch.write(tail, 8 + h.length + big); // everything before it stays a hole
        }
        assertEquals(8 + h.length + big + 4, Files.size(file));
        try (SafetensorsFile f = SafetensorsFile.open(file); Tensor t = f.tensor("tail"); Tensor b = f.tensor("big")) {
            assertEquals(42.5f, t.getFloat(0));
            assertEquals(big, b.byteSize());
            assertEquals(0, b.getLong(big - 1), "last byte of a tensor that spans 2 GiB");
        }
    }

    @Test
    void borrowedStorageIsNotOwned() {
        Path file = dir.resolve("o.safetensors");
        try (Tensor t = Tensor.of(new float[]{1, 2, 3}, 3)) {
            SafetensorsWriter.write(file, Map.of("x", t));
        }
        try (SafetensorsFile f = SafetensorsFile.open(file); Tensor x = f.tensor("x")) {
            assertFalse(((CpuStorage) x.storage()).isOwned());
        }
    }
}
