package dev.diffuse4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutation fuzzing of the safetensors reader: valid files are mutated (bit flips, truncation,
 * length-field edits, JSON-level header edits, random bytes) and opened. The only acceptable outcomes
 * are a {@link WeightsException} that names the file, or a successful open whose header tiles the
 * data area and whose every tensor can be read. Anything else (another exception, an Error, a hang)
 * fails with the iteration and mutation that caused it. Iterations: -Dd4j.fuzz.iterations (default 6000).
 */
class SafetensorsFuzzTest {
    private static final long SEED = Long.getLong("d4j.fuzz.seed", 0x5AFE7E4505L);
    private static final int ITERATIONS = Integer.getInteger("d4j.fuzz.iterations", 6000);

    @TempDir
    Path dir;

    enum Mutation {
        BIT_FLIPS, HEADER_BIT_FLIPS, TRUNCATE, APPEND, LENGTH_FIELD, OFFSETS, OVERLAP, DTYPE, SHAPE,
        SWAP_SHAPES, METADATA, ODD_JSON, DROP_OR_ADD_FIELD, DUPLICATE_KEY, RENAME, HEADER_TEXT, RANDOM_BYTES, SPLICE
    }

    @Test
    void mutatedFilesFailCleanlyOrReadCompletely() {
        List<byte[]> seeds = seedFiles();
        for (byte[] s : seeds) assertEquals(Outcome.OPENED, openAndRead(write(s)).kind, "seed files are valid");

        Map<Mutation, int[]> outcomes = new EnumMap<>(Mutation.class);
        Map<SafetensorsFormatException.Rule, Integer> rules = new EnumMap<>(SafetensorsFormatException.Rule.class);
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            Random r = new Random(SEED);
            for (int it = 0; it < ITERATIONS; it++) {
                Mutation m = Mutation.values()[r.nextInt(Mutation.values().length)];
                byte[] input = seeds.get(r.nextInt(seeds.size()));
                byte[] mutated;
                try {
                    mutated = mutate(m, input, seeds, r);
                } catch (RuntimeException e) {
                    throw new AssertionError("the mutator itself failed at iteration " + it + " (" + m + ")", e);
                }
                Path file = write(mutated);
                Outcome o = openAndRead(file);
                if (o.kind == Outcome.FAILED)
                    fail("iteration " + it + " (" + m + ", seed " + SEED + "): " + o.error + " escaped instead of a WeightsException", o.error);
                outcomes.computeIfAbsent(m, k -> new int[2])[o.kind == Outcome.OPENED ? 0 : 1]++;
                if (o.error instanceof SafetensorsFormatException fe) rules.merge(fe.rule(), 1, Integer::sum);
            }
        }, "the reader hung on a mutated file");

        int opened = 0, refused = 0;
        for (int[] c : outcomes.values()) { opened += c[0]; refused += c[1]; }
        System.out.printf("safetensors fuzz: %d iterations (seed %#x): %d opened, %d refused; rules hit %s%n", ITERATIONS, SEED, opened, refused, rules);
        assertEquals(ITERATIONS, opened + refused);
        assertTrue(opened > ITERATIONS / 100 && refused > ITERATIONS / 2,
                "the mutations exercise both outcomes: " + opened + " opened, " + refused + " refused");
        assertTrue(rules.size() >= 14, "the mutations reach most rules: " + rules);
    }

    // ---------------------------------------------------------------- outcome of one open

    private record Outcome(int kind, Throwable error) {
        static final int OPENED = 0, REFUSED = 1, FAILED = 2;
    }

    private Outcome openAndRead(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            checkTiling(f, Files.size(file));
            for (String k : f.keys()) {
                try (Tensor t = f.tensor(k)) {
                    if (t.dtype().isFloating()) {
                        float[] v = t.toFloatArray();
                        assertEquals(t.numel(), v.length);
                    } else {
                        long[] v = t.toLongArray();
                        assertEquals(t.numel(), v.length);
                    }
                }
            }
            return new Outcome(Outcome.OPENED, null);
        } catch (WeightsException e) {
            String msg = e.getMessage();
            if (msg == null || !msg.contains(file.toString()) || msg.length() > 4000)
                return new Outcome(Outcome.FAILED, new AssertionError("unclear message: " + msg, e));
            return new Outcome(Outcome.REFUSED, e);
        } catch (Throwable t) {
            return new Outcome(Outcome.FAILED, t);
        }
    }

    /** Independent check of what the reader accepted: ranges tile the data area and match the sizes. */
    private static void checkTiling(SafetensorsFile f, long fileSize) {
        long pos = 0;
        for (SafetensorsHeader.Entry e : f.header().entries()) {
            long bytes = e.dtype().byteSize();
            for (int d : e.shape()) bytes *= d;
            if (e.begin() != pos || e.end() - e.begin() != bytes)
                throw new AssertionError("accepted an entry that breaks the format: " + e);
            pos = e.end();
        }
        if (f.dataStart() + pos != fileSize) throw new AssertionError("accepted a file whose data area is not covered exactly");
    }

    private int counter;
    private Path previous;

    /**
     * Each input goes to a fresh file and the previous one is deleted: rewriting one file in place
     * (truncate + write) makes ext4 flush it to disk on close, which would dominate the run time.
     */
    private Path write(byte[] bytes) {
        Path p = dir.resolve("fuzz" + (counter++) + ".safetensors");
        try {
            if (previous != null) Files.deleteIfExists(previous);
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        previous = p;
        return p;
    }

    // ---------------------------------------------------------------- seeds

    private List<byte[]> seedFiles() {
        List<byte[]> out = new ArrayList<>();
        Random r = new Random(7);
        Map<String, Tensor> mixed = new LinkedHashMap<>();
        mixed.put("model.diffusion_model.input_blocks.0.0.weight", SafetensorsRoundTripTest.randomTensor(DType.F32, r, 4, 2, 3, 3));
        mixed.put("model.diffusion_model.input_blocks.0.0.bias", SafetensorsRoundTripTest.randomTensor(DType.F32, r, 4));
        mixed.put("half", SafetensorsRoundTripTest.randomTensor(DType.F16, r, 3, 2));
        mixed.put("brain", SafetensorsRoundTripTest.randomTensor(DType.BF16, r, 5));
        mixed.put("ids", SafetensorsRoundTripTest.randomTensor(DType.I64, r, 3));
        mixed.put("mask", SafetensorsRoundTripTest.randomTensor(DType.BOOL, r, 2, 2));
        mixed.put("bytes", SafetensorsRoundTripTest.randomTensor(DType.U8, r, 7));
        mixed.put("scale", SafetensorsRoundTripTest.randomTensor(DType.F64, r));
        mixed.put("nothing", SafetensorsRoundTripTest.randomTensor(DType.F32, r, 0, 4));
        out.add(writeSeed("mixed", mixed, Map.of("format", "pt", "origin", "fuzz")));

        Map<String, Tensor> same = new LinkedHashMap<>();
        for (int i = 0; i < 4; i++) same.put("layer." + i + ".weight", SafetensorsRoundTripTest.randomTensor(DType.F32, r, 2, 6));
        out.add(writeSeed("same", same, Map.of()));

        out.add(writeSeed("empty", Map.of(), Map.of()));
        out.add(RawSafetensors.bytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},\"__metadata__\":{}}", 11));
        return out;
    }

    private byte[] writeSeed(String name, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Path p = dir.resolve(name + ".seed.safetensors");
        try {
            SafetensorsWriter.write(p, tensors, metadata);
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    // ---------------------------------------------------------------- mutations

    private static byte[] mutate(Mutation m, byte[] in, List<byte[]> seeds, Random r) {
        byte[] b = in.clone();
        int headerLen = (int) ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return switch (m) {
            case BIT_FLIPS -> flip(b, 0, b.length, 1 + r.nextInt(8), r);
            case HEADER_BIT_FLIPS -> flip(b, 0, 8 + headerLen, 1 + r.nextInt(3), r);
            case TRUNCATE -> Arrays.copyOf(b, r.nextInt(b.length));
            case APPEND -> {
                byte[] out = Arrays.copyOf(b, b.length + 1 + r.nextInt(64));
                for (int i = b.length; i < out.length; i++) out[i] = (byte) r.nextInt();
                yield out;
            }
            case LENGTH_FIELD -> {
                long[] choices = {r.nextLong(), r.nextInt(2 * b.length + 1), 100_000_000L, 100_000_001L, Long.MAX_VALUE, -1L,
                        Long.MIN_VALUE, headerLen + r.nextInt(17) - 8, 0, 1, 7, 8};
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, choices[r.nextInt(choices.length)]);
                yield b;
            }
            case HEADER_TEXT -> {
                StringBuilder h = new StringBuilder(header(in));
                int ops = 1 + r.nextInt(3);
                for (int k = 0; k < ops && !h.isEmpty(); k++) {
                    int at = r.nextInt(h.length());
                    char c = "{}[]\",:0123456789-.eE \\u\u0000\u00e9\uD83D".charAt(r.nextInt(26));
                    switch (r.nextInt(3)) {
                        case 0 -> h.insert(at, c);
                        case 1 -> h.deleteCharAt(at);
                        default -> h.setCharAt(at, c);
                    }
                }
                yield withHeader(in, h.toString());
            }
            case RANDOM_BYTES -> {
                byte[] out = new byte[r.nextInt(600)];
                r.nextBytes(out);
                if (out.length >= 8 && r.nextBoolean()) // a plausible length field, so the header parser sees noise
                    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, r.nextInt(out.length - 7));
                if (out.length >= 9 && r.nextBoolean()) out[8] = '{';
                yield out;
            }
            case SPLICE -> {
                byte[] other = seeds.get(r.nextInt(seeds.size()));
                int otherHeader = (int) ByteBuffer.wrap(other).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                byte[] out = Arrays.copyOf(in, 8 + headerLen + (other.length - 8 - otherHeader));
                System.arraycopy(other, 8 + otherHeader, out, 8 + headerLen, other.length - 8 - otherHeader);
                yield out;
            }
            default -> jsonEdit(m, in, r);
        };
    }

    private static byte[] flip(byte[] b, int from, int to, int bits, Random r) {
        for (int i = 0; i < bits && to > from; i++) {
            int at = from + r.nextInt(to - from);
            b[at] ^= (byte) (1 << r.nextInt(8));
        }
        return b;
    }

    private static String header(byte[] in) {
        int n = (int) ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new String(in, 8, n, StandardCharsets.UTF_8);
    }

    /** Same data, a new header (with a length field that matches it, so the JSON is what gets tested). */
    private static byte[] withHeader(byte[] in, String header) {
        int n = (int) ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return RawSafetensors.bytes(h.length, h, Arrays.copyOfRange(in, 8 + n, in.length));
    }

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** A random odd JSON value: wrong types, huge or negative numbers, deep nesting. */
    private static JsonNode oddValue(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> F.numberNode(r.nextLong());
            case 1 -> F.numberNode(-1 - r.nextInt(10));
            case 2 -> F.numberNode(new BigInteger(1 + r.nextInt(80), r));
            case 3 -> F.numberNode(r.nextDouble() * 10);
            case 4 -> F.textNode(Integer.toString(r.nextInt(10)));
            case 5 -> F.nullNode();
            case 6 -> F.booleanNode(r.nextBoolean());
            case 7 -> {
                JsonNode deep = F.arrayNode();
                for (int d = 0, depth = r.nextInt(200); d < depth; d++) deep = F.arrayNode().add(deep);
                yield deep;
            }
            case 8 -> F.objectNode().put("x", 1);
            case 9 -> F.numberNode(Integer.MAX_VALUE + (long) r.nextInt(3));
            case 10 -> F.textNode("\u0000\uFFFF" + "x".repeat(r.nextInt(500)));
            default -> F.numberNode(r.nextInt(64));
        };
    }

    private static byte[] jsonEdit(Mutation m, byte[] in, Random r) {
        ObjectNode root;
        try {
            root = (ObjectNode) Json.parse(header(in));
        } catch (IOException e) {
            throw new AssertionError("seed header does not parse", e);
        }
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("__metadata__")) names.add(k);
        }
        String extraText = null;
        if (names.isEmpty() && m != Mutation.METADATA && m != Mutation.ODD_JSON) {
            ObjectNode e = root.putObject("new");
            e.put("dtype", "F32");
            e.putArray("shape").add(1);
            e.putArray("data_offsets").add(0).add(4);
            names.add("new");
        }
        String name = names.isEmpty() ? null : names.get(r.nextInt(names.size()));
        ObjectNode entry = name == null ? null : (ObjectNode) root.get(name);
        switch (m) {
            case OFFSETS -> {
                ArrayNode off = (ArrayNode) entry.get("data_offsets");
                int which = r.nextInt(2);
                long cur = off.get(which).longValue();
                if (r.nextBoolean()) off.set(which, F.numberNode(cur + r.nextInt(9) - 4));
                else off.set(which, oddValue(r));
            }
            case OVERLAP -> {
                ObjectNode other = (ObjectNode) root.get(names.get(r.nextInt(names.size())));
                entry.set("data_offsets", other.get("data_offsets").deepCopy());
            }
            case DTYPE -> {
                String[] dtypes = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL",
                        "F8_E4M3", "F8_E5M2", "U16", "U32", "U64", "C64", "", "f32", "F32\u0000", "FLOAT"};
                if (r.nextInt(5) == 0) entry.set("dtype", oddValue(r));
                else entry.put("dtype", dtypes[r.nextInt(dtypes.length)]);
            }
            case SHAPE -> {
                ArrayNode shape = (ArrayNode) entry.get("shape");
                switch (r.nextInt(4)) {
                    case 0 -> shape.add(1 + r.nextInt(3));
                    case 1 -> { if (!shape.isEmpty()) shape.remove(shape.size() - 1); }
                    case 2 -> { if (!shape.isEmpty()) shape.set(r.nextInt(shape.size()), oddValue(r)); else shape.add(oddValue(r)); }
                    default -> entry.set("shape", oddValue(r));
                }
            }
            case SWAP_SHAPES -> {
                ObjectNode other = (ObjectNode) root.get(names.get(r.nextInt(names.size())));
                JsonNode s = entry.get("shape");
                entry.set("shape", other.get("shape"));
                other.set("shape", s);
            }
            case METADATA -> {
                switch (r.nextInt(4)) {
                    case 0 -> root.set("__metadata__", oddValue(r));
                    case 1 -> root.putObject("__metadata__").set("k", oddValue(r));
                    case 2 -> root.putObject("__metadata__").put("k", "v".repeat(r.nextInt(100)));
                    default -> root.putObject("__metadata__").putObject("nested").put("a", "b");
                }
            }
            case ODD_JSON -> {
                if (name != null && r.nextBoolean()) root.set(name, oddValue(r));
                else root.set("odd" + r.nextInt(100), oddValue(r));
            }
            case DROP_OR_ADD_FIELD -> {
                String[] fields = {"dtype", "shape", "data_offsets"};
                if (r.nextBoolean()) entry.remove(fields[r.nextInt(3)]);
                else entry.set("extra", oddValue(r));
            }
            case DUPLICATE_KEY -> {
                // Jackson trees cannot hold duplicates: add one in the text
                String text = Json.MAPPER.valueToTree(root).toString();
                String dup = "\"" + name + "\":" + entry + ",";
                extraText = "{" + dup + text.substring(1);
            }
            case RENAME -> {
                root.remove(name);
                String[] newNames = {"", "__metadata", "é/ü", "a".repeat(1 + r.nextInt(300)), "x\u0000y", name + "2"};
                root.set(newNames[r.nextInt(newNames.length)], entry);
            }
            default -> throw new IllegalStateException("not a JSON mutation: " + m);
        }
        String text = extraText != null ? extraText : root.toString();
        if (r.nextBoolean()) text = text + " ".repeat(r.nextInt(8));
        return withHeader(in, text);
    }
}
