package dev.diffuse4j.runtime.cuda;

/** The CUDA backend cannot run here: no JCuda native, no driver, no device, or no packaged kernels. */
public final class CudaUnavailableException extends RuntimeException {
    private final String reason;

    public CudaUnavailableException(String reason, Throwable cause) {
        super("CUDA backend unavailable: " + reason, cause);
        this.reason = reason;
    }

    /** The reason alone, without the "CUDA backend unavailable: " prefix. */
    public String reason() { return reason; }
}
