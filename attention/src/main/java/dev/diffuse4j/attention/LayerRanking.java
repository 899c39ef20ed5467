package dev.diffuse4j.attention;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A per-timestep sensitivity ranking of self-attention layers (Conditional Balance): for each analysed
 * timestep, a score per layer for queries and keys (and optionally values); lower = more
 * style-sensitive. JSON: {@code {"layer_names": [...], "stats": {"981": {"q": [...], "k": [...], "v": [...]}, ...}}},
 * the format of the authors' published rankings converted from their torch archives. {@link #read} also
 * reads those archives themselves ({@code torch.save} zips holding the same structure; see
 * {@link TorchArchive}), choosing the format by the file's content.
 */
public final class LayerRanking {
    /** Scores of one timestep, index-aligned with {@link #layerNames()}; {@code v} may be null. */
    public record Scores(double[] q, double[] k, double[] v) {}

    private final List<String> layerNames;
    private final TreeMap<Integer, Scores> stats;

    public LayerRanking(List<String> layerNames, Map<Integer, Scores> stats) {
        this.layerNames = List.copyOf(layerNames);
        this.stats = new TreeMap<>(stats);
        if (this.stats.isEmpty()) throw new IllegalArgumentException("a layer ranking needs at least one timestep");
        for (var e : this.stats.entrySet()) {
            Scores s = e.getValue();
            check(e.getKey(), "q", s.q());
            check(e.getKey(), "k", s.k());
            if (s.v() != null) check(e.getKey(), "v", s.v());
        }
    }

    private void check(int t, String what, double[] scores) {
        if (scores == null || scores.length != layerNames.size())
            throw new IllegalArgumentException("ranking at t=" + t + ": " + what + " has " + (scores == null ? 0 : scores.length)
                    + " scores for " + layerNames.size() + " layers");
    }

