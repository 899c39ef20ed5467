package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cpu.Parallel;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The goldens' deterministic weight rule ({@code goldens/WEIGHTS.md}), bit-exact: element {@code i}
 * of the tensor under full checkpoint key {@code K} is derived from
 * {@code splitmix64(fnv1a64(K) + i)}, scaled by the tensor's kind. Tensors are generated as F32 on
 * request (in parallel, vectorised); the caller closes each one.
 *
 * <p>The kind of a 1-D {@code ...bias} depends on its neighbours (a norm bias has a 1-D
 * {@code ...weight} sibling), so a source is built over the whole set of keys at once.
 */
public final class DeterministicWeights implements TensorSource {
    /** How a tensor is recognised and scaled; names as in the goldens' weight_checks files. */
    public enum Kind {
        /** rank >= 2 and the key contains "embedding": {@code t * 0.02}. */
        EMBEDDING("embedding"),
        /** any other rank >= 2 tensor: {@code t / sqrt(fan_in)}. */
        WEIGHT("weight"),
        /** rank 1, key ends with "weight": {@code 1 + 0.1 t}. */
        NORM_WEIGHT("norm_weight"),
        /** key ends with "bias" and the matching "weight" key is 1-D: {@code 0.05 t}. */
        NORM_BIAS("norm_bias"),
        /** any other "bias": {@code 0.02 t}. */
        BIAS("bias");

        private final String label;

        Kind(String label) { this.label = label; }

        /** The kind's name in WEIGHTS.md and the weight_checks files. */
        public String label() { return label; }
    }

    private static final long FNV_OFFSET = 0xCBF29CE484222325L;
    private static final long FNV_PRIME = 0x100000001B3L;

    private final Map<String, TensorInfo> infos;
    private final Map<String, Kind> kinds;

    /** A source over these keys and shapes (their dtypes are ignored: everything is generated as F32). */
    public DeterministicWeights(Collection<TensorInfo> tensors) {
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (TensorInfo t : tensors) {
            if (m.put(t.key(), new TensorInfo(t.key(), DType.F32, t.shape())) != null)
                throw new WeightsException("deterministic weights: key " + t.key() + " is listed twice");
        }
        Map<String, Kind> k = new LinkedHashMap<>();
        for (TensorInfo t : m.values()) {
            Kind kind = classify(t.key(), t.shape(), m);
            if (kind == null)
                throw new WeightsException("deterministic weights: no rule generates " + t + " (WEIGHTS.md covers rank >= 2 tensors, 1-D ...weight and ...bias; buffers are not generated)");
            k.put(t.key(), kind);
        }
        this.infos = Collections.unmodifiableMap(m);
        this.kinds = Collections.unmodifiableMap(k);
    }

    /** The rule's classification of a key among {@code all} (null: the rule does not generate it). */
    static Kind classify(String key, int[] shape, Map<String, TensorInfo> all) {
        if (shape.length >= 2) return key.contains("embedding") ? Kind.EMBEDDING : Kind.WEIGHT;
        if (shape.length == 1 && key.endsWith("weight")) return Kind.NORM_WEIGHT;
        if (key.endsWith("bias")) {
            TensorInfo w = all.get(key.substring(0, key.length() - 4) + "weight");
            return w != null && w.shape().length == 1 ? Kind.NORM_BIAS : Kind.BIAS;
        }
        return null;
    }

    public Kind kind(String key) {
        info(key);
        return kinds.get(key);
    }

    @Override
    public Set<String> keys() { return infos.keySet(); }

    @Override
    public TensorInfo info(String key) {
        TensorInfo i = infos.get(key);
        if (i == null) throw new WeightsException("deterministic weights: no key \"" + key + "\"");
        return i;
    }

    @Override
    public Tensor tensor(String key) {
        TensorInfo info = info(key);
        Tensor t = Tensor.zeros(DType.F32, info.shape());
        try {
            fill(t, fnv1a64(key), kinds.get(key), fanIn(info.shape()));
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Writes a key's values into an existing contiguous F32 CPU tensor of the key's shape (no allocation). */
    public void fillInto(String key, Tensor out) {
        TensorInfo info = info(key);
        if (!Arrays.equals(out.shape(), info.shape()))
            throw new WeightsException("deterministic weights: " + key + " has shape " + Arrays.toString(info.shape()) + ", the target is " + out.describe());
        fill(out, fnv1a64(key), kinds.get(key), fanIn(info.shape()));
    }

    @Override
    public String describe() { return "deterministic weights (WEIGHTS.md) over " + infos.size() + " keys"; }

    @Override
    public void close() {}

    // ---------------------------------------------------------------- the rule, scalar (the reference)

    /** FNV-1a, 64-bit, over the key's UTF-8 bytes. */
    public static long fnv1a64(String key) {
        long h = FNV_OFFSET;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= FNV_PRIME;
        }
        return h;
    }

    /** One splitmix64 step: the finalizer applied to {@code x + golden gamma}. */
    public static long splitmix64(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** {@code t = 2u - 1} in [-1, 1) from the top 24 bits of the hash (exact in double). */
    static double t(long z) {
        return (z >>> 40) * 0x1p-23 - 1.0;
    }

    /** Product of all dims after the first (the rule's fan_in). */
    public static long fanIn(int[] shape) {
        long f = 1;
        for (int i = 1; i < shape.length; i++) f *= shape[i];
        return f;
    }

    /** Element {@code i} of a tensor with the given seed, kind and fan_in: computed in double, rounded once to float. */
    public static float value(Kind kind, long seed, long i, long fanIn) {
        double t = t(splitmix64(seed + i));
        return switch (kind) {
            case EMBEDDING -> (float) (t * 0.02);
            case WEIGHT -> (float) (t * (1.0 / Math.sqrt((double) fanIn)));
            case NORM_WEIGHT -> (float) (1.0 + 0.1 * t);
            case NORM_BIAS -> (float) (0.05 * t);
            case BIAS -> (float) (0.02 * t);
        };
    }

    // ---------------------------------------------------------------- the rule, fast

    private static final int BLOCK = 1 << 16;

    /** Fills a contiguous F32 tensor with the rule's values, in parallel. */
    static void fill(Tensor t, long seed, Kind kind, long fanIn) {
        if (t.dtype() != DType.F32 || !t.isContiguous())
            throw new IllegalArgumentException("deterministic fill needs a contiguous F32 tensor, got " + t.describe());
        long n = t.numel();
        long base = t.offset() * 4;
        var seg = t.cpuSegment();
        long blocks = (n + BLOCK - 1) / BLOCK;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor too large: " + Arrays.toString(t.shape()));
        Parallel.forRange((int) blocks, 1, (lo, hi) -> {
            long from = (long) lo * BLOCK, to = Math.min(n, (long) hi * BLOCK);
            DeterministicFill.fill(seg, base + from * 4, seed, from, to - from, kind, fanIn);
        });
    }
}
