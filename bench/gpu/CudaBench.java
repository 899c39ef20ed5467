import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.cuda.CudaGraph;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.Conv2dParams;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times the diffuse4j CUDA kernels on the shapes of bench/gpu/shapes.txt: eager launches (host
 * overhead included) and CUDA-graph replays (kernel time), medians of 7 samples, each sample long
 * enough (>= 20 ms) to dwarf the timer. Writes a CSV that compare.py joins with torch_bench.py's.
 *
 * usage: CudaBench SHAPES OUT.csv [dtypes, default f16,bf16]
 */
public final class CudaBench {
    private static CudaBackend CUDA;
    private static final SplittableRandom RND = new SplittableRandom(42);

    /**
     * cublasMs: the same GEMM through the Java cuBLAS binding (graph replay), NaN for other ops or without cuBLAS;
     * wgmmaMs: the same GEMM, linear + GEGLU, conv or attention through the opt-in Hopper TMA + wgmma kernels (graph replay), NaN for other ops,
     * off sm_90, or where the op kept the mma.sync kernels.
     */
    record Result(String name, String kind, String dtype, double flop, double bytes, double eagerMs, double graphMs, double cublasMs,
                  double wgmmaMs) {}

    public static void main(String[] args) throws IOException {
        try {
            CUDA = CudaBackend.get();
        } catch (dev.diffuse4j.runtime.cuda.CudaUnavailableException e) {
            System.out.println("[bench] " + e.getMessage());
            System.exit(2);
        }
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        String[] dtypes = (args.length > 2 ? args[2] : "f16,bf16").split(",");
        System.out.println("[bench] " + CUDA.describe());
        List<Result> results = new ArrayList<>();
        for (String dt : dtypes) {
            DType t = dt.equals("bf16") ? DType.BF16 : DType.F16;
            for (String line : lines) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] f = line.split("\\s+");
                try {
                    Result r = run(f, t, dt);
                    results.add(r);
                    System.out.printf(Locale.ROOT, "[bench] %-20s %-5s eager %9.4f ms  graph %9.4f ms  %8.1f TFLOP/s  %7.0f GB/s%s%n",
                            r.name, dt, r.eagerMs, r.graphMs, r.flop / r.graphMs / 1e9, r.bytes / r.graphMs / 1e6,
                            (Double.isNaN(r.cublasMs) ? "" : String.format(Locale.ROOT, "  cuBLAS(java) %9.4f ms", r.cublasMs))
                                    + (Double.isNaN(r.wgmmaMs) ? "" : String.format(Locale.ROOT, "  wgmma %9.4f ms", r.wgmmaMs)));
                } catch (RuntimeException e) {
                    System.out.println("[bench] " + f[1] + " " + dt + " FAILED: " + e);
                }
            }
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(args[1])))) {
            w.println("name,kind,dtype,flop,bytes,eager_ms,graph_ms,cublas_ms,wgmma_ms");
            for (Result r : results)
                w.printf(Locale.ROOT, "%s,%s,%s,%.6e,%.6e,%.6f,%.6f,%s,%s%n", r.name, r.kind, r.dtype, r.flop, r.bytes, r.eagerMs, r.graphMs,
                        Double.isNaN(r.cublasMs) ? "" : String.format(Locale.ROOT, "%.6f", r.cublasMs),
                        Double.isNaN(r.wgmmaMs) ? "" : String.format(Locale.ROOT, "%.6f", r.wgmmaMs));
        }
        System.out.println("[bench] memory: " + CUDA.memoryStats());
    }

    private static Tensor rand(DType t, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (RND.nextDouble() * 2 - 1);
        try (Tensor h = Tensor.of(v, shape); Tensor d = CUDA.copyFrom(h)) {
            return CUDA.cast(d, t);
        }
    }

    private static int i(String s) { return Integer.parseInt(s); }

    private static Result run(String[] f, DType t, String dt) {
        String kind = f[0], name = f[1];
        int es = t.byteSize();
        List<Tensor> in = new ArrayList<>();
        try {
            Runnable op;
            double flop, bytes;
            switch (kind) {
                case "gemm" -> {
                    int M = i(f[2]), K = i(f[3]), N = i(f[4]);
                    Tensor x = add(in, rand(t, M, K)), w = add(in, rand(t, N, K));
                    op = () -> CUDA.linear(x, w, null).close();
                    flop = 2.0 * M * N * K;
                    bytes = (double) es * ((long) M * K + (long) N * K + (long) M * N);
                }
                case "ff1" -> {  // linear to 2 * inner + GEGLU, fused (Ops.linearGeglu)
                    int M = i(f[2]), K = i(f[3]), inner = i(f[4]);
                    Tensor x = add(in, rand(t, M, K)), w = add(in, rand(t, 2 * inner, K)), b = add(in, rand(t, 2 * inner));
                    op = () -> CUDA.linearGeglu(x, w, b).close();
                    flop = 2.0 * M * 2 * inner * K;
                    bytes = (double) es * ((long) M * K + 2L * inner * K + (long) M * inner);
                }
                case "conv" -> {
                    int B = i(f[2]), H = i(f[3]), W = i(f[4]), ci = i(f[5]), co = i(f[6]), k = i(f[7]), s = i(f[8]), p = i(f[9]);
                    Tensor x = add(in, rand(t, B, H, W, ci)), w = add(in, rand(t, co, k, k, ci)), b = add(in, rand(t, co));
                    Conv2dParams cp = Conv2dParams.of(s, p);
                    int ho = cp.outH(H, k), wo = cp.outW(W, k);
                    op = () -> CUDA.conv2d(x, w, b, cp, null).close();
                    flop = 2.0 * B * ho * wo * co * (double) k * k * ci;
                    bytes = (double) es * ((long) B * H * W * ci + (long) co * k * k * ci + (long) B * ho * wo * co);
                }
                case "attn" -> {
                    int B = i(f[2]), H = i(f[3]), nq = i(f[4]), nk = i(f[5]), D = i(f[6]);
                    Tensor q = add(in, rand(t, B, nq, H * D)), k = add(in, rand(t, B, nk, H * D)), v = add(in, rand(t, B, nk, H * D));
                    op = () -> CUDA.attention(AttentionCall.plain(q, k, v, H)).out().close();
                    flop = 4.0 * B * H * (double) nq * nk * D;
                    bytes = (double) es * B * H * D * (2.0 * nq + 2.0 * nk);
                }
                case "gn" -> {
                    int B = i(f[2]), H = i(f[3]), W = i(f[4]), C = i(f[5]), G = i(f[6]);
                    Tensor x = add(in, rand(t, B, H, W, C)), g = add(in, rand(t, C)), b = add(in, rand(t, C));
                    op = () -> CUDA.groupNorm(x, G, g, b, 1e-5f, true).close();
                    flop = 0;
                    bytes = 3.0 * es * B * H * W * C;  // statistics read, apply read, write
                }
                case "ln" -> {
                    int R = i(f[2]), C = i(f[3]);
                    Tensor x = add(in, rand(t, R, C)), g = add(in, rand(t, C)), b = add(in, rand(t, C));
                    op = () -> CUDA.layerNorm(x, g, b, 1e-5f).close();
                    flop = 0;
                    bytes = 2.0 * es * R * C;
                }
                default -> throw new IllegalArgumentException("unknown kind " + kind + " in " + Arrays.toString(f));
            }
            double eager = eager(op), graph = graph(op), viaCublas = Double.NaN;
            if (kind.equals("gemm") && cublasAvailable()) {
                CUDA.gemmImplementation(CudaBackend.GemmImplementation.CUBLAS);
                try {
                    viaCublas = graph(op);
                } finally {
                    CUDA.gemmImplementation(CudaBackend.GemmImplementation.KERNELS);
                }
            }
            double viaWgmma = Double.NaN;
            if ((kind.equals("gemm") || kind.equals("ff1") || kind.equals("conv") || kind.equals("attn")) && wgmmaAvailable()) {
                CUDA.useWgmmaGemm(true);
                try {
                    long before = CudaBackend.wgmmaLaunches();
                    double ms = graph(op);
                    if (CudaBackend.wgmmaLaunches() > before) viaWgmma = ms;  // else the op kept the mma.sync kernels (Cin % 64 != 0, head dim != 64)
                } finally {
                    CUDA.useWgmmaGemm(false);
                }
            }
            return new Result(name, kind, dt, flop, bytes, eager, graph, viaCublas, viaWgmma);
        } finally {
            for (Tensor x : in) x.close();
        }
    }

    private static Tensor add(List<Tensor> in, Tensor t) { in.add(t); return t; }

    private static Boolean cublas;

    private static boolean cublasAvailable() {
        if (cublas == null) {
            try {
                CUDA.gemmImplementation(CudaBackend.GemmImplementation.CUBLAS);
                CUDA.gemmImplementation(CudaBackend.GemmImplementation.KERNELS);
                cublas = true;
            } catch (dev.diffuse4j.runtime.cuda.CudaUnavailableException e) {
                System.out.println("[bench] no cuBLAS column: " + e.getMessage());
                cublas = false;
            }
        }
        return cublas;
    }

    private static Boolean wgmma;

    /** The Hopper kernel runs on sm_90 only (and needs the driver's tensor-map call). */
    private static boolean wgmmaAvailable() {
        if (wgmma == null) {
            if (!Boolean.parseBoolean(System.getProperty("d4j.bench.wgmma", "true"))) {
                System.out.println("[bench] no wgmma column: -Dd4j.bench.wgmma=false (bench/gpu/run sets it when the wgmma parity failed, and for the split-K A/B)");
                return wgmma = false;
            }
            try {
                CUDA.useWgmmaGemm(true);
                CUDA.useWgmmaGemm(false);
                wgmma = true;
            } catch (dev.diffuse4j.runtime.cuda.CudaUnavailableException e) {
                System.out.println("[bench] no wgmma column: " + e.getMessage());
                wgmma = false;
            }
        }
        return wgmma;
    }

    /** Repetitions that take at least 20 ms. */
    private static int calibrate(Runnable op) {
        op.run();
        CUDA.synchronize();
        int reps = 1;
        while (true) {
            long t0 = System.nanoTime();
            for (int r = 0; r < reps; r++) op.run();
            CUDA.synchronize();
            if (System.nanoTime() - t0 > 20_000_000L || reps >= 1 << 14) return reps;
            reps *= 2;
        }
    }

    private static double eager(Runnable op) {
        int reps = calibrate(op);
        double[] s = new double[7];
        for (int k = 0; k < s.length; k++) {
            long t0 = System.nanoTime();
            for (int r = 0; r < reps; r++) op.run();
            CUDA.synchronize();
            s[k] = (System.nanoTime() - t0) / 1e6 / reps;
        }
        return median(s);
    }

    private static double graph(Runnable op) {
        int reps = Math.max(1, Math.min(calibrate(op), 256));
        Runnable many = () -> { for (int r = 0; r < reps; r++) op.run(); };
        try (CudaGraph g = CUDA.capture(many)) {
            g.replay();
            CUDA.synchronize();
            double[] s = new double[7];
            for (int k = 0; k < s.length; k++) {
                long t0 = System.nanoTime();
                g.replay();
                CUDA.synchronize();
                s[k] = (System.nanoTime() - t0) / 1e6 / reps;
            }
            return median(s);
        }
    }

    private static double median(double[] s) {
        double[] c = s.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
