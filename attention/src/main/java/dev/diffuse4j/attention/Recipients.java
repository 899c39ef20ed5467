package dev.diffuse4j.attention;

/**
 * Which target rows receive the reference. The reference rows themselves never do: their attention
 * stays plain (StyleAligned's duplicated-keys argument makes that exact).
 */
public enum Recipients {
    /** Every non-reference row, in both guidance halves (StyleAligned; the "conflicting" variant of InDetail-IP). */
    ALL_TARGETS,
    /** Only non-reference rows of the conditional half: conflict-free guidance, the uncond branch stays plain. */
    COND_TARGETS;

    boolean receives(BatchLayout layout, int b, int batch) {
        if (layout.isReference(b, batch)) return false;
        return this == ALL_TARGETS || layout.isCond(b, batch);
    }
}
