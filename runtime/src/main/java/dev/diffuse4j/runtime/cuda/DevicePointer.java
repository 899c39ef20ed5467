package dev.diffuse4j.runtime.cuda;

import jcuda.driver.CUdeviceptr;

/** A JCuda device pointer that also tells its numeric address (to pass inside kernel argument structs). */
final class DevicePointer extends CUdeviceptr {
    DevicePointer() {}

    private DevicePointer(DevicePointer base, long byteOffset) { super(base, byteOffset); }

    /** The device address (base plus byte offset). */
    long address() { return getNativePointer() + getByteOffset(); }

    DevicePointer plus(long byteOffset) { return byteOffset == 0 ? this : new DevicePointer(this, byteOffset); }
}
