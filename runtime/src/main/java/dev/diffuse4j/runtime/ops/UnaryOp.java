package dev.diffuse4j.runtime.ops;

/** Elementwise functions of one tensor. */
public enum UnaryOp {
    /** x * sigmoid(x). */
    SILU,
    /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
    GELU_ERF,
    /** Tanh-approximated GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    GELU_TANH,
    /** CLIP's x * sigmoid(1.702 x). */
    QUICK_GELU,
    SIGMOID,
    EXP,
    NEG,
    SQRT,
    SQUARE
}