    /** Reads a ranking file: our JSON, or the authors' torch.save archive (told apart by content). */
    public static LayerRanking read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("ranking file " + file + " does not exist");
        byte[] head;
        try (var in = Files.newInputStream(file)) {
            head = in.readNBytes(4);
        }
        return TorchArchive.isZip(head) ? fromPickle(TorchArchive.load(file), file) : readJson(file);
    }

    private static LayerRanking readJson(Path json) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new IOException(json + " is not a JSON layer ranking: " + e.getMessage(), e);
        }
        JsonNode names = root.path("layer_names"), stats = root.path("stats");
        if (!names.isArray() || !stats.isObject())
            throw new IOException(json + ": expected {\"layer_names\": [...], \"stats\": {timestep: {\"q\": [...], \"k\": [...]}}}");
        List<String> layers = new ArrayList<>();
        for (JsonNode n : names) layers.add(layerName(n.asText()));
        Map<Integer, Scores> byT = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = stats.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int t;
            try {
                t = (int) Math.round(Double.parseDouble(e.getKey()));
            } catch (NumberFormatException ex) {
                throw new IOException(json + ": stats key '" + e.getKey() + "' is not a timestep");
            }
            byT.put(t, new Scores(array(e.getValue().path("q")), array(e.getValue().path("k")),
                    e.getValue().has("v") ? array(e.getValue().path("v")) : null));
        }
        return checked(layers, byT, json);
    }

    /** The structure of the authors' archives: {'layer_names': [str], 'stats': {t: {'q': [x], 'k': [x](, 'v')}}}. */
    static LayerRanking fromPickle(Object root, Path file) throws IOException {
        if (!(root instanceof Map<?, ?> m) || !(m.get("layer_names") instanceof List<?> names) || !(m.get("stats") instanceof Map<?, ?> stats))
            throw new IOException(file + ": expected a dict {'layer_names': [...], 'stats': {timestep: {'q': [...], 'k': [...]}}}");
        List<String> layers = new ArrayList<>();
        for (Object n : names) {
            if (!(n instanceof String s)) throw new IOException(file + ": layer name " + n + " is not a string");
            layers.add(layerName(s));
        }
        Map<Integer, Scores> byT = new TreeMap<>();
        for (var e : stats.entrySet()) {
            int t = switch (e.getKey()) {
                case Long l -> Math.toIntExact(l);
                case Double d -> (int) Math.round(d);
                case String s when s.matches("-?\\d+(\\.\\d*)?") -> (int) Math.round(Double.parseDouble(s));
                case null, default -> throw new IOException(file + ": stats key " + e.getKey() + " is not a timestep");
            };
            if (!(e.getValue() instanceof Map<?, ?> s)) throw new IOException(file + ": stats[" + t + "] is not a dict of q/k/v scores");
            byT.put(t, new Scores(numbers(s.get("q"), file, t, "q"), numbers(s.get("k"), file, t, "k"),
                    s.containsKey("v") ? numbers(s.get("v"), file, t, "v") : null));
        }
        return checked(layers, byT, file);
    }

    private static double[] numbers(Object list, Path file, int t, String what) throws IOException {
        if (list == null) return null;
        if (!(list instanceof List<?> l)) throw new IOException(file + ": stats[" + t + "]['" + what + "'] is not a list");
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Number n) || l.get(i) instanceof java.math.BigInteger)
                throw new IOException(file + ": stats[" + t + "]['" + what + "'][" + i + "] = " + l.get(i) + " is not a score");
            out[i] = n.doubleValue();
        }
        return out;
    }

    private static LayerRanking checked(List<String> layers, Map<Integer, Scores> byT, Path file) throws IOException {
        try {
            return new LayerRanking(layers, byT);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** diffusers attn_processors keys end in ".processor"; layers are named without it. */
    private static String layerName(String name) {
        return name.endsWith(".processor") ? name.substring(0, name.length() - ".processor".length()) : name;
    }

    /** Writes the JSON format {@link #read} reads (timesteps ascending, layer names as held). */
    public void write(Path json) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        var root = mapper.createObjectNode();
        var names = root.putArray("layer_names");
        layerNames.forEach(names::add);
        var byT = root.putObject("stats");
        for (var e : stats.entrySet()) {
            var s = byT.putObject(Integer.toString(e.getKey()));
            put(s.putArray("q"), e.getValue().q());
            put(s.putArray("k"), e.getValue().k());
            if (e.getValue().v() != null) put(s.putArray("v"), e.getValue().v());
        }
        mapper.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), root);
    }

    private static void put(com.fasterxml.jackson.databind.node.ArrayNode a, double[] xs) {
        for (double x : xs) a.add(x);
    }

    /** The scores of the analysed timestep {@code t} exactly, or null. */
    public Scores at(int t) { return stats.get(t); }

    private static double[] array(JsonNode a) {
        if (!a.isArray()) return null;
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asDouble();
        return out;
    }

    public List<String> layerNames() { return layerNames; }

    public List<Integer> timesteps() { return List.copyOf(stats.keySet()); }

    /** The scores at the analysed timestep nearest to {@code t} (other schedules map to the nearest key). */
    public Scores nearest(double t) {
        Map.Entry<Integer, Scores> lo = stats.floorEntry((int) Math.floor(t)), hi = stats.ceilingEntry((int) Math.ceil(t));
        if (lo == null) return hi.getValue();
        if (hi == null) return lo.getValue();
        return t - lo.getKey() <= hi.getKey() - t ? lo.getValue() : hi.getValue();
    }

    /**
     * The {@code count} lowest-scoring layers' indices ({@code count = int(lambda * layers)} for a
     * fraction, or lambda itself when above 1, as the authors' code does).
     */
    public static boolean[] lowest(double[] scores, double lambda) {
        int count = lambda > 1 ? (int) lambda : (int) (lambda * scores.length);
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        boolean[] chosen = new boolean[scores.length];
        for (int i = 0; i < Math.min(count, order.length); i++) chosen[order[i]] = true;
        return chosen;
    }

    /** Layer names in ranking order (lowest q score first) at timestep t: a ranked list for {@link Layers#topOfRanking}. */
    public List<String> rankedByQueries(double t) {
        double[] q = nearest(t).q();
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < q.length; i++) idx.add(i);
        idx.sort((a, b) -> Double.compare(q[a], q[b]));
        List<String> out = new ArrayList<>();
        for (int i : idx) out.add(layerNames.get(i));
        return Collections.unmodifiableList(out);
    }
}
