package dev.diffuse4j.weights;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared goldens folder, from the d4j.shared system property that surefire sets. */
final class SharedFiles {
    private SharedFiles() {}

    /** A file under shared/goldens; skips the calling test (with the reason) when it is not there. */
    static Path golden(String name) {
        String root = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(root != null, "system property d4j.shared is not set; golden file " + name + " not available");
        Path p = Path.of(root, "goldens", name);
        Assumptions.assumeTrue(Files.isRegularFile(p), "golden file " + p + " is absent (d4j.shared=" + root + ")");
        return p;
    }
}
