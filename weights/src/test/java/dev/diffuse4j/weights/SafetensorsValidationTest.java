package dev.diffuse4j.weights;

import dev.diffuse4j.weights.SafetensorsFormatException.Rule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every rule of the format, broken once each: the error names the file, the tensor and the rule. */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    static Stream<Arguments> brokenHeaders() {
        String ok = entry("ok", "F32", "[1]", "[0,4]");
        return Stream.of(
                // header as a whole
                Arguments.of("not an object", "[1,2]", 0, Rule.HEADER_NOT_OBJECT, null),
                Arguments.of("leading space", " {}", 0, Rule.HEADER_NOT_OBJECT, null),
                Arguments.of("empty header", "", 0, Rule.HEADER_NOT_OBJECT, null),
                Arguments.of("truncated JSON", "{\"a\":{\"dtype\":", 0, Rule.HEADER_NOT_JSON, null),
                Arguments.of("duplicate key", "{" + ok + "," + ok + "}", 4, Rule.HEADER_NOT_JSON, null),
                Arguments.of("trailing object", "{} {}", 0, Rule.HEADER_NOT_JSON, null),
                Arguments.of("deep nesting", "{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0, Rule.HEADER_NOT_JSON, null),
                Arguments.of("NaN literal", "{\"a\":NaN}", 0, Rule.HEADER_NOT_JSON, null),
                // metadata
                Arguments.of("metadata number", "{\"__metadata__\":{\"format\":1}}", 0, Rule.BAD_METADATA, null),
                Arguments.of("metadata array", "{\"__metadata__\":[\"pt\"]}", 0, Rule.BAD_METADATA, null),
                Arguments.of("metadata null", "{\"__metadata__\":{\"a\":null}}", 0, Rule.BAD_METADATA, null),
                // entry structure
                Arguments.of("entry is a number", "{\"t\":5}", 0, Rule.BAD_ENTRY, "t"),
                Arguments.of("no dtype", "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, Rule.BAD_ENTRY, "t"),
                Arguments.of("no shape", "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, Rule.BAD_ENTRY, "t"),
                Arguments.of("no offsets", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, Rule.BAD_ENTRY, "t"),
                Arguments.of("dtype number", "{\"t\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, Rule.BAD_ENTRY, "t"),
                Arguments.of("shape object", "{" + entry("t", "F32", "{}", "[0,4]") + "}", 4, Rule.BAD_ENTRY, "t"),
                Arguments.of("three offsets", "{" + entry("t", "F32", "[1]", "[0,4,8]") + "}", 4, Rule.BAD_ENTRY, "t"),
                // dtypes
                Arguments.of("unknown dtype", "{" + entry("t", "F17", "[1]", "[0,4]") + "}", 4, Rule.UNKNOWN_DTYPE, "t"),
                Arguments.of("fp8", "{" + entry("t", "F8_E4M3", "[4]", "[0,4]") + "}", 4, Rule.UNSUPPORTED_DTYPE, "t"),
                Arguments.of("u32", "{" + entry("t", "U32", "[1]", "[0,4]") + "}", 4, Rule.UNSUPPORTED_DTYPE, "t"),
                Arguments.of("lower-case dtype", "{" + entry("t", "f32", "[1]", "[0,4]") + "}", 4, Rule.UNKNOWN_DTYPE, "t"),
                // shapes
                Arguments.of("negative dim", "{" + entry("t", "F32", "[-1]", "[0,4]") + "}", 4, Rule.BAD_SHAPE, "t"),
                Arguments.of("fractional dim", "{" + entry("t", "F32", "[1.5]", "[0,4]") + "}", 4, Rule.BAD_SHAPE, "t"),
                Arguments.of("string dim", "{" + entry("t", "F32", "[\"1\"]", "[0,4]") + "}", 4, Rule.BAD_SHAPE, "t"),
                Arguments.of("dim over 2^31", "{" + entry("t", "U8", "[3000000000]", "[0,3000000000]") + "}", 4, Rule.BAD_SHAPE, "t"),
                Arguments.of("huge negative dim", "{" + entry("t", "U8", "[-99999999999999999999999]", "[0,4]") + "}", 4, Rule.BAD_SHAPE, "t"),
                // offsets
                Arguments.of("negative begin", "{" + entry("t", "F32", "[1]", "[-4,0]") + "}", 4, Rule.BAD_OFFSETS, "t"),
                Arguments.of("end before begin", "{" + entry("t", "F32", "[0]", "[4,0]") + "}", 4, Rule.BAD_OFFSETS, "t"),
                Arguments.of("string offset", "{" + entry("t", "F32", "[1]", "[\"0\",4]") + "}", 4, Rule.BAD_OFFSETS, "t"),
                Arguments.of("offset past 2^64", "{" + entry("t", "F32", "[1]", "[0,99999999999999999999999]") + "}", 4, Rule.BAD_OFFSETS, "t"),
                Arguments.of("float offset", "{" + entry("t", "F32", "[1]", "[0,4.0]") + "}", 4, Rule.BAD_OFFSETS, "t"),
                // sizes
                Arguments.of("size overflow", "{" + entry("t", "F64", "[2147483647,2147483647,2147483647]", "[0,8]") + "}", 8, Rule.SIZE_OVERFLOW, "t"),
                Arguments.of("size mismatch", "{" + entry("t", "F32", "[2]", "[0,4]") + "}", 4, Rule.SIZE_MISMATCH, "t"),
                Arguments.of("zero-size with bytes", "{" + entry("t", "F32", "[0,3]", "[0,4]") + "}", 4, Rule.SIZE_MISMATCH, "t"),
                Arguments.of("past the data", "{" + entry("t", "F32", "[2]", "[0,8]") + "}", 4, Rule.OUT_OF_BOUNDS, "t"),
                // tiling
                Arguments.of("gap at start", "{" + entry("t", "F32", "[1]", "[4,8]") + "}", 8, Rule.NOT_CONTIGUOUS, "t"),
                Arguments.of("gap between", "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}", 12, Rule.NOT_CONTIGUOUS, "b"),
                Arguments.of("overlap", "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12, Rule.NOT_CONTIGUOUS, "b"),
                Arguments.of("same range twice", "{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[0,4]") + "}", 4, Rule.NOT_CONTIGUOUS, "b"),
                Arguments.of("trailing bytes", "{" + ok + "}", 8, Rule.INCOMPLETE_DATA, "ok"),
                Arguments.of("data but no tensors", "{}", 4, Rule.INCOMPLETE_DATA, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenHeaders")
    void eachRuleIsReportedWithFileTensorAndRule(String what, String header, int dataBytes, Rule rule, String tensor) {
        Path file = RawSafetensors.write(dir.resolve("broken.safetensors"), header, dataBytes);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file).close(), what);
        assertEquals(rule, e.rule(), what + ": " + e.getMessage());
        assertEquals(file.toString(), e.file());
        assertEquals(tensor, e.tensor(), what + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(rule.text()), e.getMessage());
        if (tensor != null) assertTrue(e.getMessage().contains("tensor \"" + tensor + "\""), e.getMessage());
        assertTrue(e.getMessage().length() < 1000, "messages stay readable: " + e.getMessage().length() + " chars");
    }

    @Test
    void fileShorterThanTheLengthField() {
        Path file = RawSafetensors.write(dir.resolve("short.safetensors"), new byte[]{1, 2, 3, 4, 5});
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(Rule.FILE_TOO_SHORT, e.rule());
        assertTrue(e.getMessage().contains("5 bytes") && e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void headerLengthOverTheBound() {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        Path file = RawSafetensors.write(dir.resolve("huge.safetensors"), RawSafetensors.bytes(100_000_001L, h, new byte[0]));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(Rule.HEADER_TOO_LARGE, e.rule());
        assertNull(e.tensor());
        assertTrue(e.getMessage().contains("100000001"), e.getMessage());

        // 2^64 - 1: a negative long, reported as the unsigned number the file holds
        Path neg = RawSafetensors.write(dir.resolve("neg.safetensors"), RawSafetensors.bytes(-1L, h, new byte[0]));
        e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(neg));
        assertEquals(Rule.HEADER_TOO_LARGE, e.rule());
        assertTrue(e.getMessage().contains("18446744073709551615"), e.getMessage());
    }

    @Test
    void headerLengthPastTheEndOfTheFile() {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        Path file = RawSafetensors.write(dir.resolve("cut.safetensors"), RawSafetensors.bytes(1000, h, new byte[0]));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(Rule.HEADER_PAST_END, e.rule());
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
    }

    @Test
    void headerThatIsNotUtf8() {
        byte[] h = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        Path file = RawSafetensors.write(dir.resolve("latin.safetensors"), RawSafetensors.bytes(h.length, h, new byte[0]));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals(Rule.HEADER_NOT_UTF8, e.rule());
    }

    @Test
    void controlCharactersInNamesAreEscapedInMessages() {
        Path file = RawSafetensors.write(dir.resolve("ctl.safetensors"), "{" + entry("a\\nb", "F17", "[1]", "[0,4]") + "}", 4);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertEquals("a\nb", e.tensor());
        assertTrue(e.getMessage().contains("a\\u000ab") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void missingFileAndFolderAreNamed() {
        WeightsException e = assertThrows(WeightsException.class, () -> SafetensorsFile.open(dir.resolve("nope.safetensors")));
        assertTrue(e.getMessage().contains("no such file") && e.getMessage().contains("nope.safetensors"), e.getMessage());
        e = assertThrows(WeightsException.class, () -> SafetensorsFile.open(dir));
        assertTrue(e.getMessage().contains("folder"), e.getMessage());
    }
}
