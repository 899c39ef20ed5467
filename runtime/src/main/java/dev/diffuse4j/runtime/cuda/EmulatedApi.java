package dev.diffuse4j.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntSupplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The driver API over the host emulator: libd4jemu.so, every kernel of kernels/src/main/cuda
 * compiled for the CPU (built by kernels/build-emu.sh), bound with java.lang.foreign. It checks
 * the Java side of the backend (argument layouts, grids, kernel choice, allocator, graphs) and the
 * kernels' logic without a GPU; it measures nothing about a GPU's speed.
 *
 * <p>One device, "host emulator (libd4jemu)" with 4 SMs: sm_80 with A100's 163840 bytes of opt-in
 * shared memory by default, or sm_90 with H100's 232448 ({@code -Dd4j.cuda.emulator.sm=90}, or
 * {@link #open(String, long, int, int, int)}), on which the backend's Hopper path (TMA + wgmma,
 * {@link CudaWgmmaGemm}) runs with its tensor maps encoded by the library
 * ({@link #tensorMapEncoder()}); device memory is host memory (the address a kernel dereferences is the host
 * address), capped at {@code -Dd4j.cuda.emulator.memory} bytes (4 GiB by default) so running out
 * behaves as on a GPU. Every call is synchronous; launches are serialised (the library is
 * single-threaded). Stream capture records launches, device copies and memsets and a graph
 * launch replays them; host copies, synchronisation and anything failing during capture
 * invalidate it, as the driver does.
 */
final class EmulatedApi implements DriverApi {
    static final String MEMORY_PROPERTY = "d4j.cuda.emulator.memory";
    /** The emulated compute capability, 80 (default) or 90. */
    static final String SM_PROPERTY = "d4j.cuda.emulator.sm";
    static final String DEVICE_NAME = "host emulator (libd4jemu)";
    private static final long DEFAULT_MEMORY = 4L << 30;
    private static final int SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_FOUND = 500, OUT_OF_RESOURCES = 701, LAUNCH_FAILED = 719,
            CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901;
    static final int A100_SMEM_OPTIN = 163840, H100_SMEM_OPTIN = 232448;
    /** The library's cuTensorMapEncodeTiled (same signature as the driver's). */
    static final String TENSOR_MAP_ENCODE = "d4j_emu_tensor_map_encode";
    private static final int STATIC_SMEM_LIMIT = 48 * 1024, ALIGN = 256;
    private static final byte POISON = (byte) 0xA5;
    /** The library runs one launch at a time, whichever api instance asks. */
    private static final Object LIBRARY = new Object();
    /** d4j_emu_error() of the last launch if it failed (read before any other launch), and its code. */
    private static volatile String lastError = "";
    private static volatile int lastErrorCode;

    private final MethodHandle has, launch, error, alignedAlloc, free;
    private final String library;
    private final long memoryLimit;
    private final TreeMap<Long, Long> allocations = new TreeMap<>();
    private long allocated;
    private final Map<String, Long> functionByName = new HashMap<>();
    private final Map<Long, Function> functions = new HashMap<>();
    private final Map<Long, List<IntSupplier>> graphs = new HashMap<>(), execs = new HashMap<>();
    private final int maxSmemOptin, ccMajor, ccMinor;
    private final SymbolLookup lib;
    private long nextHandle = 1;
    /** The ops recorded by the capture in progress, or null. */
    private List<IntSupplier> recording;
    private boolean captureInvalidated;

    /** A kernel of the library: its name as a C string and the dynamic shared memory it has been allowed. */
    private record Function(String name, MemorySegment cName, int[] smemAllowed) {}

    private EmulatedApi(SymbolLookup lib, String library, long memoryLimit, int maxSmemOptin, int ccMajor, int ccMinor) {
        this.lib = lib;
        this.library = library;
        this.memoryLimit = memoryLimit;
        this.maxSmemOptin = maxSmemOptin;
        this.ccMajor = ccMajor;
        this.ccMinor = ccMinor;
        Linker linker = Linker.nativeLinker();
        has = linker.downcallHandle(find(lib, "d4j_emu_has"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        launch = linker.downcallHandle(find(lib, "d4j_emu_launch"), FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        error = linker.downcallHandle(find(lib, "d4j_emu_error"), FunctionDescriptor.of(ADDRESS));
        SymbolLookup libc = linker.defaultLookup();
        alignedAlloc = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
        free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS));
    }

    private MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CudaUnavailableException("the host emulator library " + library + " lacks " + name
                + " (rebuild it with kernels/build-emu.sh)", null));
    }

    /**
     * Binds the library at {@code path} with the memory cap of {@value #MEMORY_PROPERTY} and the
     * compute capability of {@value #SM_PROPERTY}, or says why it cannot.
     */
    static EmulatedApi open(String path) {
        String mem = System.getProperty(MEMORY_PROPERTY);
        long limit;
        try {
            limit = mem == null || mem.isBlank() ? DEFAULT_MEMORY : Long.parseLong(mem.strip());
        } catch (NumberFormatException e) {
            throw new CudaUnavailableException("-D" + MEMORY_PROPERTY + "=" + mem + " is not a number of bytes", e);
        }
        if (limit <= 0) throw new CudaUnavailableException("-D" + MEMORY_PROPERTY + "=" + mem + " must be positive", null);
        String sm = System.getProperty(SM_PROPERTY, "80").strip();
        return switch (sm) {
            case "80" -> open(path, limit, A100_SMEM_OPTIN, 8, 0);
            case "90" -> open(path, limit, H100_SMEM_OPTIN, 9, 0);
            default -> throw new CudaUnavailableException("-D" + SM_PROPERTY + "=" + sm + " is not an emulated compute capability (80 or 90)", null);
        };
    }

    /** {@link #open(String, long, int, int, int)} as sm_80. */
    static EmulatedApi open(String path, long memoryLimit, int maxSmemOptin) { return open(path, memoryLimit, maxSmemOptin, 8, 0); }

    /**
     * Binds the library at {@code path} with {@code memoryLimit} bytes of device memory,
     * {@code maxSmemOptin} bytes of shared memory per block (tests lower A100's to stand in for
     * smaller parts, e.g. 101376 on sm_86/sm_89) and compute capability {@code ccMajor.ccMinor}
     * (8.0 keeps the sm_90 paths off; 9.0 lets the backend choose them).
     */
    static EmulatedApi open(String path, long memoryLimit, int maxSmemOptin, int ccMajor, int ccMinor) {
        if (!(ccMajor == 8 && ccMinor == 0) && !(ccMajor == 9 && ccMinor == 0))
            throw new IllegalArgumentException("the host emulator runs sm_80 or sm_90, not sm_" + ccMajor + ccMinor);
        if (maxSmemOptin < 0 || maxSmemOptin > H100_SMEM_OPTIN)
            throw new IllegalArgumentException("the host emulator allows at most " + H100_SMEM_OPTIN + " bytes of shared memory per block, not " + maxSmemOptin);
        Path p = Path.of(path).toAbsolutePath().normalize();
        if (!Files.isRegularFile(p))
            throw new CudaUnavailableException("host emulator library not built (" + p + " does not exist; "
                    + "kernels/build-emu.sh builds it and needs g++)", null);
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(p, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            throw new CudaUnavailableException("host emulator library " + p + " cannot be loaded: " + e.getMessage(), e);
        }
        return new EmulatedApi(lib, p.toString(), memoryLimit, maxSmemOptin, ccMajor, ccMinor);
    }

    @Override public boolean emulated() { return true; }

    /** The library's {@value #TENSOR_MAP_ENCODE}, which HopperDriver binds in place of the driver's cuTensorMapEncodeTiled. */
    MemorySegment tensorMapEncoder() { return find(lib, TENSOR_MAP_ENCODE); }

    /**
     * Whether [address, address + bytes) lies inside one allocation: a tensor map reaching past its
     * operand would make the emulated TMA read foreign host memory, where a GPU would fault.
     */
    synchronized boolean holds(long address, long bytes) { return device(address, bytes) != null; }

    @Override
    public String describe(int code) {
        String name = switch (code) {
            case SUCCESS -> "CUDA_SUCCESS: no error";
            case INVALID_VALUE -> "CUDA_ERROR_INVALID_VALUE: invalid argument";
            case OUT_OF_MEMORY -> "CUDA_ERROR_OUT_OF_MEMORY: out of memory";
            case NOT_FOUND -> "CUDA_ERROR_NOT_FOUND: named symbol not found";
            case OUT_OF_RESOURCES -> "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: too many resources requested for launch";
            case LAUNCH_FAILED -> "CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure";
            case CAPTURE_UNSUPPORTED -> "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: operation not permitted when stream is capturing";
            case CAPTURE_INVALIDATED -> "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: operation failed due to a previous error during capture";
            default -> "CUresult: unknown";
        };
        int colon = name.indexOf(':');
        String text = name.substring(0, colon) + " (" + code + ")" + name.substring(colon);
        if (code != SUCCESS && code == lastErrorCode && !lastError.isEmpty()) text += " [host emulator: " + lastError + "]";
        return text;
    }

    // ---------------------------------------------------------------- device, context, stream

    @Override public int init() { return SUCCESS; }

    @Override
    public int deviceGetCount(int[] count) {
        count[0] = 1;
        return SUCCESS;
    }

    @Override
    public int deviceGet(long[] device, int ordinal) {
        if (ordinal != 0) return INVALID_VALUE;
        device[0] = 0;
        return SUCCESS;
    }

    @Override
    public int deviceGetName(byte[] name, long device) {
        byte[] b = DEVICE_NAME.getBytes(StandardCharsets.US_ASCII);
        int n = Math.min(b.length, name.length - 1);
        System.arraycopy(b, 0, name, 0, n);
        name[n] = 0;
        return SUCCESS;
    }

    @Override
    public int deviceGetAttribute(int[] value, int attribute, long device) {
        switch (attribute) {
            case 16 -> value[0] = 4;                // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
            case 75 -> value[0] = ccMajor;          // COMPUTE_CAPABILITY_MAJOR: 8 keeps the sm_90 paths off
            case 76 -> value[0] = ccMinor;          // COMPUTE_CAPABILITY_MINOR
            case 97 -> value[0] = maxSmemOptin;     // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
            default -> { return INVALID_VALUE; }
        }
        return SUCCESS;
    }

    @Override
    public int deviceTotalMem(long[] bytes, long device) {
        bytes[0] = memoryLimit;
        return SUCCESS;
    }

    @Override
    public int devicePrimaryCtxRetain(long[] context, long device) {
        context[0] = 1;
        return SUCCESS;
    }

    @Override public int ctxSetCurrent(long context) { return SUCCESS; }

    @Override
    public int streamCreate(long[] stream) {
        stream[0] = 0;
        return SUCCESS;
    }

    /** Everything already ran; only a capture forbids it (the driver refuses to synchronise a capturing stream). */
    @Override public synchronized int streamSynchronize(long stream) { return recording != null ? invalidateCapture() : SUCCESS; }

    // ---------------------------------------------------------------- modules and launches

    @Override
    public synchronized int moduleLoadData(long[] module, String name, byte[] image) {
        module[0] = nextHandle++;
        return SUCCESS;
    }

    /** Kernel names are extern "C", unique over all modules: the module is not needed to find one. */
    @Override
    public synchronized int moduleGetFunction(long[] function, long module, String name) {
        Long known = functionByName.get(name);
        if (known == null) {
            MemorySegment cName = Arena.global().allocateFrom(name);
            int present;
            try {
                present = (int) has.invokeExact(cName);
            } catch (Throwable e) {
                throw new IllegalStateException("d4j_emu_has(" + name + ") failed in " + library, e);
            }
            if (present == 0) return NOT_FOUND;
            known = nextHandle++;
            functionByName.put(name, known);
            functions.put(known, new Function(name, cName, new int[]{STATIC_SMEM_LIMIT}));
        }
        function[0] = known;
        return SUCCESS;
    }

    @Override
    public synchronized int funcSetMaxDynamicSharedMemory(long function, int bytes) {
        Function f = functions.get(function);
        if (f == null || bytes < 0 || bytes > maxSmemOptin) return INVALID_VALUE;
        f.smemAllowed()[0] = bytes;
        return SUCCESS;
    }

    @Override
    public synchronized int launchKernel(long function, int gx, int gy, int gz, int block, int smemBytes, long stream, Object[] args) {
        Function f = functions.get(function);
        if (f == null || smemBytes > f.smemAllowed()[0]) return INVALID_VALUE;  // the driver refuses more than was allowed
        if (recording != null) {
            Object[] copy = args.clone();
            for (int i = 0; i < copy.length; i++) if (copy[i] instanceof byte[] b) copy[i] = b.clone();
            recording.add(() -> run(f, gx, gy, gz, block, smemBytes, copy));
            return SUCCESS;
        }
        return run(f, gx, gy, gz, block, smemBytes, args);
    }

    /**
     * Runs the whole grid: each parameter a native copy of the argument's bytes, as the driver builds
     * them, followed by poison bytes up to a multiple of 16, so a kernel parameter wider than what
     * Java passes (a {@code long long} given an Integer) reads garbage here too instead of lucky zeros.
     */
    private int run(Function f, int gx, int gy, int gz, int block, int smemBytes, Object[] args) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment params = call.allocate(ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                int size = switch (args[i]) {
                    case Long l -> 8;
                    case Integer n -> 4;
                    case Float x -> 4;
                    case byte[] b -> b.length;
                    default -> throw new IllegalArgumentException("unsupported kernel argument " + args[i]);
                };
                MemorySegment v = call.allocate(Math.max(16, (size + 15) / 16 * 16), 16).fill(POISON);
                switch (args[i]) {
                    case Long l -> v.set(JAVA_LONG, 0, l);
                    case Integer n -> v.set(JAVA_INT, 0, n);
                    case Float x -> v.set(JAVA_FLOAT, 0, x);
                    case byte[] b -> MemorySegment.copy(MemorySegment.ofArray(b), 0, v, 0, b.length);
                    default -> throw new AssertionError();
                }
                params.setAtIndex(ADDRESS, i, v);
            }
            synchronized (LIBRARY) {
                int r = (int) launch.invokeExact(f.cName(), gx, gy, gz, block, smemBytes, params);
                lastError = r == SUCCESS ? "" : ((MemorySegment) error.invokeExact()).reinterpret(1 << 16).getString(0);
                lastErrorCode = r;
                return r;
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("d4j_emu_launch(" + f.name() + ") failed in " + library, e);
        }
    }

    // ---------------------------------------------------------------- memory

    @Override
    public synchronized int memAlloc(long[] address, long bytes) {
        if (bytes <= 0) return INVALID_VALUE;
        if (bytes > memoryLimit - allocated) return OUT_OF_MEMORY;
        long rounded = (bytes + ALIGN - 1) / ALIGN * ALIGN;  // cuMemAlloc aligns to at least 256 bytes
        MemorySegment p;
        try {
            p = (MemorySegment) alignedAlloc.invokeExact((long) ALIGN, rounded);
        } catch (Throwable e) {
            throw new IllegalStateException("aligned_alloc(" + rounded + ") failed", e);
        }
        if (p.address() == 0) return OUT_OF_MEMORY;
        allocations.put(p.address(), bytes);
        allocated += bytes;
        address[0] = p.address();
        return SUCCESS;
    }

    @Override
    public synchronized int memFree(long address) {
        Long size = allocations.remove(address);
        if (size == null) return INVALID_VALUE;
        allocated -= size;
        try {
            free.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable e) {
            throw new IllegalStateException("free failed", e);
        }
        return SUCCESS;
    }

    @Override
    public synchronized int memGetInfo(long[] freeBytes, long[] total) {
        freeBytes[0] = memoryLimit - allocated;
        total[0] = memoryLimit;
        return SUCCESS;
    }

    /** Device memory [address, address + bytes), or null when it is not inside one allocation. */
    private MemorySegment device(long address, long bytes) {
        Map.Entry<Long, Long> e = allocations.floorEntry(address);
        if (e == null || bytes < 0 || address - e.getKey() + bytes > e.getValue()) return null;
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public synchronized int memcpyHtoD(long dst, MemorySegment src, long bytes, long stream) {
        if (recording != null) return invalidateCapture();  // pageable host copies cannot be captured
        MemorySegment d = device(dst, bytes);
        if (d == null || src.byteSize() < bytes) return INVALID_VALUE;
        MemorySegment.copy(src, 0, d, 0, bytes);
        return SUCCESS;
    }

    @Override
    public synchronized int memcpyDtoH(MemorySegment dst, long src, long bytes, long stream) {
        if (recording != null) return invalidateCapture();
        MemorySegment s = device(src, bytes);
        if (s == null || dst.byteSize() < bytes) return INVALID_VALUE;
        MemorySegment.copy(s, 0, dst, 0, bytes);
        return SUCCESS;
    }

    @Override
    public synchronized int memcpyDtoD(long dst, long src, long bytes, long stream) {
        MemorySegment d = device(dst, bytes), s = device(src, bytes);
        if (d == null || s == null) return INVALID_VALUE;
        return queue(() -> {
            MemorySegment.copy(s, 0, d, 0, bytes);
            return SUCCESS;
        });
    }

    @Override
    public synchronized int memsetD8(long dst, byte value, long count, long stream) {
        MemorySegment d = device(dst, count);
        if (d == null) return INVALID_VALUE;
        return queue(() -> {
            d.fill(value);
            return SUCCESS;
        });
    }

    /** Runs {@code op} now, or records it while a capture is in progress. */
    private int queue(IntSupplier op) {
        if (recording == null) return op.getAsInt();
        recording.add(op);
        return SUCCESS;
    }

    // ---------------------------------------------------------------- graphs

    private int invalidateCapture() {
        captureInvalidated = true;
        return CAPTURE_UNSUPPORTED;
    }

    @Override
    public synchronized int streamBeginCapture(long stream, int mode) {
        if (recording != null) return INVALID_VALUE;
        recording = new ArrayList<>();
        captureInvalidated = false;
        return SUCCESS;
    }

    @Override
    public synchronized int streamEndCapture(long stream, long[] graph) {
        if (recording == null) return INVALID_VALUE;
        List<IntSupplier> ops = recording;
        recording = null;
        if (captureInvalidated) return CAPTURE_INVALIDATED;
        graph[0] = nextHandle++;
        graphs.put(graph[0], List.copyOf(ops));
        return SUCCESS;
    }

    @Override
    public synchronized int graphInstantiate(long[] exec, long graph) {
        List<IntSupplier> ops = graphs.get(graph);
        if (ops == null) return INVALID_VALUE;
        exec[0] = nextHandle++;
        execs.put(exec[0], ops);
        return SUCCESS;
    }

    @Override
    public synchronized int graphLaunch(long exec, long stream) {
        List<IntSupplier> ops = execs.get(exec);
        if (ops == null) return INVALID_VALUE;
        for (IntSupplier op : ops) {
            int r = op.getAsInt();
            if (r != SUCCESS) return r;
        }
        return SUCCESS;
    }

    @Override public synchronized int graphExecDestroy(long exec) { return execs.remove(exec) != null ? SUCCESS : INVALID_VALUE; }

    @Override public synchronized int graphDestroy(long graph) { return graphs.remove(graph) != null ? SUCCESS : INVALID_VALUE; }
}
