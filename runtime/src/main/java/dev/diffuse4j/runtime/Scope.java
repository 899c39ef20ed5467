package dev.diffuse4j.runtime;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A per-thread arena of tensors: every tensor created on this thread while the scope is open is
 * closed when the scope closes, except those passed to {@link #keep}, which move to the enclosing
 * scope (or become the caller's to close when there is none). Model code opens one scope per block
 * so intermediate activations are freed as soon as the block returns.
 *
 * <pre>{@code
 * try (Scope s = Scope.open()) {
 *     Tensor h = Ops.silu(Ops.groupNorm(x, 32, g, b, 1e-5f));
 *     return s.keep(Ops.add(x, h));
 * }
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread owner;
    private final Map<Tensor, Boolean> tensors = new IdentityHashMap<>();
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
        this.owner = Thread.currentThread();
    }

    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static Scope current() { return CURRENT.get(); }

    static void register(Tensor t) {
        Scope s = CURRENT.get();
        if (s != null) s.tensors.put(t, Boolean.TRUE);
    }

    /** Removes a tensor from this scope and hands it to the enclosing one; returns it. */
    public Tensor keep(Tensor t) {
        if (t == null) return null;
        tensors.remove(t);
        if (parent != null) parent.tensors.put(t, Boolean.TRUE);
        return t;
    }

    /** Keeps several tensors (see {@link #keep(Tensor)}). */
    public List<Tensor> keepAll(List<Tensor> ts) {
        for (Tensor t : ts) keep(t);
        return ts;
    }

    /**
     * Empties this scope without closing anything and returns what it held: the caller now owns
     * those tensors (a model loader takes its weights this way, so they outlive the scope).
     */
    public List<Tensor> takeAll() {
        List<Tensor> all = new ArrayList<>(tensors.keySet());
        tensors.clear();
        return all;
    }

    /** Detaches a tensor from every scope: the caller now owns it and must close it. */
    public static Tensor detach(Tensor t) {
        for (Scope s = CURRENT.get(); s != null; s = s.parent) s.tensors.remove(t);
        return t;
    }

    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) throw new IllegalStateException("a Scope must be closed on the thread that opened it");
        if (CURRENT.get() != this) throw new IllegalStateException("scopes must be closed innermost first");
        closed = true;
        CURRENT.set(parent);
        List<Tensor> all = new ArrayList<>(tensors.keySet());
        tensors.clear();
        for (Tensor t : all) t.close();
    }
}
