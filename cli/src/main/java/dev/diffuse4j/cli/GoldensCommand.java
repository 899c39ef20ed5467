package dev.diffuse4j.cli;

import dev.diffuse4j.model.goldens.Goldens;
import dev.diffuse4j.runtime.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code d4j goldens DIR}: runs every case of a goldens folder and reports per case; exit 1 on any failure. */
@Command(name = "goldens", mixinStandardHelpOptions = true,
        description = "Run the reference cases of a goldens folder (manifest.json) and report errors per case.")
final class GoldensCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "folder holding manifest.json and the case files")
    Path dir;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--case", paramLabel = "NAME", arity = "1..*", description = "run only these cases")
    List<String> cases = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Device device = Device.parse(backend);
        Goldens.Report report = Goldens.run(dir, device, cases, System.out);
        return report.allPassed() ? 0 : 1;
    }
}
