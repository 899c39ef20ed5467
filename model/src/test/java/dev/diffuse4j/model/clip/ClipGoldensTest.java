package dev.diffuse4j.model.clip;

import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.GoldenCase;
import dev.diffuse4j.model.goldens.GoldenCaseRunner;
import dev.diffuse4j.model.goldens.Goldens;
import dev.diffuse4j.model.goldens.SharedGoldens;
import dev.diffuse4j.runtime.Device;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the tokenizer and text-encoder goldens through the registered runners, on the CPU. */
class ClipGoldensTest {
    static void runCase(String name, int expectedComparisons) throws Exception {
        Path dir = SharedGoldens.dir();
        GoldenCase c = Goldens.cases(dir).stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
        assertTrue(c != null, "no case " + name + " in " + dir);
        GoldenCaseRunner runner = Goldens.runners().get(c.kind());
        assertTrue(runner != null, "no runner registered for kind " + c.kind());
        long t0 = System.nanoTime();
        List<Comparison> results = runner.run(c, Device.CPU);
        System.out.printf("%s: %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        for (Comparison r : results)
            System.out.printf("  %-36s max_abs %.3g (tol %.3g)  rel_l2 %.3g (tol %.3g)  %s%n",
                    r.output(), r.maxAbs(), r.tolMaxAbs(), r.relL2(), r.tolRelL2(), r.pass() ? "PASS" : "FAIL");
        assertEquals(expectedComparisons, results.size());
        for (Comparison r : results) assertTrue(r.pass(), name + " " + r);
    }

    @Test
    void tokenizer() throws Exception { runCase("clip_tokenizer", 3); }

    @Test
    void clipL() throws Exception { runCase("clip_l_full", 4); }

    @Test
    void openClipBigG() throws Exception { runCase("openclip_bigg_full", 2); }
}
