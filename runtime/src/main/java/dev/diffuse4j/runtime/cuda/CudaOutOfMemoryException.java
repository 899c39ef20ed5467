package dev.diffuse4j.runtime.cuda;

/**
 * The device has no room for an allocation even after the allocator gave its cached blocks back.
 * An ordinary exception (not an {@link OutOfMemoryError}): the JVM and the backend stay usable, and
 * freeing tensors makes room for a retry.
 */
public final class CudaOutOfMemoryException extends CudaException {
    private final long requested;

    public CudaOutOfMemoryException(String message, long requested) {
        super(message, 2);
        this.requested = requested;
    }

    public long requestedBytes() { return requested; }
}
