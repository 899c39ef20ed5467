package dev.diffuse4j.runtime.cuda;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The real CUDA driver through JCuda: the only class that touches JCuda. JCuda's handle objects
 * live in tables keyed by the longs handed out (streams by their native CUstream, the others by
 * a counter); device addresses become {@link CUdeviceptr}s at the call.
 */
final class JCudaApi implements DriverApi {
    private static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private final Handles<CUdevice> devices = new Handles<>();
    private final Handles<CUcontext> contexts = new Handles<>();
    private final Map<Long, CUstream> streams = new ConcurrentHashMap<>();
    private final Handles<CUmodule> modules = new Handles<>();
    private final Handles<CUfunction> functions = new Handles<>();
    private final Handles<CUgraph> graphs = new Handles<>();
    private final Handles<CUgraphExec> execs = new Handles<>();

    private JCudaApi() {}

    /** Loads the JCuda native (which links libcuda.so.1) or throws saying why it cannot. */
    static JCudaApi load() {
        try {
            JCudaDriver.setExceptionsEnabled(false);  // first touch loads libJCudaDriver (and libcuda.so.1)
            return new JCudaApi();
        } catch (LinkageError | RuntimeException e) {
            throw new CudaUnavailableException(explain(String.valueOf(e.getMessage()), e), e);
        }
    }

    /** JCuda's load error lists each attempt; keep the line that says what is missing. */
    private static String explain(String msg, Throwable e) {
        if (msg.contains("libcuda.so.1") && msg.contains("cannot open shared object file"))
            return "no CUDA driver: libcuda.so.1 was not found (install the NVIDIA driver; the kernels need R580 / CUDA 13.0 or newer)";
        for (String line : msg.split("\n"))
            if (line.contains("cannot open shared object file") || line.contains("undefined symbol") || line.contains("GLIBC"))
                return "the JCuda driver native library could not be loaded: " + line.strip();
        int nl = msg.indexOf('\n');
        return "the JCuda driver native library could not be loaded (" + e.getClass().getSimpleName() + ": "
                + (nl < 0 ? msg : msg.substring(0, nl)) + ")";
    }

    @Override public boolean emulated() { return false; }

    @Override
    public String describe(int code) {
        String[] name = new String[1], text = new String[1];
        try {
            JCudaDriver.cuGetErrorName(code, name);
            JCudaDriver.cuGetErrorString(code, text);
        } catch (LinkageError e) {
            return "CUresult " + code;
        }
        return (name[0] != null ? name[0] : "CUresult") + " (" + code + ")" + (text[0] != null ? ": " + text[0] : "");
    }

    @Override public int init() { return JCudaDriver.cuInit(0); }

    @Override public int deviceGetCount(int[] count) { return JCudaDriver.cuDeviceGetCount(count); }

    @Override
    public int deviceGet(long[] device, int ordinal) {
        CUdevice d = new CUdevice();
        int r = JCudaDriver.cuDeviceGet(d, ordinal);
        if (r == 0) device[0] = devices.add(d);
        return r;
    }

    @Override public int deviceGetName(byte[] name, long device) { return JCudaDriver.cuDeviceGetName(name, name.length, devices.get(device)); }

    @Override
    public int deviceGetAttribute(int[] value, int attribute, long device) {
        return JCudaDriver.cuDeviceGetAttribute(value, attribute, devices.get(device));
    }

    @Override public int deviceTotalMem(long[] bytes, long device) { return JCudaDriver.cuDeviceTotalMem(bytes, devices.get(device)); }

    @Override
    public int devicePrimaryCtxRetain(long[] context, long device) {
        CUcontext c = new CUcontext();
        int r = JCudaDriver.cuDevicePrimaryCtxRetain(c, devices.get(device));
        if (r == 0) context[0] = contexts.add(c);
        return r;
    }

    @Override public int ctxSetCurrent(long context) { return JCudaDriver.cuCtxSetCurrent(contexts.get(context)); }

    @Override
    public int streamCreate(long[] stream) {
        RawStream s = new RawStream();
        int r = JCudaDriver.cuStreamCreate(s, 0);
        if (r == 0) {
            streams.put(s.handle(), s);
            stream[0] = s.handle();
        }
        return r;
    }

    private CUstream stream(long handle) {
        CUstream s = streams.get(handle);
        if (s == null) throw new IllegalArgumentException("unknown CUDA stream 0x" + Long.toHexString(handle));
        return s;
    }

    @Override public int streamSynchronize(long stream) { return JCudaDriver.cuStreamSynchronize(stream(stream)); }

    @Override
    public int moduleLoadData(long[] module, String name, byte[] image) {
        CUmodule m = new CUmodule();
        int r = JCudaDriver.cuModuleLoadData(m, image);
        if (r == 0) module[0] = modules.add(m);
        return r;
    }

