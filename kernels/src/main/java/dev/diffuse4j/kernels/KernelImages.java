package dev.diffuse4j.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The CUDA kernel modules packaged at build time (build-kernels.sh): one fatbin per
 * {@code src/main/cuda/*.cu} (SASS for sm_80 and sm_90a, PTX for newer GPUs) under
 * {@value #RESOURCE_DIR}, listed in {@code kernels.list}, each with a manifest of its entry points
 * ({@code <module>.entries}). A build without nvcc packages none: {@link #modules()} is then empty
 * and {@link #image} says why.
 */
public final class KernelImages {
    public static final String RESOURCE_DIR = "/dev/diffuse4j/kernels/";

    private KernelImages() {}

    /** Names of the packaged modules (e.g. "gemm", "attention"); empty when the build had no nvcc. */
    public static List<String> modules() {
        String list = readText("kernels.list");
        if (list == null) return List.of();
        return list.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** True when at least one module was packaged. */
    public static boolean available() { return !modules().isEmpty(); }

    /** The fatbin of a module, ready for {@code cuModuleLoadData}. */
    public static byte[] image(String module) {
        byte[] b = readBytes(module + ".fatbin");
        if (b == null) {
            throw new IllegalStateException("CUDA kernel module '" + module + "' is not on the class path"
                    + (available() ? " (packaged modules: " + modules() + ")"
                                   : " (this build of diffuse4j-kernels was made without nvcc, so it holds no CUDA kernels)"));
        }
        return b;
    }

    /** The entry points (extern "C" kernel names) of a module, from its build manifest. */
    public static Set<String> entryPoints(String module) {
        String text = readText(module + ".entries");
        if (text == null) throw new IllegalStateException("CUDA kernel module '" + module + "' has no entry-point manifest on the class path");
        Set<String> out = new LinkedHashSet<>();
        text.lines().map(String::strip).filter(s -> !s.isEmpty()).forEach(out::add);
        return out;
    }

    /**
     * Whether a fatbin holds machine code for a kernel: its ELF images name each kernel's code
     * section {@code .text.<name>} (the build keeps them uncompressed so this can be read).
     */
    public static boolean containsKernel(byte[] image, String name) {
        byte[] needle = (".text." + name + "\0").getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + needle.length <= image.length; i++) {
            for (int j = 0; j < needle.length; j++) if (image[i + j] != needle[j]) continue outer;
            return true;
        }
        return false;
    }

    private static String readText(String name) {
        byte[] b = readBytes(name);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] readBytes(String name) {
        try (InputStream in = KernelImages.class.getResourceAsStream(RESOURCE_DIR + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel resource " + RESOURCE_DIR + name, e);
        }
    }
}
