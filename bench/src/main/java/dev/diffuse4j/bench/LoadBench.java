package dev.diffuse4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.DeterministicWeights;
import dev.diffuse4j.weights.SafetensorsFile;
import dev.diffuse4j.weights.SafetensorsWriter;
import dev.diffuse4j.weights.TensorInfo;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checkpoint loading speed, end to end on a real layout: a full SD1.5 single-file checkpoint
 * (UNet + CLIP-L + VAE, 1.07 G parameters, F16: 2.1 GB, like the common pruned fp16 release) is
 * generated with the deterministic weight rule and written to a temp folder; then it measures
 * <ul>
 *   <li>open (header parse + validation + mmap) and the first tensor, with the bytes read by the
 *       process during open from /proc/self/io (open must not read the data area);</li>
 *   <li>touching every tensor (summing every element), cold (the file's pages evicted from the page
 *       cache with posix_fadvise DONTNEED after an fsync) and warm;</li>
 *   <li>generation speed of the deterministic rule on the SDXL UNet layout (2.57 G values).</li>
 * </ul>
 * Usage: {@code LoadBench [--goldens DIR] [--dir TMPDIR] [--dtype F16|F32] [--keep]}; layouts come from
 * the goldens' *.weight_checks.json key/shape lists (default: the d4j.shared property + /goldens, else ../shared/goldens).
 */
public final class LoadBench {
    private LoadBench() {}

