package dev.diffuse4j.attention;

/** How a receiving row combines its own keys/values with the reference's. */
public enum ReferenceMode {
    /** One softmax over [own; reference] keys (StyleAligned shared attention, RIVAL/InDetail-IP KV concatenation). */
    JOINT,
    /** Reference keys/values only (RIVAL's early "KV replacement" phase). */
    REPLACE,
    /** Separate softmaxes over own and reference keys, mixed lambda_G : lambda_P (InDetail-IP Stratified Attention). */
    STRATIFIED
}
