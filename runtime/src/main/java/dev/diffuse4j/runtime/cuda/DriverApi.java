package dev.diffuse4j.runtime.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Every CUDA driver call the backend makes, in the driver's own terms: each returns its CUresult
 * (0 is CUDA_SUCCESS) and writes results into one-element arrays. Handles (device, context,
 * stream, module, function, graph) are opaque longs, device memory is a raw address. Two
 * implementations: {@link JCudaApi} (the real driver through JCuda) and {@link EmulatedApi} (the
 * kernels compiled for the host, chosen with {@code -Dd4j.cuda.emulator=<path of libd4jemu.so>}).
 * {@link CudaDriver#api()} picks one per process.
 */
interface DriverApi {
    /** True for the host emulator: numbers measured on it say nothing about a GPU. */
    boolean emulated();

    /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", for messages. */
    String describe(int code);

    int init();

    int deviceGetCount(int[] count);

    int deviceGet(long[] device, int ordinal);

    int deviceGetName(byte[] name, long device);

    int deviceGetAttribute(int[] value, int attribute, long device);

    int deviceTotalMem(long[] bytes, long device);

    int devicePrimaryCtxRetain(long[] context, long device);

    int ctxSetCurrent(long context);

    /** The stream handle is the driver's CUstream, which cuBLAS also takes. */
    int streamCreate(long[] stream);

    int streamSynchronize(long stream);

    /** Loads the module {@code name} from its fatbin {@code image} (null where the emulator ignores it). */
    int moduleLoadData(long[] module, String name, byte[] image);

    int moduleGetFunction(long[] function, long module, String name);

    /** cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES). */
    int funcSetMaxDynamicSharedMemory(long function, int bytes);

    /**
     * Queues a 1-D-block launch; each argument is a {@link Long} (device address or 64-bit
     * integer), {@link Integer}, {@link Float} or {@code byte[]} (a struct passed by value).
     */
    int launchKernel(long function, int gx, int gy, int gz, int block, int smemBytes, long stream, Object[] args);

    int memAlloc(long[] address, long bytes);

    int memFree(long address);

    int memGetInfo(long[] free, long[] total);

    /** Host memory is a native segment of at least {@code bytes}, at most 2 GiB per call. */
    int memcpyHtoD(long dst, MemorySegment src, long bytes, long stream);

    int memcpyDtoH(MemorySegment dst, long src, long bytes, long stream);

    int memcpyDtoD(long dst, long src, long bytes, long stream);

    int memsetD8(long dst, byte value, long count, long stream);

    int streamBeginCapture(long stream, int mode);

    int streamEndCapture(long stream, long[] graph);

    int graphInstantiate(long[] exec, long graph);

    int graphLaunch(long exec, long stream);

    int graphExecDestroy(long exec);

    int graphDestroy(long graph);
}
