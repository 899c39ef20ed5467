package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation over the ops API (DESIGN §2). While a tape is open on a
 * thread, every {@link Ops} call and {@link Tensor} view whose inputs depend on a {@linkplain #watch
 * watched} tensor is recorded with what its backward rule needs; ops on constants (weights, text
 * embeddings that were not watched) are not recorded and cost nothing extra.
 *
 * <pre>{@code
 * try (Tape tape = Tape.record()) {
 *     Tensor x = tape.watch(latent);
 *     Tensor y = model.forward(x, ...);
 *     Gradients g = tape.backward(Map.of(y, dLossDy));
 *     Tensor dx = g.of(x);          // owned by the tape: copy or share() it to keep it past close()
 * }
 * }</pre>
 *
 * Memory: the tape keeps its own references ({@link Tensor#share()}, detached from every
 * {@link Scope}) to the tensors its backward rules need, so closing the scopes of the forward pass
 * does not free them; {@link #backward} frees each op's saved tensors and consumed gradients as it
 * walks back; {@link #close()} frees everything that is left, including the returned gradients and
 * the handles {@link #watch} returned. A tape records on the thread that opened it only; tapes do
 * not nest. One backward pass per tape; ops run after it (say, the update {@code x - lr * dx}) are
 * not recorded.
 */
public final class Tape implements AutoCloseable {
    private static final ThreadLocal<Tape> CURRENT = new ThreadLocal<>();

    private final Thread owner = Thread.currentThread();
    private final Map<Tensor, Integer> ids = new IdentityHashMap<>();
    private final List<int[]> shapes = new ArrayList<>();
    private final List<Tensor> watched = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private Gradients gradients;
    private boolean paused, backwardDone, closed;

    private Tape() {}

    /** Opens a tape on this thread. Throws when one is already open here (tapes do not nest). */
    public static Tape record() {
        Tape open = CURRENT.get();
        if (open != null)
            throw new IllegalStateException("Tape.record: a tape is already recording on thread " + Thread.currentThread().getName()
                    + "; tapes do not nest (close the open one first)");
        Tape t = new Tape();
        CURRENT.set(t);
        return t;
    }

    /** The tape recording on this thread, or null when none is open or its backward pass is running. */
    public static Tape current() {
        Tape t = CURRENT.get();
        return t == null || t.paused ? null : t;
    }

    /**
     * Marks {@code x} as a leaf whose gradient {@link #backward} computes. Returns a new handle to the
     * same data (owned by the tape, closed with it); only computations through the returned handle are
     * differentiated. {@code x} must be a floating-point tensor.
     */
    public Tensor watch(Tensor x) {
        checkUsable("watch");
        if (!x.dtype().isFloating())
            throw new IllegalArgumentException("Tape.watch: " + x.describe() + " is not a floating-point tensor");
        Tensor leaf = quietShare(x);
        watched.add(leaf);
        track(leaf);
        return leaf;
    }

    /** Whether {@code t} depends on a watched tensor through recorded ops (watched handles included). */
    public boolean tracks(Tensor t) { return t != null && ids.containsKey(t); }

    /** Backward from a scalar (one-element) loss: its seed is 1. */
    public Gradients backward(Tensor scalarLoss) {
        if (scalarLoss.numel() != 1)
            throw new IllegalArgumentException("Tape.backward: the loss " + scalarLoss.describe()
                    + " has more than one element; pass seeds with backward(Map)");
        try (Tensor one = Ops.full(scalarLoss.device(), DType.F32, 1f, scalarLoss.shape())) {
            return backward(Map.of(scalarLoss, one));
        }
    }

    /**
     * Runs the backward pass. {@code seeds} maps recorded tensors to dLoss/dTensor (same shape; the
     * caller keeps ownership of the seeds). Returns the gradients with respect to the watched tensors.
     */
    public Gradients backward(Map<Tensor, Tensor> seeds) {
        checkUsable("backward");
        if (backwardDone) throw new IllegalStateException("Tape.backward: this tape already ran its backward pass (its saved tensors are freed)");
        if (seeds.isEmpty()) throw new IllegalArgumentException("Tape.backward: no seeds");
        Tensor[] grads = new Tensor[shapes.size()];
        for (Map.Entry<Tensor, Tensor> e : seeds.entrySet()) {
            Integer id = ids.get(e.getKey());
            if (id == null)
                throw new IllegalArgumentException("Tape.backward: seeded tensor " + e.getKey().describe()
                        + " was not recorded by this tape (it does not depend on a watched tensor, or was made outside the tape)");
            Tensor seed = e.getValue();
            if (!Arrays.equals(seed.shape(), shapes.get(id)))
                throw new IllegalArgumentException("Tape.backward: seed " + seed.describe() + " does not match the shape of its tensor "
                        + e.getKey().describe());
            if (!seed.device().equals(e.getKey().device()))
                throw new IllegalArgumentException("Tape.backward: seed on " + seed.device() + " for a tensor on " + e.getKey().device());
            grads[id] = quietShare(seed);
        }
        backwardDone = true;
        paused = true;
        try {
            for (int n = nodes.size() - 1; n >= 0; n--) {
                Node node = nodes.get(n);
                nodes.set(n, null);
                try (node) {
                    step(node, grads);
                }
            }
        } finally {
            paused = false;
        }
        Map<Tensor, Tensor> byLeaf = new IdentityHashMap<>();
        for (Tensor leaf : watched) {
            int id = ids.get(leaf);
            if (grads[id] != null && !byLeaf.containsKey(leaf)) {
                byLeaf.put(leaf, grads[id]);
                grads[id] = null;
            }
        }
        for (Tensor g : grads) if (g != null) g.close();
        nodes.clear();
        gradients = new Gradients(byLeaf, watched);
        return gradients;
    }

    private void step(Node node, Tensor[] grads) {
        Tensor[] dOut = new Tensor[node.outputs.length];
        boolean any = false;
        for (int i = 0; i < dOut.length; i++) {
            dOut[i] = grads[node.outputs[i]];
            grads[node.outputs[i]] = null;
            any |= dOut[i] != null;
        }
        if (!any) return;
        Tensor[] dIn;
        try (Scope s = Scope.open()) {
            dIn = node.rule.apply(dOut);
            for (Tensor d : dIn) if (d != null) Scope.detach(d);
        }
        for (Tensor d : dOut) if (d != null && !contains(dIn, d)) d.close();
        for (int i = 1; i < dIn.length; i++)  // a rule may hand the same tensor to two inputs: each slot owns its own handle
            for (int j = 0; j < i; j++) if (dIn[i] != null && dIn[i] == dIn[j]) { dIn[i] = quietShare(dIn[i]); break; }
        for (int i = 0; i < node.inputs.length; i++) {
            int id = node.inputs[i];
            Tensor d = dIn[i];
            if (id < 0 || d == null) {
                if (d != null && !contains(dOut, d)) d.close();
                continue;
            }
            if (!Arrays.equals(d.shape(), shapes.get(id)))
                throw new IllegalStateException("autograd: the backward rule of " + node.op + " produced a gradient " + d.describe()
                        + " for input " + i + " of shape " + Arrays.toString(shapes.get(id)));
            if (grads[id] == null) {
                grads[id] = d;
            } else {
                Tensor sum;
                try (Scope s = Scope.open()) {
                    sum = Scope.detach(Ops.add(grads[id], d));
                }
                grads[id].close();
                d.close();
                grads[id] = sum;
            }
        }
    }

    private static boolean contains(Tensor[] ts, Tensor t) {
        for (Tensor x : ts) if (x == t) return true;
        return false;
    }

    /** Frees what the tape still holds: saved tensors, watched handles, gradients. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) throw new IllegalStateException("a Tape must be closed on the thread that opened it");
        closed = true;
        if (CURRENT.get() == this) CURRENT.remove();
        for (Node n : nodes) if (n != null) n.close();
        nodes.clear();
        if (gradients != null) gradients.close();
        for (Tensor w : watched) w.close();
        watched.clear();
        ids.clear();
    }

    // ---------------------------------------------------------------- recording (package-private)

    /**
     * Starts recording an op over {@code inputs} (nulls allowed), or returns null when no tape records
     * on this thread or none of the inputs is tracked: the caller then returns its result untouched.
     */
    static Recording op(String name, Tensor... inputs) {
        Tape t = current();
        if (t == null || t.backwardDone) return null;  // after backward nothing more can be differentiated
        int[] in = new int[inputs.length];
        boolean any = false;
        for (int i = 0; i < inputs.length; i++) {
            Integer id = inputs[i] == null ? null : t.ids.get(inputs[i]);
            in[i] = id == null ? -1 : id;
            any |= id != null;
        }
        return any ? new Recording(t, name, in) : null;
    }

    /** An op being recorded: save what the rule needs, then {@link #finish} with the rule and the outputs. */
    static final class Recording {
        private final Tape tape;
        private final String name;
        private final int[] inputs;
        private final List<Tensor> saved = new ArrayList<>();

        private Recording(Tape tape, String name, int[] inputs) {
            this.tape = tape;
            this.name = name;
            this.inputs = inputs;
        }

        /** Whether input {@code i} is tracked (its gradient is wanted). */
        boolean needs(int i) { return inputs[i] >= 0; }

        /** The tape's own reference to {@code t} (freed when the op's backward ran or the tape closes); null stays null. */
        Tensor save(Tensor t) {
            if (t == null) return null;
            Tensor s = quietShare(t);
            saved.add(s);
            return s;
        }

        /** Registers the outputs (nulls allowed: an absent optional output) and the backward rule. */
        void finish(Rule rule, Tensor... outputs) {
            int[] out = new int[outputs.length];
            for (int i = 0; i < outputs.length; i++) out[i] = outputs[i] == null ? -1 : tape.track(outputs[i]);
            int n = 0;
            for (int o : out) if (o >= 0) n++;
            int[] present = new int[n];
            Tensor[] order = new Tensor[n];
            int k = 0;
            for (int i = 0; i < out.length; i++) if (out[i] >= 0) { present[k] = out[i]; order[k++] = outputs[i]; }
            Rule r = present.length == out.length ? rule : dOut -> {
                Tensor[] full = new Tensor[out.length];
                for (int i = 0, j = 0; i < out.length; i++) if (out[i] >= 0) full[i] = dOut[j++];
                return rule.apply(full);
            };
            tape.nodes.add(new Node(name, inputs, present, r, saved));
        }
    }

    private int track(Tensor t) {
        Integer old = ids.get(t);
        if (old != null) return old;
        int id = shapes.size();
        shapes.add(t.shape());
        ids.put(t, id);
        return id;
    }

    private void checkUsable(String what) {
        if (closed) throw new IllegalStateException("Tape." + what + ": the tape is closed");
        if (Thread.currentThread() != owner) throw new IllegalStateException("Tape." + what + ": a tape is used on the thread that opened it");
    }

    /** share() without recording and without registering in any scope: the tape owns the result. */
    private static Tensor quietShare(Tensor t) {
        Tape cur = CURRENT.get();
        boolean was = cur != null && cur.paused;
        if (cur != null) cur.paused = true;
        try {
            return Scope.detach(t.share());
        } finally {
            if (cur != null) cur.paused = was;
        }
    }

    /** Maps output gradients (null where an output was not reached) to input gradients (null where not needed). */
    @FunctionalInterface
    interface Rule {
        Tensor[] apply(Tensor[] dOut);
    }

    private record Node(String op, int[] inputs, int[] outputs, Rule rule, List<Tensor> saved) implements AutoCloseable {
        @Override
        public void close() {
            for (Tensor t : saved) t.close();
        }
    }
}
