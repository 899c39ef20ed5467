package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;

/** Registers {@link CudaBackend} with {@link Backends} (META-INF/services). */
public final class CudaBackendProvider implements Backends.BackendProvider {
    @Override public Device.Kind kind() { return Device.Kind.CUDA; }

    @Override public Backend open(Device device) { return CudaBackend.open(device); }
}
