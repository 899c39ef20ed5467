package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.Png;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code d4j generate} end to end on the tiny fake model, and its refusals. */
class GenerateCommandTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        PrintWriter pout = new PrintWriter(out, true), perr = new PrintWriter(err, true);
        cl.setOut(pout);
        cl.setErr(perr);
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generatesPngsWithParametersAndTheSameSeedGivesTheSameBytes() throws Exception {
        Path a = tmp.resolve("a.png"), b = tmp.resolve("b.png");
        String[] common = {"generate", "--fake-weights", "tiny-sd15", "--prompt", "a red fox", "--steps", "3", "--size", "64", "--seed", "9"};
        Run r1 = run(concat(common, "--out", a.toString()));
        assertEquals(0, r1.exit(), r1.err());
        Run r2 = run(concat(common, "--out", b.toString()));
        assertEquals(0, r2.exit(), r2.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        String params = Png.readText(Files.readAllBytes(a)).get("parameters");
        assertTrue(params.startsWith("a red fox\nSteps: 3, Sampler: ddim, CFG scale: 7.5, Seed: 9, Size: 64x64"), params);
        assertTrue(r1.err().contains("3/3"), "progress bar reports steps: " + r1.err());
    }

    @Test
    void severalImagesGoToAFolder() {
        Path dir = tmp.resolve("out");
        Run r = run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "--steps", "1", "--size", "64", "-n", "2", "--out", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.exists(dir.resolve("0001.png")) && Files.exists(dir.resolve("0002.png")));
    }

    @Test
    void badArgumentsGiveAClearErrorAndANonZeroExit() {
        Path out = tmp.resolve("x.png");
        assertRefused(run("generate", "--prompt", "x", "--out", out.toString()), "no model given");
        assertRefused(run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "--size", "65", "--out", out.toString()), "multiple");
        assertRefused(run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "--sampler", "nope", "--out", out.toString()), "nope");
        assertRefused(run("generate", "--fake-weights", "huge", "--prompt", "x", "--out", out.toString()), "tiny-sd15");
        assertRefused(run("generate", "--model", tmp.resolve("missing").toString(), "--prompt", "x", "--out", out.toString()), "neither an existing path");
        assertRefused(run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "-n", "2", "--out", out.toString()), "give a folder");
        assertRefused(run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "--dtype", "f64", "--out", out.toString()), "auto, f32, f16 or bf16");
        assertRefused(run("generate", "--fake-weights", "tiny-sd15", "--prompt", "x", "--cuda-gemm", "wgmma", "--out", out.toString()),
                "--cuda-gemm applies to --backend cuda only");
        Run missing = run("generate", "--fake-weights", "tiny-sd15");
        assertNotEquals(0, missing.exit());
        assertTrue(missing.err().contains("--prompt") && missing.err().contains("--out"), missing.err());
        assertFalse(Files.exists(out), "nothing written on refusal");
    }

    /** F16/BF16 activations on the CPU round each op's result: the image stays close to the F32 one, not equal to it. */
    @Test
    void halfPrecisionActivationsGiveNearlyTheSameImage() throws Exception {
        String[] common = {"generate", "--fake-weights", "tiny-sd15", "--prompt", "a red fox", "--steps", "3", "--size", "64", "--seed", "9"};
        double[] meanAbs = new double[2];
        String[] halves = {"f16", "bf16"};
        Path ref = tmp.resolve("f32.png");
        assertEquals(0, run(concat(common, "--dtype", "f32", "--out", ref.toString())).exit());
        byte[] expected = Images.read(ref).rgb();
        for (int i = 0; i < 2; i++) {
            Path p = tmp.resolve(halves[i] + ".png");
            Run r = run(concat(common, "--dtype", halves[i], "--out", p.toString()));
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.err().contains(halves[i].toUpperCase()), "the log names the activation type: " + r.err());
            byte[] got = Images.read(p).rgb();
            assertEquals(expected.length, got.length);
            long sum = 0;
            for (int k = 0; k < got.length; k++) sum += Math.abs((got[k] & 0xFF) - (expected[k] & 0xFF));
            meanAbs[i] = (double) sum / got.length;
        }
        System.out.printf("mean |diff| vs F32, levels of 255: f16 %.3f, bf16 %.3f%n", meanAbs[0], meanAbs[1]);
        // F16 keeps 11 significant bits, BF16 8: errors of ~1e-3 and ~8e-3 relative per op, a few levels of 255 after 3 steps.
        assertTrue(meanAbs[0] > 0 && meanAbs[0] < 1.0, "f16 mean |diff| " + meanAbs[0] + " levels");
        assertTrue(meanAbs[1] > meanAbs[0] && meanAbs[1] < 6.0, "bf16 mean |diff| " + meanAbs[1] + " levels (f16: " + meanAbs[0] + ")");
    }

    @Test
    void helpListsEveryCommand() {
        Run r = run("--help");
        assertEquals(0, r.exit());
        for (String c : new String[]{"generate", "inspect", "goldens"}) assertTrue(r.out().contains(c), c + " in " + r.out());
    }

    static void assertRefused(Run r, String expected) {
        assertNotEquals(0, r.exit(), "exit code for: " + r.err());
        assertTrue(r.err().contains(expected), "'" + expected + "' in: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace for a user error: " + r.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
