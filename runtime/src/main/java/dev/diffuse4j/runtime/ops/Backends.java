package dev.diffuse4j.runtime.ops;

import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.cpu.CpuBackend;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the backend for a device. The CPU backend is always present; GPU backends are found through
 * {@link ServiceLoader} ({@link BackendProvider}) and refuse with a clear message where they cannot run.
 */
public final class Backends {
    private static final Map<Device, Backend> BACKENDS = new ConcurrentHashMap<>();

    private Backends() {}

    public static Backend cpu() { return of(Device.CPU); }

    public static Backend of(Device device) {
        Backend b = BACKENDS.get(device);
        if (b != null) return b;
        synchronized (Backends.class) {
            b = BACKENDS.get(device);
            if (b == null) {
                b = create(device);
                BACKENDS.put(device, b);
            }
            return b;
        }
    }

    private static Backend create(Device device) {
        if (device.isCpu()) return CpuBackend.INSTANCE;
        StringBuilder why = new StringBuilder();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.kind() != device.kind()) continue;
            return p.open(device); // throws with the reason when it cannot run here
        }
        why.append("no backend for ").append(device).append(" is on the class path");
        throw new IllegalStateException(why.toString());
    }

    /** Implemented by GPU backends and registered in META-INF/services. */
    public interface BackendProvider {
        Device.Kind kind();

        /** Opens the backend or throws an exception that says why it cannot (no driver, no device, no kernels). */
        Backend open(Device device);
    }
}
