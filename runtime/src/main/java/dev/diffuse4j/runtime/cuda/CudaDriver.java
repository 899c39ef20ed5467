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
            String msg = String.valueOf(e.getMessage());
            loadFailure = msg.contains("libcuda") || msg.contains("cannot open shared object")
                    ? "no CUDA driver (libcuda.so.1 could not be loaded: " + firstLine(msg) + ")"
                    : "the JCuda driver native library could not be loaded (" + e.getClass().getSimpleName() + ": " + firstLine(msg) + ")";
            throw new CudaUnavailableException(loadFailure, e);
        }
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
