package dev.diffuse4j.model.goldens;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.runtime.Device;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Runs the cases of a goldens folder (its manifest.json) through the {@link GoldenCaseRunner}
 * registered for each case's kind, and reports per case: every output's max abs and relative L2
 * error against the case's tolerances, PASS/FAIL, and the time. A case whose kind has no runner, or
 * whose runner throws, fails with the reason.
 */
public final class Goldens {
    private Goldens() {}

    /** The outcome of one case: its comparisons, or why it could not run. */
    public record CaseResult(String name, String kind, List<Comparison> comparisons, String error, double seconds) {
        public CaseResult {
            comparisons = List.copyOf(comparisons);
        }

        public boolean pass() { return error == null && !comparisons.isEmpty() && comparisons.stream().allMatch(Comparison::pass); }
    }

    public record Report(List<CaseResult> cases) {
        public Report {
            cases = List.copyOf(cases);
        }

        public boolean allPassed() { return !cases.isEmpty() && cases.stream().allMatch(CaseResult::pass); }

        public long failures() { return cases.stream().filter(c -> !c.pass()).count(); }
    }

    /** Runners found on the class path, by kind. */
    public static Map<String, GoldenCaseRunner> runners() {
        Map<String, GoldenCaseRunner> out = new HashMap<>();
        for (GoldenCaseRunner r : ServiceLoader.load(GoldenCaseRunner.class))
            for (String k : r.kinds()) out.putIfAbsent(k, r);
        return out;
    }

    /** The cases of a folder's manifest, in manifest order. */
    public static List<GoldenCase> cases(Path dir) throws IOException {
        Path manifest = dir.resolve("manifest.json");
        if (!Files.isRegularFile(manifest)) throw new IOException("no manifest.json in " + dir);
        JsonNode root = new ObjectMapper().readTree(manifest.toFile());
        JsonNode cases = root.path("cases");
        if (!cases.isArray()) throw new IOException(manifest + " has no \"cases\" list");
        List<GoldenCase> out = new ArrayList<>();
        for (JsonNode c : cases) out.add(new GoldenCase(dir, c));
        return out;
    }

    /**
     * Runs the cases (all of them when {@code only} is empty; a name that matches no case is reported
     * as a failed case), printing one block per case to {@code out}.
     */
    public static Report run(Path dir, Device device, Collection<String> only, PrintStream out) throws IOException {
        List<GoldenCase> all = cases(dir);
        Set<String> wanted = new LinkedHashSet<>(only), unmatched = new LinkedHashSet<>(only);
        Map<String, GoldenCaseRunner> runners = runners();
        List<CaseResult> results = new ArrayList<>();
        out.printf(Locale.ROOT, "goldens %s on %s: %d case(s)%n", dir, device, wanted.isEmpty() ? all.size() : wanted.size());
        for (GoldenCase gc : all) {
            if (!wanted.isEmpty() && !wanted.contains(gc.name())) continue;
            unmatched.remove(gc.name());
            CaseResult r = runOne(gc, runners.get(gc.kind()), device);
            print(r, out);
            results.add(r);
        }
        for (String missing : unmatched) {
            CaseResult r = new CaseResult(missing, "?", List.of(), "no case named " + missing + " in " + dir.resolve("manifest.json"), 0);
            print(r, out);
            results.add(r);
        }
        Report report = new Report(results);
        out.printf(Locale.ROOT, "%s: %d of %d case(s) passed%n", report.allPassed() ? "PASS" : "FAIL",
                results.size() - report.failures(), results.size());
        return report;
    }

    private static CaseResult runOne(GoldenCase gc, GoldenCaseRunner runner, Device device) {
        if (runner == null) return new CaseResult(gc.name(), gc.kind(), List.of(), "no runner for kind \"" + gc.kind() + "\"", 0);
        long t0 = System.nanoTime();
        try {
            List<Comparison> cs = runner.run(gc, device);
            double s = (System.nanoTime() - t0) / 1e9;
            if (cs == null || cs.isEmpty()) return new CaseResult(gc.name(), gc.kind(), List.of(), "the runner compared no outputs", s);
            return new CaseResult(gc.name(), gc.kind(), cs, null, s);
        } catch (Exception | OutOfMemoryError | StackOverflowError e) {
            double s = (System.nanoTime() - t0) / 1e9;
            String why = e.getClass().getSimpleName() + ": " + e.getMessage();
            return new CaseResult(gc.name(), gc.kind(), List.of(), why, s);
        }
    }

    private static void print(CaseResult r, PrintStream out) {
        out.printf(Locale.ROOT, "%-4s %-22s %-12s %7.1f s%n", r.pass() ? "PASS" : "FAIL", r.name(), r.kind(), r.seconds());
        if (r.error() != null) out.printf(Locale.ROOT, "       error: %s%n", r.error());
        for (Comparison c : r.comparisons())
            out.printf(Locale.ROOT, "       %-16s max_abs %.3e (tol %.3e)  rel_l2 %.3e (tol %.3e)  %s%n",
                    c.output(), c.maxAbs(), c.tolMaxAbs(), c.relL2(), c.tolRelL2(), c.pass() ? "ok" : "OUT OF TOLERANCE");
    }
}
