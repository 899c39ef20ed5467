package dev.diffuse4j.attention;

/**
 * Settings of {@link ReferenceAttention}.
 *
 * @param mode          joint, replace or stratified
 * @param recipients    which target rows see the reference (all targets, or conditional rows only)
 * @param adainQueries  AdaIN receiving rows' queries to the reference's statistics (StyleAligned)
 * @param adainKeys     same for their own keys
 * @param adainValues   same for their own values (off in StyleAligned; Conditional Balance's v-graded variant)
 * @param scoreScale    StyleAligned shared_score_scale: multiplies the reference logits of receiving rows
 * @param scoreShift    StyleAligned shared_score_shift: added to the reference logits (ln 2 = reference keys count twice)
 * @param lambdaOwn     stratified weight of the row's own attention (lambda_G)
 * @param lambdaRef     stratified weight of the reference attention (lambda_P); 0 gives plain attention
 */
public record ReferenceAttentionConfig(ReferenceMode mode, Recipients recipients, boolean adainQueries, boolean adainKeys,
                                       boolean adainValues, float scoreScale, float scoreShift, float lambdaOwn, float lambdaRef) {
    public ReferenceAttentionConfig {
        if (!(scoreScale > 0) || !Float.isFinite(scoreScale)) throw new IllegalArgumentException("score scale must be a positive number, got " + scoreScale);
        if (!Float.isFinite(scoreShift)) throw new IllegalArgumentException("score shift must be finite, got " + scoreShift);
        if (lambdaOwn < 0 || lambdaRef < 0 || lambdaOwn + lambdaRef <= 0)
            throw new IllegalArgumentException("stratified weights must be >= 0 and not both 0, got lambda_G=" + lambdaOwn + " lambda_P=" + lambdaRef);
    }

    /** StyleAligned defaults: shared attention in both halves, AdaIN on Q and K, no scale or shift. */
    public static ReferenceAttentionConfig styleAligned() {
        return new ReferenceAttentionConfig(ReferenceMode.JOINT, Recipients.ALL_TARGETS, true, true, false, 1f, 0f, 1f, 1f);
    }

    /** InDetail-IP Stratified Attention with conflict-free guidance (cond rows only), lambda_P : lambda_G. */
    public static ReferenceAttentionConfig stratified(float lambdaOwn, float lambdaRef) {
        return new ReferenceAttentionConfig(ReferenceMode.STRATIFIED, Recipients.COND_TARGETS, false, false, false, 1f, 0f, lambdaOwn, lambdaRef);
    }

    /** KV concatenation (one joint softmax over [reference; own]) for conditional rows only. */
    public static ReferenceAttentionConfig kvConcat() {
        return new ReferenceAttentionConfig(ReferenceMode.JOINT, Recipients.COND_TARGETS, false, false, false, 1f, 0f, 1f, 1f);
    }

    /** KV replacement (reference keys/values only) for conditional rows only. */
    public static ReferenceAttentionConfig kvReplace() {
        return new ReferenceAttentionConfig(ReferenceMode.REPLACE, Recipients.COND_TARGETS, false, false, false, 1f, 0f, 1f, 1f);
    }

    public ReferenceAttentionConfig withRecipients(Recipients r) {
        return new ReferenceAttentionConfig(mode, r, adainQueries, adainKeys, adainValues, scoreScale, scoreShift, lambdaOwn, lambdaRef);
    }

    public ReferenceAttentionConfig withAdaIn(boolean q, boolean k, boolean v) {
        return new ReferenceAttentionConfig(mode, recipients, q, k, v, scoreScale, scoreShift, lambdaOwn, lambdaRef);
    }

    public ReferenceAttentionConfig withScore(float scale, float shift) {
        return new ReferenceAttentionConfig(mode, recipients, adainQueries, adainKeys, adainValues, scale, shift, lambdaOwn, lambdaRef);
    }

    public boolean anyAdaIn() { return adainQueries || adainKeys || adainValues; }
}
