package dev.diffuse4j.attention;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The authors' torch.save ranking archives, rebuilt here from the JSON copies, read without running anything. */
class TorchRankingTest {
    @TempDir
    Path dir;

    static Path published(String name) {
        String shared = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(shared != null, "d4j.shared is not set");
        Path p = Path.of(shared, "reference/conditional-balance", name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "no published ranking at " + p);
        return p;
    }

    /** The JSON's structure as Python would hold it: int timesteps; q as numpy float64 scalars, k and v as floats. */
    static Map<String, Object> pythonStructure(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        List<Object> names = new ArrayList<>();
        root.get("layer_names").forEach(n -> names.add(n.asText()));
        Map<Object, Object> stats = new LinkedHashMap<>();
        for (var it = root.get("stats").fields(); it.hasNext(); ) {
            var e = it.next();
            Map<Object, Object> s = new LinkedHashMap<>();
            for (var f = e.getValue().fields(); f.hasNext(); ) {
                var g = f.next();
                List<Object> xs = new ArrayList<>();
                for (JsonNode x : g.getValue()) xs.add(g.getKey().equals("q") ? new PickleWriter.NumpyDouble(x.asDouble()) : (Object) x.asDouble());
                s.put(g.getKey(), xs);
            }
            stats.put(Integer.parseInt(e.getKey()), s);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("layer_names", names);
        out.put("stats", stats);
        return out;
    }

    static void assertSameRanking(LayerRanking expected, LayerRanking actual) {
        assertEquals(expected.layerNames(), actual.layerNames());
        assertEquals(expected.timesteps(), actual.timesteps());
        for (int t : expected.timesteps()) {
            LayerRanking.Scores a = expected.at(t), b = actual.at(t);
            assertArrayEquals(a.q(), b.q(), 0.0, "q at t=" + t);
            assertArrayEquals(a.k(), b.k(), 0.0, "k at t=" + t);
            if (a.v() == null) assertNull(b.v());
            else assertArrayEquals(a.v(), b.v(), 0.0, "v at t=" + t);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4})
    void publishedArchivesReadAsTheirJsonCopies(int protocol) throws IOException {
        for (String name : new String[]{"style_layer_grading.json", "style_balance_grading_v.json"}) {
            Path json = published(name);
            Path archive = dir.resolve(name.replace(".json", "-p" + protocol));
            PickleWriter.writeArchive(archive, "combined", PickleWriter.pickle(pythonStructure(json), protocol));
            LayerRanking fromJson = LayerRanking.read(json), fromTorch = LayerRanking.read(archive);
            assertSameRanking(fromJson, fromTorch);
            assertEquals(70, fromTorch.layerNames().size());
            assertFalse(fromTorch.layerNames().getFirst().endsWith(".processor"));
        }
    }

    @Test
    void ourJsonWriterRoundTrips() throws IOException {
        LayerRanking r = LayerRanking.read(published("style_balance_grading_v.json"));
        Path out = dir.resolve("copy.json");
        r.write(out);
        assertSameRanking(r, LayerRanking.read(out));
    }

    @Test
    void numpyScalarsOfOtherWidthsAndByteOrdersDecode() throws IOException {
        // numpy.dtype('f4') big-endian 1.5, 'i8' little-endian -3, 'f2' 0.25, via protocol-4 opcodes written by hand
        byte[] p = concat(new byte[]{(byte) 0x80, 4, ']', (byte) 0x94, '('},
                scalar("f4", ">", new byte[]{0x3f, (byte) 0xc0, 0, 0}),
                scalar("i8", "<", new byte[]{(byte) 0xfd, -1, -1, -1, -1, -1, -1, -1}),
                scalar("f2", "<", new byte[]{0, 0x34}),
                new byte[]{'e', '.'});
        assertEquals(List.of(1.5, -3L, 0.25), RestrictedUnpickler.load(p, "hand"));
    }

    @Test
    void plainPythonValuesDecode() throws IOException {
        // [(None,), True, 2**70, -1] with TUPLE1, NEWTRUE and LONG1
        byte[] p = {(byte) 0x80, 2, ']', '(', 'N', (byte) 0x85, (byte) 0x88, (byte) 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40,
                (byte) 0x8a, 1, (byte) 0xff, 'e', '.'};
        assertEquals(Arrays.asList(java.util.Collections.singletonList(null), true, java.math.BigInteger.ONE.shiftLeft(70), -1L),
                RestrictedUnpickler.load(p, "hand"));
    }

    private static byte[] scalar(String code, String order, byte[] raw) {
        return concat(str("numpy.core.multiarray"), str("scalar"), new byte[]{(byte) 0x93},
                str("numpy"), str("dtype"), new byte[]{(byte) 0x93}, str(code), new byte[]{(byte) 0x89, (byte) 0x88, (byte) 0x87, 'R', '('},
                new byte[]{'K', 3}, str(order), new byte[]{'N', 'N', 'N', 'K', 0, 'K', 0, 'K', 0, 't', 'b'},
                new byte[]{'C', (byte) raw.length}, raw, new byte[]{(byte) 0x86, 'R'});
    }

    private static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[]{(byte) 0x8c, (byte) b.length}, b);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private String refusal(byte[] pickle) throws IOException {
        Path f = dir.resolve("hostile-" + Arrays.hashCode(pickle));
        PickleWriter.writeArchive(f, "archive", pickle);
        IOException e = assertThrows(IOException.class, () -> LayerRanking.read(f));
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void codeExecutionGlobalsAreRefusedNamingOffsetAndGlobal() throws IOException {
        // protocol 2: c os\nsystem\n (X 'echo pwned') R .
        byte[] p2 = concat(new byte[]{(byte) 0x80, 2}, "cos\nsystem\n".getBytes(StandardCharsets.US_ASCII), new byte[]{'X', 10, 0, 0, 0},
                "echo pwned".getBytes(StandardCharsets.US_ASCII), new byte[]{(byte) 0x85, 'R', '.'});
        String m = refusal(p2);
        assertTrue(m.contains("offset 2") && m.contains("global os.system is not allowed"), m);
        // protocol 4 STACK_GLOBAL of builtins.eval
        byte[] p4 = concat(new byte[]{(byte) 0x80, 4}, str("builtins"), str("eval"), new byte[]{(byte) 0x93, '.'});
        m = refusal(p4);
        assertTrue(m.contains("global builtins.eval is not allowed"), m);
        // a whitelisted callable applied to something else, and a persistent id (a tensor)
        m = refusal(concat(new byte[]{(byte) 0x80, 2}, "c_codecs\nencode\n".getBytes(StandardCharsets.US_ASCII),
                new byte[]{'X', 1, 0, 0, 0, 'a', 'X', 5, 0, 0, 0}, "utf-8".getBytes(StandardCharsets.US_ASCII), new byte[]{(byte) 0x86, 'R', '.'}));
        assertTrue(m.contains("only (str, 'latin1')"), m);
        m = refusal(new byte[]{(byte) 0x80, 2, ')', 'Q', '.'});
        assertTrue(m.contains("offset 3") && m.contains("persistent id"), m);
        m = refusal(new byte[]{(byte) 0x80, 2, ')', (byte) 0x81, '.'});
        assertTrue(m.contains("opcode 0x81"), m);
    }

    @Test
    void malformedStreamsAndHugeLengthsAreRefused() throws IOException {
        byte[] full = PickleWriter.pickle(Map.of("layer_names", List.of("a"), "stats", Map.of(1, Map.of("q", List.of(0.5), "k", List.of(0.5)))), 2);
        String m = refusal(Arrays.copyOf(full, full.length - 6));
        assertTrue(m.contains("refused pickle at offset"), m);
        m = refusal(new byte[]{(byte) 0x80, 4, 'X', (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 'a', '.'});
        assertTrue(m.contains("length 2147483647 is over"), m);
        m = refusal(new byte[]{(byte) 0x80, 4, (byte) 0x8d, -1, -1, -1, -1, -1, -1, -1, -1, '.'});
        assertTrue(m.contains("is over the"), m);
        m = refusal(new byte[]{(byte) 0x80, 2, 'K', 1, 'K', 2, '.'});
        assertTrue(m.contains("STOP with 2 stack items"), m);
        m = refusal(new byte[]{(byte) 0x80, 2, 'h', 7, '.'});
        assertTrue(m.contains("memo entry 7"), m);
        m = refusal(new byte[]{(byte) 0x80, 2, 'e', '.'});
        assertTrue(m.contains("APPENDS without MARK"), m);
        // well-formed pickle, wrong structure
        m = refusal(PickleWriter.pickle(List.of(1, 2), 2));
        assertTrue(m.contains("expected a dict"), m);
    }

    @Test
    void badZipsAreRefused() throws IOException {
        Path truncated = dir.resolve("truncated.pt");
        PickleWriter.writeArchive(truncated, "archive", PickleWriter.pickle(List.of(1), 2));
        byte[] b = Files.readAllBytes(truncated);
        Files.write(truncated, Arrays.copyOf(b, 40));
        IOException e = assertThrows(IOException.class, () -> LayerRanking.read(truncated));
        assertTrue(e.getMessage().contains(truncated.toString()), e.getMessage());
        Path noPickle = dir.resolve("nopickle.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(noPickle))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("archive/version"));
            zip.write('3');
        }
        e = assertThrows(IOException.class, () -> LayerRanking.read(noPickle));
        assertTrue(e.getMessage().contains("expected one <archive>/data.pkl entry"), e.getMessage());
    }

    @Test
    void zipBombsAreCutAtTheLimit() throws IOException {
        // a deflated data.pkl of 65 MiB of MARKs: tiny on disk, refused before it is all inflated
        Path bomb = dir.resolve("bomb.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(bomb))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            byte[] chunk = new byte[1 << 20];
            Arrays.fill(chunk, (byte) '(');
            for (int i = 0; i < 65; i++) zip.write(chunk);
        }
        assertTrue(Files.size(bomb) < 1 << 20);
        IOException e = assertThrows(IOException.class, () -> LayerRanking.read(bomb));
        assertTrue(e.getMessage().contains("larger than"), e.getMessage());
    }
}
