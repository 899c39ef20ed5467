package dev.diffuse4j.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.SafetensorsFormatException.Rule;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed and fully validated JSON header of a safetensors file: every tensor's dtype, shape and
 * byte range, and the string metadata. Validation follows the reference reader (safetensors'
 * {@code read_metadata}/{@code validate}): entries well-typed, sizes consistent with overflow checks,
 * and the byte ranges tiling the data area exactly, in offset order.
 */
public final class SafetensorsHeader {
    /** The reference reader's bound on the header length. */
    public static final int MAX_HEADER_BYTES = 100_000_000;

    static final String METADATA_KEY = "__metadata__";

    /** dtypes of the format that the runtime has no type for: recognised, then refused by name. */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of(
            "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4", "F6_E2M3", "F6_E3M2",
            "U16", "U32", "U64", "C64", "C128", "I4", "U4");

    /** One tensor's entry: where its bytes lie in the data area (begin inclusive, end exclusive). */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public int[] shape() { return shape.clone(); }

        public long byteLength() { return end - begin; }

        public TensorInfo info() { return new TensorInfo(name, dtype, shape); }

        @Override
        public String toString() { return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")"; }
    }

    private final List<Entry> entries;          // in offset order
    private final Map<String, Entry> byName;
    private final Map<String, String> metadata;

    private SafetensorsHeader(List<Entry> entries, Map<String, String> metadata) {
        this.entries = List.copyOf(entries);
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : entries) m.put(e.name(), e);
        this.byName = Collections.unmodifiableMap(m);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Entries in data-offset order. */
    public List<Entry> entries() { return entries; }

    /** Name -> entry, iterating in data-offset order. */
    public Map<String, Entry> byName() { return byName; }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() { return metadata; }

    /**
     * Parses and validates a header.
     *
     * @param file       the file's name, for messages
     * @param json       the header bytes (N bytes after the length prefix)
     * @param dataLength the size of the data area (file length - 8 - N)
     */
    public static SafetensorsHeader parse(String file, byte[] json, long dataLength) {
        String text = decodeUtf8(file, json);
        if (text.isEmpty() || text.charAt(0) != '{')
            throw new SafetensorsFormatException(file, null, Rule.HEADER_NOT_OBJECT,
                    text.isEmpty() ? "the header is empty" : "the header starts with " + describeChar(text.charAt(0)) + ", not '{'");
        JsonNode root;
        try {
            root = Json.parse(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(file, null, Rule.HEADER_NOT_JSON, "the header is not valid JSON: " + oneLine(e.getOriginalMessage()));
        } catch (StackOverflowError e) {
            // Not expected (nesting is bounded by Json.MAX_DEPTH), but a hostile header must never escape as an Error.
            throw new SafetensorsFormatException(file, null, Rule.HEADER_NOT_JSON, "the header nests too deeply");
        }
        if (root == null || !root.isObject())
            throw new SafetensorsFormatException(file, null, Rule.HEADER_NOT_OBJECT, "the header is a JSON " + (root == null ? "nothing" : root.getNodeType()));

        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>(root.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals(METADATA_KEY)) readMetadata(file, f.getValue(), metadata);
            else entries.add(readEntry(file, f.getKey(), f.getValue(), dataLength));
        }
        checkTiling(file, entries, dataLength);
        return new SafetensorsHeader(entries, metadata);
    }

    private static String decodeUtf8(String file, byte[] json) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(json)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(file, null, Rule.HEADER_NOT_UTF8, "the header is not valid UTF-8 (" + e + ")");
        }
    }

    private static void readMetadata(String file, JsonNode node, Map<String, String> out) {
        if (!node.isObject())
            throw new SafetensorsFormatException(file, null, Rule.BAD_METADATA, "__metadata__ is a JSON " + node.getNodeType() + ", not an object");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual())
                throw new SafetensorsFormatException(file, null, Rule.BAD_METADATA, "__metadata__ entry \""
                        + SafetensorsFormatException.printable(f.getKey()) + "\" is a JSON " + f.getValue().getNodeType() + ", not a string");
            out.put(f.getKey(), f.getValue().textValue());
        }
    }

    private static Entry readEntry(String file, String name, JsonNode node, long dataLength) {
        if (!node.isObject())
            throw new SafetensorsFormatException(file, name, Rule.BAD_ENTRY, "the entry is a JSON " + node.getNodeType() + ", not an object");
        JsonNode dt = node.get("dtype"), sh = node.get("shape"), off = node.get("data_offsets");
        if (dt == null || sh == null || off == null)
            throw new SafetensorsFormatException(file, name, Rule.BAD_ENTRY, "the entry lacks "
                    + (dt == null ? "dtype" : sh == null ? "shape" : "data_offsets"));
        if (!dt.isTextual())
            throw new SafetensorsFormatException(file, name, Rule.BAD_ENTRY, "dtype is a JSON " + dt.getNodeType() + ", not a string");
        DType dtype = dtype(file, name, dt.textValue());

        if (!sh.isArray())
            throw new SafetensorsFormatException(file, name, Rule.BAD_ENTRY, "shape is a JSON " + sh.getNodeType() + ", not an array");
        int[] shape = new int[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber())
                throw new SafetensorsFormatException(file, name, Rule.BAD_SHAPE, "shape[" + i + "] is " + oneLine(d.toString()) + ", not an integer");
            if (d.bigIntegerValue().signum() < 0)
                throw new SafetensorsFormatException(file, name, Rule.BAD_SHAPE, "shape[" + i + "] = " + oneLine(d.toString()) + " is negative");
            if (!d.canConvertToInt())
                throw new SafetensorsFormatException(file, name, Rule.BAD_SHAPE, "shape[" + i + "] = " + oneLine(d.toString()) + " is larger than 2^31-1");
            shape[i] = d.intValue();
        }

        if (!off.isArray() || off.size() != 2)
            throw new SafetensorsFormatException(file, name, Rule.BAD_ENTRY, "data_offsets is " + oneLine(off.toString()) + ", not [begin, end]");
        long begin = offset(file, name, off.get(0), "begin");
        long end = offset(file, name, off.get(1), "end");
        if (end < begin)
            throw new SafetensorsFormatException(file, name, Rule.BAD_OFFSETS, "data_offsets [" + begin + ", " + end + "] end before begin");

        long bytes = dtype.byteSize();
        try {
            for (int s : shape) bytes = Math.multiplyExact(bytes, (long) s);
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(file, name, Rule.SIZE_OVERFLOW, "shape " + Arrays.toString(shape) + " x " + dtype.byteSize() + " bytes overflows 64 bits");
        }
        if (bytes != end - begin)
            throw new SafetensorsFormatException(file, name, Rule.SIZE_MISMATCH, dtype + Arrays.toString(shape) + " needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        if (end > dataLength)
            throw new SafetensorsFormatException(file, name, Rule.OUT_OF_BOUNDS, "data_offsets [" + begin + ", " + end
                    + "] reach past the data area of " + dataLength + " bytes");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static DType dtype(String file, String name, String text) {
        DType d = DType.fromSafetensorsName(text);
        if (d != null) return d;
        if (KNOWN_UNSUPPORTED.contains(text))
            throw new SafetensorsFormatException(file, name, Rule.UNSUPPORTED_DTYPE, "dtype " + text
                    + " is not supported by diffuse4j; convert the checkpoint to F16, BF16 or F32 first");
        throw new SafetensorsFormatException(file, name, Rule.UNKNOWN_DTYPE, "dtype \"" + SafetensorsFormatException.printable(text) + "\" is unknown");
    }

    private static long offset(String file, String name, JsonNode n, String which) {
        if (!n.isIntegralNumber())
            throw new SafetensorsFormatException(file, name, Rule.BAD_OFFSETS, "data_offsets " + which + " is " + oneLine(n.toString()) + ", not an integer");
        if (n.bigIntegerValue().signum() < 0)
            throw new SafetensorsFormatException(file, name, Rule.BAD_OFFSETS, "data_offsets " + which + " = " + oneLine(n.toString()) + " is negative");
        if (!n.canConvertToLong())
            throw new SafetensorsFormatException(file, name, Rule.BAD_OFFSETS, "data_offsets " + which + " = " + oneLine(n.toString()) + " does not fit in 64 bits");
        return n.longValue();
    }

    /** Sorted by offset, each tensor must start where the previous one ended, from 0 to the end of the data. */
    private static void checkTiling(String file, List<Entry> entries, long dataLength) {
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end).thenComparing(Entry::name));
        long expected = 0;
        String previous = null;
        for (Entry e : entries) {
            if (e.begin() != expected)
                throw new SafetensorsFormatException(file, e.name(), Rule.NOT_CONTIGUOUS, "data_offsets [" + e.begin() + ", " + e.end() + "] "
                        + (e.begin() < expected ? "overlap" : "leave a gap after")
                        + (previous == null ? " the start of the data area" : " tensor \"" + SafetensorsFormatException.printable(previous) + "\"")
                        + ", which ends at " + expected);
            expected = e.end();
            previous = e.name();
        }
        if (expected != dataLength)
            throw new SafetensorsFormatException(file, previous, Rule.INCOMPLETE_DATA, (previous == null ? "the file has no tensors" : "the last tensor ends at " + expected)
                    + " but the data area holds " + dataLength + " bytes");
    }

    private static String describeChar(char c) {
        return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
    }

    private static String oneLine(String s) {
        if (s == null) return "";
        return SafetensorsFormatException.printable(s.replace('\n', ' ').replace('\r', ' '));
    }
}
