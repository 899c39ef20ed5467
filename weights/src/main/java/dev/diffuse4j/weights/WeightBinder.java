package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Matches a model's parameters against a checkpoint. Every problem is collected first (missing
 * keys, mis-shaped keys, and source keys under the component's prefix that nothing uses) and
 * reported in one {@link WeightMismatchException}; nothing is returned unless every parameter binds.
 */
public final class WeightBinder {
    private WeightBinder() {}

    /**
     * @param specs          the model's parameters
     * @param source         the checkpoint
     * @param mapping        where each parameter lives in it
     * @param componentKeys  which source keys belong to this component (for "unexpected")
     * @param ignorable      source keys that may be present without being used (buffers like position_ids)
     * @return parameter name -> tensor (views into the source where possible); the caller owns them
     */
    public static Map<String, Tensor> bind(List<ParamSpec> specs, TensorSource source, ParamMapping mapping,
                                           Predicate<String> componentKeys, Predicate<String> ignorable) {
        List<String> missing = new ArrayList<>();
        List<String> misshaped = new ArrayList<>();
        Set<String> used = new HashSet<>();
        Map<ParamSpec, ParamMapping.Mapped> plan = new LinkedHashMap<>();
        for (ParamSpec p : specs) {
            ParamMapping.Mapped m = mapping.map(p);
            used.add(m.sourceKey());
            if (!source.contains(m.sourceKey())) {
                missing.add(m.sourceKey() + " (for " + p.name() + ", expected " + Arrays.toString(m.sourceShape()) + ")");
                continue;
            }
            int[] have = source.info(m.sourceKey()).shape();
            if (!Arrays.equals(have, m.sourceShape())) {
                misshaped.add(m.sourceKey() + ": checkpoint has " + Arrays.toString(have) + ", model expects " + Arrays.toString(m.sourceShape()));
                continue;
            }
            if (!source.info(m.sourceKey()).dtype().isFloating()) {
                misshaped.add(m.sourceKey() + ": dtype " + source.info(m.sourceKey()).dtype() + " is not a float type");
                continue;
            }
            plan.put(p, m);
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : source.keys()) if (componentKeys.test(k) && !used.contains(k) && !ignorable.test(k)) unexpected.add(k);
        if (!missing.isEmpty() || !misshaped.isEmpty() || !unexpected.isEmpty())
            throw new WeightMismatchException(source.describe(), missing, unexpected, misshaped);

        Map<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<ParamSpec, ParamMapping.Mapped> e : plan.entrySet()) {
                ParamSpec p = e.getKey();
                try (Tensor src = source.tensor(e.getValue().sourceKey())) {
                    Tensor t = e.getValue().transform().apply(src, p.shape());
                    if (!Arrays.equals(t.shape(), p.shape()))
                        throw new WeightsException("transform of " + e.getValue().sourceKey() + " gave " + t.describe() + ", parameter " + p + " expected");
                    out.put(p.name(), t);
                }
            }
        } catch (RuntimeException ex) {
            out.values().forEach(Tensor::close);
            throw ex;
        }
        return out;
    }
}
