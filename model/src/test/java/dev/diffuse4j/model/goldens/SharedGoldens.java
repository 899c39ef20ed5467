package dev.diffuse4j.model.goldens;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared goldens folder, from the d4j.shared system property (set by surefire). */
public final class SharedGoldens {
    private SharedGoldens() {}

    /** The goldens folder; the test is skipped, with the reason, when it is not there. */
    public static Path dir() {
        String shared = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(shared != null, "d4j.shared is not set: no goldens folder to test against");
        Path dir = Path.of(shared, "goldens");
        Assumptions.assumeTrue(Files.isRegularFile(dir.resolve("manifest.json")), "no goldens at " + dir + " (set -Dd4j.shared)");
        return dir;
    }
}
