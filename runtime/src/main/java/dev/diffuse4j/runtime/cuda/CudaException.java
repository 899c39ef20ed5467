package dev.diffuse4j.runtime.cuda;

/** A CUDA driver call failed; the message names the op, the driver call and the CUDA error. */
public class CudaException extends RuntimeException {
    private final int code;

    public CudaException(String message, int code) {
        super(message);
        this.code = code;
    }

    /** The CUresult code (e.g. 2 for CUDA_ERROR_OUT_OF_MEMORY). */
    public int code() { return code; }
}