    public static void main(String[] args) throws Exception {
        Path goldens = Path.of(System.getProperty("d4j.shared", "../shared"), "goldens");
        Path tmpRoot = Path.of(System.getProperty("java.io.tmpdir"));
        DType dtype = DType.F16;
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--goldens" -> goldens = Path.of(args[++i]);
                case "--dir" -> tmpRoot = Path.of(args[++i]);
                case "--dtype" -> dtype = DType.valueOf(args[++i]);
                case "--keep" -> keep = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; usage: LoadBench [--goldens DIR] [--dir TMPDIR] [--dtype F16|F32] [--keep]");
            }
        }
        List<TensorInfo> sd15 = new ArrayList<>();
        for (String c : List.of("unet_full_sd15", "clip_l_full", "vae_full_encoder", "vae_full_decoder"))
            sd15.addAll(layout(goldens.resolve(c + ".weight_checks.json")));

        Path dir = Files.createTempDirectory(tmpRoot, "d4j-loadbench");
        Path file = dir.resolve("sd15-" + dtype.name().toLowerCase() + ".safetensors");
        try {
            System.out.printf("layout: SD1.5 single file, %d tensors, %,d parameters, stored as %s%n", sd15.size(), numel(sd15), dtype);

            long t0 = System.nanoTime(), cpu0 = cpuNanos();
            try (DeterministicWeights w = new DeterministicWeights(sd15)) {
                SafetensorsWriter.write(file, w, dtype, Map.of("format", "pt", "generator", "diffuse4j LoadBench"));
            }
            long size = Files.size(file);
            double writeS = seconds(t0);
            System.out.printf("write (generate F32 + convert to %s + stream to disk): %.2f s wall, %.2f s CPU, for %s (%.2f GB/s)%n",
                    dtype, writeS, (cpuNanos() - cpu0) / 1e9, gb(size), size / writeS / 1e9);

            boolean evicted = evict(file);
            System.out.println(evicted ? "page cache: file evicted (fsync + posix_fadvise DONTNEED) for the cold run"
                    : "page cache: could not evict the file; the 'cold' run below is warm");
            measure("cold", file);
            measure("warm", file);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long t = System.nanoTime();
                try (SafetensorsFile f = SafetensorsFile.open(file); Tensor first = f.tensor(f.keys().iterator().next())) {
                    sum(first);
                }
                best = Math.min(best, seconds(t) * 1e3);
            }
            System.out.printf("[warm, JIT-warmed] open + first tensor, best of 5: %.2f ms%n", best);
            try (Checkpoint c = Checkpoints.open(file)) {
                System.out.printf("inspect: %s, components %s%n", c.family(), c.components());
            }
        } finally {
            if (!keep) {
                Files.deleteIfExists(file);
                Files.deleteIfExists(dir);
            } else System.out.println("kept " + file);
        }

        Path sdxl = goldens.resolve("unet_full_sdxl.weight_checks.json");
        if (Files.isRegularFile(sdxl)) generation(layout(sdxl));
    }

    private static void measure(String label, Path file) throws IOException {
        long rchar0 = io("rchar"), read0 = io("read_bytes");
        long t0 = System.nanoTime();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            double openMs = seconds(t0) * 1e3;
            long rchar = io("rchar") - rchar0, readBytes = io("read_bytes") - read0;
            long dataBytes = Files.size(file) - f.dataStart();
            String first = f.keys().iterator().next();
            long t1 = System.nanoTime();
            double firstSum;
            try (Tensor t = f.tensor(first)) {
                firstSum = sum(t);
            }
            double firstMs = seconds(t1) * 1e3;
            System.out.printf("[%s] open: %.2f ms (header %s; read during open: %s via read(), %s from storage; data area %s) -> %s%n",
                    label, openMs, bytesStr(f.dataStart()), bytesStr(rchar), bytesStr(readBytes), gb(dataBytes),
                    rchar < f.dataStart() + (1 << 20) ? "OK, header only" : "READ THE DATA AREA");
            System.out.printf("[%s] first tensor (%s, sum %.6g): %.2f ms; open + first tensor: %.2f ms%n", label, first, firstSum, firstMs, openMs + firstMs);

            long read1 = io("read_bytes");
            long t2 = System.nanoTime(), cpu2 = cpuNanos();
            double total = 0;
            for (String k : f.keys()) {
                try (Tensor t = f.tensor(k)) {
                    total += sum(t);
                }
            }
            double allS = seconds(t2);
            System.out.printf("[%s] touch all %d tensors (sum of every element = %.6g): %.2f s wall, %.2f s CPU, %.2f GB/s, %s read from storage%n",
                    label, f.keys().size(), total, allS, (cpuNanos() - cpu2) / 1e9, dataBytes / allS / 1e9, bytesStr(io("read_bytes") - read1));
        }
    }

    /**
     * Generation speed of the deterministic rule over a layout: once through {@code tensor()} (each
     * tensor freshly allocated, so the OS's page faults and zeroing count), once into one reused buffer
     * (the rule's own cost).
     */
    private static void generation(List<TensorInfo> layout) {
        long n = numel(layout);
        try (DeterministicWeights w = new DeterministicWeights(layout)) {
            long t0 = System.nanoTime(), cpu0 = cpuNanos();
            for (String k : w.keys()) w.tensor(k).close();
            double s = seconds(t0);
            System.out.printf("deterministic weights, SDXL UNet layout, tensor() (allocating): %,d values in %.2f s wall, %.2f s CPU (%.0f M values/s, %d threads)%n",
                    n, s, (cpuNanos() - cpu0) / 1e9, n / s / 1e6, Parallel.threads());
            long max = 0;
            for (TensorInfo i : layout) max = Math.max(max, i.numel());
            try (Tensor buffer = Tensor.zeros(DType.F32, Math.toIntExact(max))) {
                t0 = System.nanoTime();
                cpu0 = cpuNanos();
                for (TensorInfo i : layout) {
                    try (Tensor view = buffer.slice(0, 0, (int) i.numel()); Tensor target = view.reshape(i.shape())) {
                        w.fillInto(i.key(), target);
                    }
                }
                s = seconds(t0);
                System.out.printf("deterministic weights, SDXL UNet layout, fillInto (reused buffer): %,d values in %.2f s wall, %.2f s CPU (%.0f M values/s)%n",
                        n, s, (cpuNanos() - cpu0) / 1e9, n / s / 1e6);
            }
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static final int SUM_CHUNK = 1 << 18;

    /** Sum of every element, read straight from the (mapped) memory, in parallel chunks (fixed combination order). */
    private static double sum(Tensor t) {
        MemorySegment seg = t.cpuSegment();
        DType dt = t.dtype();
        long n = t.numel(), base = t.offset() * dt.byteSize();
        int chunks = (int) ((n + SUM_CHUNK - 1) / SUM_CHUNK);
        double[] partial = new double[chunks];
        Parallel.forRange(chunks, 1, (lo, hi) -> {
            for (int c = lo; c < hi; c++) {
                long from = (long) c * SUM_CHUNK, to = Math.min(n, from + SUM_CHUNK);
                double a = 0, b = 0;
                long i = from;
                switch (dt) {
                    case F32 -> {
                        for (; i + 1 < to; i += 2) {
                            a += seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4 * i);
                            b += seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4 * i + 4);
                        }
                        for (; i < to; i++) a += seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4 * i);
                    }
                    case F16 -> {
                        for (; i + 1 < to; i += 2) {
                            a += Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2 * i));
                            b += Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2 * i + 2));
                        }
                        for (; i < to; i++) a += Float.float16ToFloat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2 * i));
                    }
                    default -> { for (; i < to; i++) a += t.getFloat(i); }
                }
                partial[c] = a + b;
            }
        });
        double s = 0;
        for (double p : partial) s += p;
        return s;
    }

    private static List<TensorInfo> layout(Path checks) throws IOException {
        if (!Files.isRegularFile(checks))
            throw new IllegalArgumentException(checks + " not found; pass --goldens DIR (the shared goldens folder) or -Dd4j.shared=...");
        JsonNode root = new ObjectMapper().readTree(checks.toFile());
        List<TensorInfo> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode s = e.getValue().get("shape");
            int[] shape = new int[s.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = s.get(i).intValue();
            out.add(new TensorInfo(e.getKey(), DType.F32, shape));
        }
        return out;
    }

    /** Flushes the file and asks the kernel to drop its cached pages (only this file's). */
    private static boolean evict(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try (Arena arena = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MethodHandle fadvise = linker.downcallHandle(libc.find("posix_fadvise").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            int fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), 0 /* O_RDONLY */);
            if (fd < 0) return false;
            int rc = (int) fadvise.invokeExact(fd, 0L, 0L, 4 /* POSIX_FADV_DONTNEED */);
            int ignored = (int) close.invokeExact(fd);
            return rc == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    private static long io(String field) throws IOException {
        Path p = Path.of("/proc/self/io");
        if (!Files.isReadable(p)) return 0;
        for (String line : Files.readAllLines(p)) if (line.startsWith(field + ":")) return Long.parseLong(line.substring(field.length() + 1).trim());
        return 0;
    }

    private static long numel(List<TensorInfo> l) {
        long n = 0;
        for (TensorInfo i : l) n += i.numel();
        return n;
    }

    private static double seconds(long t0) { return (System.nanoTime() - t0) / 1e9; }

    private static String gb(long b) { return String.format("%.2f GB", b / 1e9); }

    private static String bytesStr(long b) { return b < 1 << 20 ? String.format("%.1f KB", b / 1e3) : String.format("%.1f MB", b / 1e6); }
}
