package dev.diffuse4j.weights;

import dev.diffuse4j.runtime.Tensor;

/**
 * How a checkpoint tensor becomes a model parameter: identity, a reshape (1x1 conv stored for a
 * linear layer), a transpose (OpenCLIP text_projection), a block of rows (fused q/k/v in_proj).
 * Results are views where possible, so memory-mapped data is not copied.
 */
@FunctionalInterface
public interface ParamTransform {
    Tensor apply(Tensor source, int[] paramShape);

    ParamTransform IDENTITY = (s, shape) -> s.share();

    /** Same elements, new shape (e.g. [C, C, 1, 1] -> [C, C]). */
    ParamTransform RESHAPE = (s, shape) -> s.reshape(shape);

    /** 2-D transpose, made contiguous. */
    ParamTransform TRANSPOSE = (s, shape) -> {
        try (Tensor t = s.transpose(0, 1)) {
            return t.contiguous();
        }
    };

    /** Rows [part*n, (part+1)*n) of dim 0, where n is the parameter's first dim (q/k/v of a fused projection). */
    static ParamTransform rows(int part) {
        return (s, shape) -> s.slice(0, part * shape[0], (part + 1) * shape[0]);
    }
}
