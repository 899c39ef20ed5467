package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.*;
import java.util.List;

// PLACEHOLDER: replaced by the real implementation in this session
final class Elementwise {
    private Elementwise() {}
    static Tensor unary(UnaryOp op, Tensor x) { throw new IllegalStateException("PLACEHOLDER Elementwise"); }
    static Tensor binary(BinaryOp op, Tensor a, Tensor b) { throw new IllegalStateException("PLACEHOLDER Elementwise"); }
    static Tensor affine(Tensor x, float mul, float add) { throw new IllegalStateException("PLACEHOLDER Elementwise"); }
    static Tensor geglu(Tensor x) { throw new IllegalStateException("PLACEHOLDER Elementwise"); }
}
