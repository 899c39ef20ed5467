package dev.diffuse4j.attention;

/**
 * How the rows of a UNet batch are organised for reference-based methods. Without guidance the
 * batch is one group {@code [ref, t1, ..., tn-1]}; with classifier-free guidance it is two halves
 * {@code [u_ref, u_1.., c_ref, c_1..]} and every row's reference is the reference row of its own half.
 *
 * @param referenceOffset index of the reference row inside each half (usually 0)
 * @param guided          whether the batch is split into [uncond; cond] halves
 */
public record BatchLayout(int referenceOffset, boolean guided) {
    public BatchLayout {
        if (referenceOffset < 0) throw new IllegalArgumentException("reference offset must be >= 0, got " + referenceOffset);
    }

    /** Reference in row 0 of each CFG half. */
    public static BatchLayout guidedWithReferenceFirst() { return new BatchLayout(0, true); }

    /** Reference in row 0, no guidance halves (e.g. an unguided pass). */
    public static BatchLayout unguidedWithReferenceFirst() { return new BatchLayout(0, false); }

    /** Rows per half (the whole batch when unguided). */
    public int halfSize(int batch) {
        if (guided && batch % 2 != 0) throw new IllegalArgumentException("a guided batch must have an even size, got " + batch);
        int half = guided ? batch / 2 : batch;
        if (referenceOffset >= half)
            throw new IllegalArgumentException("reference row " + referenceOffset + " is outside a half of " + half + " rows");
        return half;
    }

    /** The reference row for row {@code b}. */
    public int referenceOf(int b, int batch) {
        int half = halfSize(batch);
        return (b / half) * half + referenceOffset;
    }

    public boolean isReference(int b, int batch) { return referenceOf(b, batch) == b; }

    /** True for rows of the conditional half (every row when unguided). */
    public boolean isCond(int b, int batch) { return !guided || b >= halfSize(batch); }
}
