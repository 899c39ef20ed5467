package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.Png;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.diffuse4j.cli.GenerateCommandTest.assertRefused;
import static dev.diffuse4j.cli.GenerateCommandTest.concat;
import static dev.diffuse4j.cli.GenerateCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code d4j self-cross} end to end on the tiny fake SD1.5. */
class SelfCrossCommandTest {
    @TempDir
    Path tmp;

    static final String[] COMMON = {"--fake-weights", "tiny-sd15", "--steps", "4", "--size", "64", "--seed", "3", "--prompt", "a cat and a frog"};

    @Test
    void guidedImageShowsTheLossAndScaleZeroIsPlainGenerate() throws Exception {
        Path guided = tmp.resolve("guided.png"), plain = tmp.resolve("plain.png"), zero = tmp.resolve("zero.png");
        GenerateCommandTest.Run r = run(concat(new String[]{"self-cross", "--subjects", "cat,frog", "--max-refinement", "2",
                "--out", guided.toString()}, COMMON));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains(guided.toString()), r.out());
        assertTrue(r.err().contains("initial noise round 1 iter 1: loss"), r.err());
        assertTrue(r.err().matches("(?s).*self-cross \\[.*\\] \\d/4 .*loss \\d\\.\\d{4} \\(response.*"), "progress shows the loss: " + r.err());
        String params = Png.readText(Files.readAllBytes(guided)).get("parameters");
        assertTrue(params.contains("Guidance: self-cross (subject tokens [5,16]"), params);

        assertEquals(0, run(concat(new String[]{"generate", "--out", plain.toString()}, COMMON)).exit());
        GenerateCommandTest.Run z = run(concat(new String[]{"self-cross", "--subjects", "cat,frog", "--scale-factor", "0", "--out", zero.toString()}, COMMON));
        assertEquals(0, z.exit(), z.err());
        assertArrayEquals(Images.read(plain).rgb(), Images.read(zero).rgb(), "scale factor 0 is plain generation");
        assertFalse(Arrays.equals(Images.read(plain).rgb(), Images.read(guided).rgb()), "guidance changed the image");
    }

    @Test
    void attendAndExciteWithIndicesOnEuler() {
        Path out = tmp.resolve("ae.png");
        GenerateCommandTest.Run r = run(concat(new String[]{"self-cross", "--method", "attend-and-excite", "--subject-indices", "5,16", "--sampler", "euler",
                "--max-refinement", "1", "--out", out.toString()}, COMMON));
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("initial noise"), "A&E has no initial-noise stage: " + r.err());
        assertTrue(Files.exists(out));
    }

    @Test
    void badSubjectsAreRefusedClearly() {
        Path out = tmp.resolve("x.png");
        assertRefused(run(concat(new String[]{"self-cross", "--subjects", "cat,dog", "--out", out.toString()}, COMMON)), "subject 'dog' is not among the tokens");
        assertRefused(run(concat(new String[]{"self-cross", "--subject-indices", "2,99", "--out", out.toString()}, COMMON)), "subject index 99");
        assertRefused(run(concat(new String[]{"self-cross", "--out", out.toString()}, COMMON)), "--subjects");
        assertRefused(run(concat(new String[]{"self-cross", "--subjects", "cat", "--subject-indices", "2", "--out", out.toString()}, COMMON)), "one of the two");
        assertRefused(run(concat(new String[]{"self-cross", "--subjects", "cat,frog", "--method", "magic", "--out", out.toString()}, COMMON)), "magic");
        assertRefused(run(concat(new String[]{"self-cross", "--subjects", "cat,frog", "--scale-factor", "-1", "--out", out.toString()}, COMMON)), "scale factor");
        assertFalse(Files.exists(out), "nothing written on refusal");
    }
}
