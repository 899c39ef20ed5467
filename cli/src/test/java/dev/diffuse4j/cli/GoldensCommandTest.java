package dev.diffuse4j.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GoldensCommandTest {
    private static Path goldens() {
        String root = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(root != null, "system property d4j.shared is not set");
        Path p = Path.of(root, "goldens");
        Assumptions.assumeTrue(Files.isRegularFile(p.resolve("manifest.json")), "no goldens at " + p);
        return p;
    }

    private static int run(ByteArrayOutputStream buf, String... args) {
        PrintStream old = System.out;
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            return Main.commandLine().execute(args);
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void passingCasesExitZero() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = run(buf, "goldens", goldens().toString(), "--case", "unet_tiny_sd15");
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("PASS unet_tiny_sd15"), text);
    }

    @Test
    void anUnrunnableCaseExitsNonZero() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = run(buf, "goldens", goldens().toString(), "--case", "unet_tiny_sd15", "no_such_case");
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, text);
        assertTrue(text.contains("no case named no_such_case"), text);
    }
}
