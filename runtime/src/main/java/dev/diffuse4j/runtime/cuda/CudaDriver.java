package dev.diffuse4j.runtime.cuda;

import jcuda.driver.JCudaDriver;

/**
 * Loads JCuda's driver-API native on first use and translates CUresult codes into exceptions.
 * Nothing here runs at class-loading time of the runtime: a machine without the native library
 * or the driver keeps the CPU backend and gets a clear {@link CudaUnavailableException} when it
 * asks for CUDA.
 */
final class CudaDriver {
    private static volatile String loadFailure;
    private static volatile boolean loaded;

    private CudaDriver() {}

    /** Loads the JCuda native (which links libcuda.so.1) or throws saying why it cannot. */
    static synchronized void load() {
        if (loaded) return;
        if (loadFailure != null) throw new CudaUnavailableException(loadFailure, null);
        try {
            JCudaDriver.setExceptionsEnabled(false);  // first touch loads libJCudaDriver (and libcuda.so.1)
            loaded = true;
        } catch (LinkageError | RuntimeException e) {
            loadFailure = explain(String.valueOf(e.getMessage()), e);
            throw new CudaUnavailableException(loadFailure, e);
        }
    }

    /** JCuda's load error lists each attempt; keep the line that says what is missing. */
    private static String explain(String msg, Throwable e) {
        if (msg.contains("libcuda.so.1") && msg.contains("cannot open shared object file"))
            return "no CUDA driver: libcuda.so.1 was not found (install the NVIDIA driver; the kernels need R580 / CUDA 13.0 or newer)";
        for (String line : msg.split("\n"))
            if (line.contains("cannot open shared object file") || line.contains("undefined symbol") || line.contains("GLIBC"))
                return "the JCuda driver native library could not be loaded: " + line.strip();
        return "the JCuda driver native library could not be loaded (" + e.getClass().getSimpleName() + ": " + firstLine(msg) + ")";
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory". */
    static String describe(int code) {
        String[] name = new String[1], text = new String[1];
        try {
            JCudaDriver.cuGetErrorName(code, name);
            JCudaDriver.cuGetErrorString(code, text);
        } catch (LinkageError e) {
            return "CUresult " + code;
        }
        return (name[0] != null ? name[0] : "CUresult") + " (" + code + ")" + (text[0] != null ? ": " + text[0] : "");
    }

    /** Throws a {@link CudaException} naming the op and the call when {@code result} is not CUDA_SUCCESS. */
    static void check(int result, String op, String call) {
        if (result != 0) throw new CudaException(op + ": " + call + " failed with " + describe(result), result);
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
