package dev.diffuse4j.runtime.cuda;

import jcuda.driver.CUstream;

/** A JCuda stream that tells its native handle, so libraries bound through FFM (cuBLAS) can queue on it. */
final class RawStream extends CUstream {
    long handle() { return getNativePointer(); }
}
