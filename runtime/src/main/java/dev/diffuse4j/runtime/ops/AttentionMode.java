package dev.diffuse4j.runtime.ops;

/** How several KV segments combine (DESIGN §3). */
public enum AttentionMode {
    /** One softmax over the concatenated logits of all present segments (KV concatenation, StyleAligned). */
    JOINT,
    /** A separate softmax per segment; outputs mixed by the segments' weights (Stratified Attention). */
    STRATIFIED
}