    @Override
    public int moduleGetFunction(long[] function, long module, String name) {
        CUfunction f = new CUfunction();
        int r = JCudaDriver.cuModuleGetFunction(f, modules.get(module), name);
        if (r == 0) function[0] = functions.add(f);
        return r;
    }

    @Override
    public int funcSetMaxDynamicSharedMemory(long function, int bytes) {
        return JCudaDriver.cuFuncSetAttribute(functions.get(function), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
    }

    @Override
    public int launchKernel(long function, int gx, int gy, int gz, int block, int smemBytes, long stream, Object[] args) {
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            ps[i] = switch (args[i]) {
                case Long l -> Pointer.to(new long[]{l});
                case Integer n -> Pointer.to(new int[]{n});
                case Float f -> Pointer.to(new float[]{f});
                case byte[] b -> Pointer.to(b);
                default -> throw new IllegalArgumentException("unsupported kernel argument " + args[i]);
            };
        }
        return JCudaDriver.cuLaunchKernel(functions.get(function), gx, gy, gz, block, 1, 1, smemBytes, stream(stream), Pointer.to(ps), null);
    }

    /** A device address as JCuda takes it: a null pointer plus the address as byte offset. */
    private static CUdeviceptr ptr(long address) { return new CUdeviceptr().withByteOffset(address); }

    @Override
    public int memAlloc(long[] address, long bytes) {
        DevicePointer p = new DevicePointer();
        int r = JCudaDriver.cuMemAlloc(p, bytes);
        if (r == 0) address[0] = p.address();
        return r;
    }

    @Override public int memFree(long address) { return JCudaDriver.cuMemFree(ptr(address)); }

    @Override public int memGetInfo(long[] free, long[] total) { return JCudaDriver.cuMemGetInfo(free, total); }

    @Override
    public int memcpyHtoD(long dst, MemorySegment src, long bytes, long stream) {
        return JCudaDriver.cuMemcpyHtoDAsync(ptr(dst), Pointer.to(src.asSlice(0, bytes).asByteBuffer()), bytes, stream(stream));
    }

    @Override
    public int memcpyDtoH(MemorySegment dst, long src, long bytes, long stream) {
        return JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(dst.asSlice(0, bytes).asByteBuffer()), ptr(src), bytes, stream(stream));
    }

    @Override
    public int memcpyDtoD(long dst, long src, long bytes, long stream) {
        return JCudaDriver.cuMemcpyDtoDAsync(ptr(dst), ptr(src), bytes, stream(stream));
    }

    @Override public int memsetD8(long dst, byte value, long count, long stream) { return JCudaDriver.cuMemsetD8Async(ptr(dst), value, count, stream(stream)); }

    @Override public int streamBeginCapture(long stream, int mode) { return JCudaDriver.cuStreamBeginCapture(stream(stream), mode); }

    @Override
    public int streamEndCapture(long stream, long[] graph) {
        CUgraph g = new CUgraph();
        int r = JCudaDriver.cuStreamEndCapture(stream(stream), g);
        if (r == 0) graph[0] = graphs.add(g);
        return r;
    }

    @Override
    public int graphInstantiate(long[] exec, long graph) {
        CUgraphExec e = new CUgraphExec();
        int r = JCudaDriver.cuGraphInstantiate(e, graphs.get(graph), 0L);
        if (r == 0) exec[0] = execs.add(e);
        return r;
    }

    @Override public int graphLaunch(long exec, long stream) { return JCudaDriver.cuGraphLaunch(execs.get(exec), stream(stream)); }

    @Override public int graphExecDestroy(long exec) { return JCudaDriver.cuGraphExecDestroy(execs.remove(exec)); }

    @Override public int graphDestroy(long graph) { return JCudaDriver.cuGraphDestroy(graphs.remove(graph)); }

    /** JCuda objects by the handles given out for them. */
    private static final class Handles<T> {
        private final Map<Long, T> byHandle = new ConcurrentHashMap<>();
        private final AtomicLong next = new AtomicLong(1);

        long add(T o) {
            long h = next.getAndIncrement();
            byHandle.put(h, o);
            return h;
        }

        T get(long h) {
            T o = byHandle.get(h);
            if (o == null) throw new IllegalArgumentException("unknown CUDA handle " + h);
            return o;
        }

        T remove(long h) {
            T o = byHandle.remove(h);
            if (o == null) throw new IllegalArgumentException("unknown CUDA handle " + h);
            return o;
        }
    }

    /** A JCuda stream that tells its native handle. */
    private static final class RawStream extends CUstream {
        long handle() { return getNativePointer(); }
    }

    /** A device pointer that tells the address cuMemAlloc wrote into it. */
    private static final class DevicePointer extends CUdeviceptr {
        long address() { return getNativePointer() + getByteOffset(); }
    }
}
