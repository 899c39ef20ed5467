package dev.diffuse4j.runtime;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reference-counted block of device memory shared by a tensor and its views. The memory is
 * released when the last reference goes; nothing waits for the garbage collector.
 */
public abstract class Storage {
    private final AtomicInteger refs = new AtomicInteger(1);
    private final long byteSize;
    private final Device device;

    protected Storage(Device device, long byteSize) {
        this.device = device;
        this.byteSize = byteSize;
    }

    public final Device device() { return device; }

    public final long byteSize() { return byteSize; }

    public final boolean isLive() { return refs.get() > 0; }

    final void retain() {
        int r;
        do {
            r = refs.get();
            if (r <= 0) throw new IllegalStateException("storage of " + byteSize + " bytes on " + device + " was already released");
        } while (!refs.compareAndSet(r, r + 1));
    }

    final void release() {
        int r = refs.decrementAndGet();
        if (r == 0) free();
        else if (r < 0) throw new IllegalStateException("storage released more often than retained");
    }

    /** Gives the memory back. Called exactly once, when the last reference is released. */
    protected abstract void free();
}
