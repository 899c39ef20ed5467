package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.kernels.KernelImages;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.diffuse4j.runtime.cuda.CudaDriver.check;

/**
 * One CUDA device as the backend uses it: its primary context (made current on each calling
 * thread), one stream that every op is queued on in order, the kernel modules loaded from
 * {@link KernelImages}, and kernel launches with their errors translated.
 */
final class CudaContext {
    private static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    private static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    private static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    private static final int STATIC_SMEM_LIMIT = 48 * 1024;

    final int index;
    final String name;
    final int smCount, ccMajor, ccMinor, maxSmemPerBlock;
    final long totalMemory;
    final RawStream stream = new RawStream();
    /** Synchronise and check after every launch (-Dd4j.cuda.sync=true): slower, names the failing op. */
    volatile boolean syncEachLaunch = Boolean.getBoolean("d4j.cuda.sync");

    private final CUcontext context = new CUcontext();
    private final CUdevice device = new CUdevice();
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    /** A kernel and the dynamic shared memory it has been allowed so far. */
    static final class Kernel {
        final String name;
        final CUfunction function;
        volatile int smemAllowed = STATIC_SMEM_LIMIT;

        Kernel(String name, CUfunction function) { this.name = name; this.function = function; }
    }

    private CudaContext(int index) {
        this.index = index;
        int r = JCudaDriver.cuInit(0);
        if (r != 0) throw new CudaUnavailableException("the CUDA driver did not initialise: " + CudaDriver.describe(r), null);
        int[] count = new int[1];
        r = JCudaDriver.cuDeviceGetCount(count);
        if (r != 0) throw new CudaUnavailableException("cannot count CUDA devices: " + CudaDriver.describe(r), null);
        if (count[0] == 0) throw new CudaUnavailableException("no CUDA device is visible", null);
        if (index < 0 || index >= count[0])
            throw new CudaUnavailableException("no CUDA device " + index + " (" + count[0] + " visible)", null);
        check(JCudaDriver.cuDeviceGet(device, index), "open cuda:" + index, "cuDeviceGet");
        byte[] nameBytes = new byte[256];
        check(JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device), "open cuda:" + index, "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        name = new String(nameBytes, 0, len);
        smCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        maxSmemPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        long[] mem = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(mem, device), "open cuda:" + index, "cuDeviceTotalMem");
        totalMemory = mem[0];
        if (ccMajor < 8)
            throw new CudaUnavailableException(name + " has compute capability " + ccMajor + "." + ccMinor
                    + "; the kernels need sm_80 or newer (Ampere, Hopper)", null);
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "open cuda:" + index, "cuDevicePrimaryCtxRetain");
        makeCurrent();
        check(JCudaDriver.cuStreamCreate(stream, 0), "open cuda:" + index, "cuStreamCreate");
        loadModules();
    }

    /** Opens device {@code index} or throws {@link CudaUnavailableException} with the reason. */
    static CudaContext open(int index) {
        CudaDriver.load();
        return new CudaContext(index);
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, attr, device), "open cuda:" + index, "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    private void loadModules() {
        if (!KernelImages.available())
            throw new CudaUnavailableException("no CUDA kernels are packaged (diffuse4j-kernels was built without nvcc)", null);
        for (String m : KernelImages.modules()) {
            CUmodule mod = new CUmodule();
            int r = JCudaDriver.cuModuleLoadData(mod, KernelImages.image(m));
            if (r != 0)
                throw new CudaUnavailableException("kernel module '" + m + "' does not load on " + name + " (sm_" + ccMajor + ccMinor
                        + "): " + CudaDriver.describe(r) + "; the fatbins hold sm_80/sm_90a code and compute_80 PTX built by nvcc 13.0, "
                        + "which needs a driver for CUDA 13.0 or newer (R580+)", null);
            modules.put(m, mod);
        }
    }

    /** Makes the device's context current on the calling thread (once per thread). */
    void makeCurrent() {
        if (current.get()) return;
        check(JCudaDriver.cuCtxSetCurrent(context), "cuda:" + index, "cuCtxSetCurrent");
        current.set(true);
    }

    Kernel kernel(String module, String name) {
        return kernels.computeIfAbsent(name, n -> {
            CUmodule mod = modules.get(module);
            if (mod == null) throw new IllegalStateException("kernel module '" + module + "' is not loaded (modules: " + modules.keySet() + ")");
            CUfunction f = new CUfunction();
            check(JCudaDriver.cuModuleGetFunction(f, mod, n), "load kernel " + n, "cuModuleGetFunction(" + module + ", " + n + ")");
            return new Kernel(n, f);
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
            check(JCudaDriver.cuFuncSetAttribute(k.function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem), op,
                    "cuFuncSetAttribute(" + k.name + ", max dynamic shared memory " + smem + ")");
            k.smemAllowed = smem;
        }
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            ps[i] = switch (a) {
                case Long l -> Pointer.to(new long[]{l});
                case Integer n -> Pointer.to(new int[]{n});
                case Float f -> Pointer.to(new float[]{f});
                case byte[] b -> Pointer.to(b);
                default -> throw new IllegalArgumentException(op + ": unsupported kernel argument " + a);
            };
        }
        int r = JCudaDriver.cuLaunchKernel(k.function, gx, gy, gz, block, 1, 1, smem, stream, Pointer.to(ps), null);
        if (r != 0) throw new CudaException(op + ": launching " + k.name + " (grid " + gx + "x" + gy + "x" + gz + ", block " + block
                + ", shared " + smem + " B) failed with " + CudaDriver.describe(r), r);
        if (syncEachLaunch) synchronize(op + " (" + k.name + ")");
    }

    /** Waits for every queued op; an asynchronous kernel fault surfaces here, named by {@code op}. */
    void synchronize(String op) {
        makeCurrent();
        check(JCudaDriver.cuStreamSynchronize(stream), op, "cuStreamSynchronize");
    }

    String describe() {
        return "cuda:" + index + " " + name + " (sm_" + ccMajor + ccMinor + ", " + smCount + " SMs, "
                + (totalMemory >> 20) + " MiB)";
    }
}
