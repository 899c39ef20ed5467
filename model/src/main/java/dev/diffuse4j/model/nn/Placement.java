package dev.diffuse4j.model.nn;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * Where a model's weights live and in which storage type its activations flow (PyTorch's
 * {@code model.to(device, dtype)}). Arithmetic is F32 on every backend; the activation type only
 * sets how results are stored between ops: F16/BF16 halve activation memory and let the GPU use
 * tensor cores, at the cost of one rounding per op.
 *
 * <p>Float weights are stored in the activation type when that is F16/BF16 (the kernels read
 * weights and activations of one type). With F32 activations the GPU keeps F32 weights (no
 * conversion per call), while the CPU keeps them as the checkpoint stores them (F16 weights are
 * widened as they are read: half the memory).
 */
public record Placement(Device device, DType activations) {
    public Placement {
        if (device == null) throw new IllegalArgumentException("placement: no device");
        if (activations != DType.F32 && activations != DType.F16 && activations != DType.BF16)
            throw new IllegalArgumentException("placement: activations must be F32, F16 or BF16, got " + activations);
    }

    /** F32 activations on {@code device}. */
    public static Placement of(Device device) { return new Placement(device, DType.F32); }

    /** What {@code --dtype auto} means: F16 on a GPU, F32 on the CPU (whose arithmetic is F32 anyway). */
    public static Placement auto(Device device) { return new Placement(device, device.isCpu() ? DType.F32 : DType.F16); }

    public Placement withActivations(DType t) { return new Placement(device, t); }

    /** The storage type of a weight the checkpoint stores as {@code stored}. */
    public DType weightType(DType stored) {
        if (!stored.isFloating()) return stored;
        if (activations != DType.F32) return activations;
        return device.isCpu() && (stored == DType.F16 || stored == DType.BF16) ? stored : DType.F32;
    }

    /**
     * A weight bound from the checkpoint, on this device in its {@link #weightType}: the same tensor
     * (shared) when nothing changes, else a new one (converted on the host before an upload, so
     * F16 weights cross the bus at half size). The caller still owns {@code host}.
     */
    public Tensor place(Tensor host) {
        DType t = weightType(host.dtype());
        if (device.equals(host.device())) return t == host.dtype() ? host.share() : Ops.cast(host, t);
        if (t == host.dtype()) return Ops.to(host, device);
        try (Tensor converted = Ops.cast(host, t)) {
            return Ops.to(converted, device);
        }
    }

    /** An activation in this placement's storage type: x itself (shared) when it already is, else a converted copy. */
    public static Tensor as(Tensor x, DType activations) {
        return x.dtype() == activations ? x.share() : Ops.cast(x, activations);
    }

    @Override
    public String toString() { return device + " " + activations; }
}
