package dev.diffuse4j.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The installed cuBLAS (any major version: libcublas.so.13 or .12), bound with java.lang.foreign
 * because JCuda's JCublas links CUDA 12 by symbol version and does not load on CUDA-13-only
 * machines. Used as the GEMM baseline and, when asked ({@code -Dd4j.cuda.gemm=cublas}), instead
 * of the hand-written GEMM kernels. Six functions; the library is found through
 * {@code -Dd4j.cublas.path}, the {@code D4J_CUBLAS} variable, the loader's search path, or the
 * CUDA toolkit folder.
 */
final class Cublas {
    static final int OP_N = 0, OP_T = 1;
    static final int R_32F = 0, R_16F = 2, R_16BF = 14;  // cudaDataType
    private static final int COMPUTE_32F = 68, GEMM_DEFAULT = -1;

    private final MethodHandle setStream, gemmEx, gemmStridedBatchedEx, statusString;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    final String library;

    private Cublas(SymbolLookup lib, String library, long stream) throws Throwable {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        MethodHandle create = linker.downcallHandle(find(lib, "cublasCreate_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = linker.downcallHandle(find(lib, "cublasSetStream_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // cublasGemmEx(handle, transa, transb, m, n, k, alpha*, A*, Atype, lda, B*, Btype, ldb, beta*, C*, Ctype, ldc, computeType, algo)
        gemmEx = linker.downcallHandle(find(lib, "cublasGemmEx"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        // ... the same with long long strideA/strideB/strideC after each matrix's ld, and int batchCount before computeType
        gemmStridedBatchedEx = linker.downcallHandle(find(lib, "cublasGemmStridedBatchedEx"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        statusString = lib.find("cublasGetStatusString")
                .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(ADDRESS, JAVA_INT))).orElse(null);
        MemorySegment h = arena.allocate(ADDRESS);
        check((int) create.invokeExact(h), "cublasCreate");
        handle = h.get(ADDRESS, 0);
        check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cublasSetStream");
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("cuBLAS lacks " + name));
    }

    /** Binds cuBLAS on the given stream, or throws {@link CudaUnavailableException} saying why it cannot. */
    static Cublas open(long stream) {
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.first(candidates(), tried);
        if (lib != null) {
            try {
                return new Cublas(lib.lookup(), lib.name(), stream);
            } catch (Throwable e) {
                throw new CudaUnavailableException("cuBLAS at " + lib.name() + " could not be bound: " + e.getMessage(), e);
            }
        }
        throw new CudaUnavailableException("no cuBLAS library found (tried " + String.join(", ", tried)
                + "; set -Dd4j.cublas.path or D4J_CUBLAS to libcublas.so.*)", null);
    }

    private static List<String> candidates() {
        List<String> c = new ArrayList<>();
        String p = System.getProperty("d4j.cublas.path", System.getenv("D4J_CUBLAS"));
        if (p != null && !p.isBlank()) c.add(p);
        c.add("libcublas.so.13");
        c.add("libcublas.so.12");
        for (String dir : new String[]{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"})
            for (String v : new String[]{"13", "12"})
                if (Files.exists(Path.of(dir, "libcublas.so." + v))) c.add(dir + "/libcublas.so." + v);
        return c;
    }

    private String describe(int status) {
        if (statusString == null) return "cublasStatus " + status;
        try {
            MemorySegment s = (MemorySegment) statusString.invokeExact(status);
            return s.reinterpret(256).getString(0) + " (" + status + ")";
        } catch (Throwable e) {
            return "cublasStatus " + status;
        }
    }

    private void check(int status, String call) {
        if (status != 0) throw new CudaException("cuBLAS " + call + " failed with " + describe(status), status);
    }

    /**
     * Row-major C[M,N] (ldc N, batch stride M*N) = A[M,K] (lda, K contiguous) times B, where B is
     * [N,K] rows (nt) or [K,N] rows, with F32 accumulation. In cuBLAS's column-major terms this is
     * C^T = op(B) A^T.
     */
    void gemm(String op, int dataType, boolean nt, int M, int N, int K, long a, long lda, long sA, long b, long ldb, long sB,
              long c, int batch) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment alpha = call.allocate(ValueLayout.JAVA_FLOAT), beta = call.allocate(ValueLayout.JAVA_FLOAT);
            alpha.set(ValueLayout.JAVA_FLOAT, 0, 1f);
            beta.set(ValueLayout.JAVA_FLOAT, 0, 0f);
            int opB = nt ? OP_T : OP_N;
            int status;
            if (batch == 1) {
                status = (int) gemmEx.invokeExact(handle, opB, OP_N, N, M, K, alpha, MemorySegment.ofAddress(b), dataType, (int) ldb,
                        MemorySegment.ofAddress(a), dataType, (int) lda, beta, MemorySegment.ofAddress(c), dataType, N, COMPUTE_32F, GEMM_DEFAULT);
            } else {
                status = (int) gemmStridedBatchedEx.invokeExact(handle, opB, OP_N, N, M, K, alpha,
                        MemorySegment.ofAddress(b), dataType, (int) ldb, sB, MemorySegment.ofAddress(a), dataType, (int) lda, sA,
                        beta, MemorySegment.ofAddress(c), dataType, N, (long) M * N, batch, COMPUTE_32F, GEMM_DEFAULT);
            }
            check(status, op + " (cublasGemm" + (batch == 1 ? "Ex" : "StridedBatchedEx") + " " + M + "x" + N + "x" + K + ")");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(op + ": calling cuBLAS failed", e);
        }
    }

    static int dataType(dev.diffuse4j.runtime.DType t) {
        return switch (t) {
            case F32 -> R_32F;
            case F16 -> R_16F;
            case BF16 -> R_16BF;
            default -> throw new IllegalArgumentException("cuBLAS GEMM takes F32, F16 or BF16, not " + t);
        };
    }
}
