package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Storage;

/** Device memory behind CUDA tensors: a block of the backend's caching allocator. */
public final class CudaStorage extends Storage {
    private final CudaAllocator allocator;
    private final CudaAllocator.Block block;

    CudaStorage(Device device, CudaAllocator allocator, CudaAllocator.Block block, long byteSize) {
        super(device, byteSize);
        this.allocator = allocator;
        this.block = block;
    }

    /** The device address of the first byte. */
    public long address() {
        if (!isLive()) throw new IllegalStateException("use of a released CUDA tensor storage");
        return block.address;
    }

    @Override
    protected void free() { allocator.release(block); }
}
