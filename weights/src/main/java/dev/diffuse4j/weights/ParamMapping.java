package dev.diffuse4j.weights;

/**
 * Where a model parameter lives in a checkpoint: key, the shape stored there, and the transform
 * from stored tensor to parameter. One mapping per checkpoint layout (diffusers, LDM/SGM single file).
 */
@FunctionalInterface
public interface ParamMapping {
    Mapped map(ParamSpec param);

    record Mapped(String sourceKey, int[] sourceShape, ParamTransform transform) {
        public Mapped {
            sourceShape = sourceShape.clone();
        }

        @Override
        public int[] sourceShape() { return sourceShape.clone(); }

        /** The parameter is stored under {@code key} with its own shape. */
        public static Mapped same(String key, int[] shape) { return new Mapped(key, shape, ParamTransform.IDENTITY); }
    }

    /** Parameters stored under their own names with a key prefix (diffusers folders: prefix ""). */
    static ParamMapping prefixed(String prefix) {
        return p -> Mapped.same(prefix + p.name(), p.shape());
    }
}
