package dev.diffuse4j.model.attention;

import dev.diffuse4j.model.nn.Linear;
import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * One attention layer's weights, as diffusers' {@code Attention} module holds them: {@code to_q},
 * {@code to_k}, {@code to_v}, {@code to_out.0} and the head count. It does not decide how attention is
 * computed; an {@link AttentionProcessor} does, using the projection helpers here.
 */
public final class Attention {
    private final Linear toQ, toK, toV, toOut;
    private final int heads;

    private Attention(Linear toQ, Linear toK, Linear toV, Linear toOut, int heads) {
        this.toQ = toQ;
        this.toK = toK;
        this.toV = toV;
        this.toOut = toOut;
        this.heads = heads;
    }

    /**
     * @param queryDim   channels of the hidden states (also the inner dim: heads * headDim)
     * @param contextDim channels of the keys/values source (queryDim for self-attention)
     * @param qkvBias    UNet layers have no q/k/v bias; the VAE mid attention has one
     */
    public static Attention of(Params p, int queryDim, int contextDim, int heads, boolean qkvBias) {
        if (heads <= 0 || queryDim % heads != 0)
            throw new IllegalArgumentException(p.name("to_q") + ": " + heads + " heads do not divide " + queryDim + " channels");
        return new Attention(
                Linear.of(p.at("to_q"), queryDim, queryDim, qkvBias),
                Linear.of(p.at("to_k"), contextDim, queryDim, qkvBias),
                Linear.of(p.at("to_v"), contextDim, queryDim, qkvBias),
                Linear.of(p.at("to_out").at(0), queryDim, queryDim, true),
                heads);
    }

    /** Queries [B, N, C] of hidden states [B, N, C]. */
    public Tensor query(Tensor hidden) { return toQ.forward(hidden); }

    /** Keys [B, M, C] of the key/value source [B, M, Cctx]. */
    public Tensor key(Tensor source) { return toK.forward(source); }

    /** Values [B, M, C] of the key/value source [B, M, Cctx]. */
    public Tensor value(Tensor source) { return toV.forward(source); }

    /** The output projection {@code to_out.0} of merged heads [B, N, C]. */
    public Tensor out(Tensor merged) { return toOut.forward(merged); }

    public int heads() { return heads; }

    public int dim() { return toQ.out(); }

    public int headDim() { return dim() / heads; }

    /** Channels of the key/value source this layer expects. */
    public int contextDim() { return toK.in(); }

    public Linear toQ() { return toQ; }

    public Linear toK() { return toK; }

    public Linear toV() { return toV; }

    public Linear toOut() { return toOut; }

    /** Plain scaled dot-product attention: {@code to_out(softmax(q k^T / sqrt(d)) v)}; context null = self. */
    public Tensor plain(Tensor hidden, Tensor context) {
        Tensor source = context == null ? hidden : context;
        Tensor q = query(hidden), k = key(source), v = value(source);
        Tensor merged = Ops.attention(q, k, v, heads);
        Tensor out = out(merged);
        q.close();
        k.close();
        v.close();
        merged.close();
        return out;
    }
}
