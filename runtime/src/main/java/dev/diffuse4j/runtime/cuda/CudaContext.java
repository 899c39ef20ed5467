package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.kernels.KernelImages;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One CUDA device as the backend uses it: its primary context (made current on each calling
 * thread), one stream that every op is queued on in order, the kernel modules loaded from
 * {@link KernelImages}, and kernel launches with their errors translated. Every driver call goes
 * through {@link #api} (the GPU's driver, or the host emulator).
 */
final class CudaContext {
    private static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    private static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    private static final int STATIC_SMEM_LIMIT = 48 * 1024;

    final DriverApi api;
    final int index;
    final String name;
    final int smCount, ccMajor, ccMinor, maxSmemPerBlock;
    final long totalMemory;
    /** The driver's CUstream every op is queued on. */
    final long stream;
    /** Synchronise and check after every launch (-Dd4j.cuda.sync=true): slower, names the failing op. */
    volatile boolean syncEachLaunch = Boolean.getBoolean("d4j.cuda.sync");

    private final long context, device;
    private final Map<String, Long> modules = new HashMap<>();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    /** A kernel and the dynamic shared memory it has been allowed so far. */
    static final class Kernel {
        final String name;
        final long function;
        volatile int smemAllowed = STATIC_SMEM_LIMIT;

        Kernel(String name, long function) { this.name = name; this.function = function; }
    }

    private CudaContext(DriverApi api, int index) {
        this.api = api;
        this.index = index;
        int r = api.init();
        if (r != 0) throw new CudaUnavailableException("the CUDA driver did not initialise: " + api.describe(r), null);
        int[] count = new int[1];
        r = api.deviceGetCount(count);
        if (r != 0) throw new CudaUnavailableException("cannot count CUDA devices: " + api.describe(r), null);
        if (count[0] == 0) throw new CudaUnavailableException("no CUDA device is visible", null);
        if (index < 0 || index >= count[0])
            throw new CudaUnavailableException("no CUDA device " + index + " (" + count[0] + " visible)", null);
        long[] handle = new long[1];
        check(api.deviceGet(handle, index), "open cuda:" + index, "cuDeviceGet");
        device = handle[0];
        byte[] nameBytes = new byte[256];
        check(api.deviceGetName(nameBytes, device), "open cuda:" + index, "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        name = new String(nameBytes, 0, len);
        smCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        maxSmemPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] mem = new long[1];
        check(api.deviceTotalMem(mem, device), "open cuda:" + index, "cuDeviceTotalMem");
        totalMemory = mem[0];
        if (ccMajor < 8)
            throw new CudaUnavailableException(name + " has compute capability " + ccMajor + "." + ccMinor
                    + "; the kernels need sm_80 or newer (Ampere, Hopper)", null);
        check(api.devicePrimaryCtxRetain(handle, device), "open cuda:" + index, "cuDevicePrimaryCtxRetain");
        context = handle[0];
        makeCurrent();
        check(api.streamCreate(handle), "open cuda:" + index, "cuStreamCreate");
        stream = handle[0];
        loadModules();
    }

    /** Opens device {@code index} of {@code api} or throws {@link CudaUnavailableException} with the reason. */
    static CudaContext open(DriverApi api, int index) { return new CudaContext(api, index); }

    /** Throws a {@link CudaException} naming the op and the call when {@code result} is not CUDA_SUCCESS. */
    void check(int result, String op, String call) {
        if (result != 0) throw new CudaException(op + ": " + call + " failed with " + api.describe(result), result);
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        check(api.deviceGetAttribute(v, attr, device), "open cuda:" + index, "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    /** The packaged fatbins; the emulator needs none (its kernels are in its library) and takes the modules the backend uses. */
    private void loadModules() {
        List<String> names = api.emulated() ? List.copyOf(CudaKernels.catalog().keySet()) : KernelImages.modules();
        if (names.isEmpty())
            throw new CudaUnavailableException("no CUDA kernels are packaged (diffuse4j-kernels was built without nvcc)", null);
        long[] mod = new long[1];
        for (String m : names) {
            int r = api.moduleLoadData(mod, m, api.emulated() ? null : KernelImages.image(m));
            if (r != 0)
                throw new CudaUnavailableException("kernel module '" + m + "' does not load on " + name + " (sm_" + ccMajor + ccMinor
                        + "): " + api.describe(r) + "; the fatbins hold sm_80/sm_90a code and compute_80 PTX built by nvcc 13.0, "
                        + "which needs a driver for CUDA 13.0 or newer (R580+)", null);
            modules.put(m, mod[0]);
        }
    }

    /** Makes the device's context current on the calling thread (once per thread). */
    void makeCurrent() {
        if (current.get()) return;
        check(api.ctxSetCurrent(context), "cuda:" + index, "cuCtxSetCurrent");
        current.set(true);
    }

    Kernel kernel(String module, String name) {
        return kernels.computeIfAbsent(name, n -> {
            Long mod = modules.get(module);
            if (mod == null) throw new IllegalStateException("kernel module '" + module + "' is not loaded (modules: " + modules.keySet() + ")");
            long[] f = new long[1];
            check(api.moduleGetFunction(f, mod, n), "load kernel " + n, "cuModuleGetFunction(" + module + ", " + n + ")");
            return new Kernel(n, f[0]);
        });
    }

    /**
     * Queues a kernel. Arguments: {@link Long} (device address or 64-bit integer), {@link Integer},
     * {@link Float} or {@code byte[]} (a struct passed by value, see {@link CStruct}).
     */
    void launch(String op, Kernel k, int gx, int gy, int gz, int block, int smem, Object... args) {
        makeCurrent();
        if (gx <= 0 || gy <= 0 || gz <= 0) return;  // empty tensor: nothing to do
        if (gy > 65535 || gz > 65535)
            throw new IllegalArgumentException(op + ": launch grid " + gx + "x" + gy + "x" + gz + " exceeds the y/z limit of 65535");
        if (smem > k.smemAllowed) {
            if (smem > maxSmemPerBlock)
                throw new IllegalArgumentException(op + ": kernel " + k.name + " needs " + smem + " bytes of shared memory; "
                        + name + " allows " + maxSmemPerBlock);
            check(api.funcSetMaxDynamicSharedMemory(k.function, smem), op,
                    "cuFuncSetAttribute(" + k.name + ", max dynamic shared memory " + smem + ")");
            k.smemAllowed = smem;
        }
        for (Object a : args)
            if (!(a instanceof Long || a instanceof Integer || a instanceof Float || a instanceof byte[]))
                throw new IllegalArgumentException(op + ": unsupported kernel argument " + a);
        int r = api.launchKernel(k.function, gx, gy, gz, block, smem, stream, args);
        if (r != 0) throw new CudaException(op + ": launching " + k.name + " (grid " + gx + "x" + gy + "x" + gz + ", block " + block
                + ", shared " + smem + " B) failed with " + api.describe(r), r);
        if (syncEachLaunch) synchronize(op + " (" + k.name + ")");
    }

    /** Waits for every queued op; an asynchronous kernel fault surfaces here, named by {@code op}. */
    void synchronize(String op) {
        makeCurrent();
        check(api.streamSynchronize(stream), op, "cuStreamSynchronize");
    }

    String describe() {
        return "cuda:" + index + " " + name + " (sm_" + ccMajor + ccMinor + ", " + smCount + " SMs, "
                + (totalMemory >> 20) + " MiB" + (api.emulated() ? "; EMULATED on the host CPU, not a GPU" : "") + ")";
    }
}
