package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of {@link Tape#backward}: dLoss/dx for each watched tensor x. The tensors belong to the
 * tape and are closed with it; {@code share()} one (or copy it) to keep it longer.
 */
public final class Gradients implements AutoCloseable {
    private final Map<Tensor, Tensor> reached;
    private final List<Tensor> watched;
    private final Map<Tensor, Tensor> zeros = new IdentityHashMap<>();
    private boolean closed;

    Gradients(Map<Tensor, Tensor> reached, List<Tensor> watched) {
        this.reached = reached;
        this.watched = watched;
    }

    /**
     * The gradient with respect to a handle returned by {@link Tape#watch}. A watched tensor that the
     * seeded outputs do not depend on gets a tensor of zeros of its shape (never null; see {@link #reached}).
     */
    public Tensor of(Tensor watchedHandle) {
        if (closed) throw new IllegalStateException("Gradients.of: the tape that produced these gradients is closed");
        Tensor g = reached.get(watchedHandle);
        if (g != null) return g;
        g = zeros.get(watchedHandle);
        if (g != null) return g;
        boolean known = false;
        for (Tensor w : watched) known |= w == watchedHandle;
        if (!known)
            throw new IllegalArgumentException("Gradients.of: " + watchedHandle.describe() + " is not a handle returned by this tape's watch()");
        g = Scope.detach(Ops.full(watchedHandle.device(), watchedHandle.dtype(), 0f, watchedHandle.shape()));
        zeros.put(watchedHandle, g);
        return g;
    }

    /** Whether the seeded outputs depend on {@code watchedHandle} (else {@link #of} returns zeros). */
    public boolean reached(Tensor watchedHandle) { return reached.containsKey(watchedHandle); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Tensor g : reached.values()) g.close();
        for (Tensor g : zeros.values()) g.close();
        reached.clear();
        zeros.clear();
    }
}
