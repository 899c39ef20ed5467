package dev.diffuse4j.runtime.cuda;

/**
 * Picks the process's {@link DriverApi} on first use:
 * the host emulator when {@code -Dd4j.cuda.emulator} names libd4jemu.so, else the real driver
 * through JCuda. Nothing here runs at class-loading time of the runtime: a machine without the
 * native library or the driver keeps the CPU backend and gets a clear
 * {@link CudaUnavailableException} when it asks for CUDA (the same one every time).
 */
final class CudaDriver {
    static final String EMULATOR_PROPERTY = "d4j.cuda.emulator";

    private static volatile DriverApi api;
    private static volatile CudaUnavailableException loadFailure;

    private CudaDriver() {}

    /** The driver of this process, loading it on the first call, or throws saying why there is none. */
    static DriverApi api() {
        DriverApi a = api;
        if (a != null) return a;
        synchronized (CudaDriver.class) {
            if (api != null) return api;
            if (loadFailure != null) throw new CudaUnavailableException(loadFailure.reason(), loadFailure.getCause());
            try {
                String emulator = System.getProperty(EMULATOR_PROPERTY);
                api = emulator != null && !emulator.isBlank() ? EmulatedApi.open(emulator) : JCudaApi.load();
                return api;
            } catch (CudaUnavailableException e) {
                loadFailure = e;
                throw e;
            }
        }
    }

    /** "CUDA_ERROR_OUT_OF_MEMORY (2): out of memory" (just the number before a driver is loaded). */
    static String describe(int code) {
        DriverApi a = api;
        return a != null ? a.describe(code) : "CUresult " + code;
    }
}
