package dev.diffuse4j.model.goldens;

import dev.diffuse4j.runtime.Device;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every case of the shared goldens folder, on the CPU, through the same runner the
 * {@code d4j goldens} command uses: each must pass (a kind with no runner fails).
 */
class GoldensTest {
    @TestFactory
    Stream<DynamicTest> everyCasePasses() throws IOException {
        Path dir = SharedGoldens.dir();
        return Goldens.cases(dir).stream().map(c -> DynamicTest.dynamicTest(c.name() + " (" + c.kind() + ")", () -> {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            Goldens.Report r;
            try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
                r = Goldens.run(dir, Device.CPU, List.of(c.name()), out);
            }
            String text = buf.toString(StandardCharsets.UTF_8);
            System.out.print(text);
            assertTrue(r.allPassed(), text);
        }));
    }
}
