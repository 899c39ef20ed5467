package dev.diffuse4j.runtime;

/**
 * Element types a tensor can hold. Compute dtypes are F32/F16/BF16 (CPU computes in F32, the GPU
 * stores F16/BF16 and accumulates in F32); integer types carry ids; F64/I16/I8/U8/BOOL exist so that
 * every safetensors dtype can be exposed zero-copy and converted.
 */
public enum DType {
    F64(8, true, "F64"),
    F32(4, true, "F32"),
    F16(2, true, "F16"),
    BF16(2, true, "BF16"),
    I64(8, false, "I64"),
    I32(4, false, "I32"),
    I16(2, false, "I16"),
    I8(1, false, "I8"),
    U8(1, false, "U8"),
    BOOL(1, false, "BOOL");

    private final int byteSize;
    private final boolean floating;
    private final String safetensorsName;

    DType(int byteSize, boolean floating, String safetensorsName) {
        this.byteSize = byteSize;
        this.floating = floating;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() { return byteSize; }

    public boolean isFloating() { return floating; }

    /** The dtype's name in safetensors headers ("F32", "BF16", ...). */
    public String safetensorsName() { return safetensorsName; }

    /**
     * The storage type of an op's result over two float inputs (DESIGN §2): equal types stay, any
     * other mix gives F32. Both backends follow it, so a model whose weights and inputs are F16 keeps
     * its activations F16 end to end, and one stray F32 operand is visible as an F32 result.
     */
    public static DType promote(DType a, DType b) { return a == b ? a : F32; }

    /** Parses a safetensors dtype name; null when the name is not one this runtime holds. */
    public static DType fromSafetensorsName(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }
}
