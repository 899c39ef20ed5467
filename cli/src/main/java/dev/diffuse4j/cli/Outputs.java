package dev.diffuse4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Where images go: one .png path, or a folder that receives 0001.png, 0002.png, ... */
final class Outputs {
    private Outputs() {}

    static List<Path> paths(Path out, int count) {
        boolean png = out.getFileName() != null && out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png");
        List<Path> paths = new ArrayList<>();
        if (png && count == 1) {
            paths.add(out);
            return paths;
        }
        if (png) throw new IllegalArgumentException("--out " + out + " is one file but " + count + " images were asked for: give a folder");
        if (Files.exists(out) && !Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " exists and is not a folder");
        for (int i = 1; i <= count; i++) paths.add(out.resolve(String.format(Locale.ROOT, "%04d.png", i)));
        return paths;
    }
}
