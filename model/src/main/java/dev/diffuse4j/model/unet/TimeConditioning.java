package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.nn.Params;
import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * The UNet's conditioning on the timestep: the time-embedding MLP over sinusoid(t), plus SDXL's
 * text_time added embedding over y = concat(text_embeds, sinusoid of each of the 6 time ids). The UNet
 * and the ControlNet each own one (with their own weights) and compute it the same way.
 */
public final class TimeConditioning {
    private final String owner; // names the model in error messages
    private final UNetConfig config;
    private final TimestepEmbedding timeEmbedding;
    private final TimestepEmbedding addEmbedding; // SDXL text_time, else null

    private TimeConditioning(String owner, UNetConfig config, Params p) {
        this.owner = owner;
        this.config = config;
        int ch0 = config.channels(0), temb = config.timeEmbedDim();
        timeEmbedding = TimestepEmbedding.of(p.at("time_embedding"), ch0, temb);
        addEmbedding = config.hasTextTime()
                ? TimestepEmbedding.of(p.at("add_embedding"), config.projectionClassEmbeddingsInputDim(), temb) : null;
    }

    /** Binds {@code time_embedding.*} and, for SDXL configs, {@code add_embedding.*} under {@code p}. */
    public static TimeConditioning of(String owner, UNetConfig config, Params p) { return new TimeConditioning(owner, config, p); }

    /**
     * temb + aug for each batch item, before the SiLU that every resnet applies: [B, time_embed_dim],
     * stored as {@code activations} (the sinusoids are computed in F32 and converted before the MLPs).
     */
    public Tensor forward(UNetInput in, int batch, Device device, DType activations) {
        float[] ts = in.timesteps();
        if (ts.length != 1 && ts.length != batch)
            throw new IllegalArgumentException(owner + ": " + ts.length + " timesteps for a batch of " + batch);
        float[] perItem = new float[batch];
        for (int b = 0; b < batch; b++) perItem[b] = in.timestep(b);
        try (Scope s = Scope.open()) {
            Tensor t = in.timestepValues() != null ? checkedValues(in.timestepValues(), batch) : onDevice(Tensor.of(perItem, batch), device);
            Tensor sinusoid = Ops.timestepEmbedding(t, config.channels(0), config.flipSinToCos(), config.freqShift());
            Tensor temb = timeEmbedding.forward(Placement.as(sinusoid, activations));
            if (addEmbedding != null) {
                Tensor y = in.y() != null ? in.y() : addedConditioning(in.textEmbeds(), in.timeIds());
                int dim = config.projectionClassEmbeddingsInputDim();
                if (y.rank() != 2 || y.dim(0) != batch || y.dim(1) != dim)
                    throw new IllegalArgumentException(owner + ": added conditioning y " + y.describe() + " is not [" + batch + ", " + dim + "]");
                temb = Ops.add(temb, addEmbedding.forward(Placement.as(y, activations)));
            } else if (in.y() != null || in.textEmbeds() != null || in.timeIds() != null) {
                throw new IllegalArgumentException(owner + ": added conditioning given, but this " + owner
                        + " has no addition_embed_type (an SD1.5 model given SDXL conditioning?)");
            }
            return s.keep(temb);
        }
    }

    /**
     * SDXL's added-conditioning vector: {@code concat(text_embeds, sinusoid(time_ids))}, each of the 6
     * ids embedded separately with {@code addition_time_embed_dim} channels, in id order, text first.
     */
    public Tensor addedConditioning(Tensor textEmbeds, Tensor timeIds) {
        if (addEmbedding == null) throw new IllegalStateException(owner + ": this config has no text_time added conditioning");
        if (textEmbeds == null || timeIds == null)
            throw new IllegalArgumentException(owner + ": SDXL needs text_embeds and time_ids (or a formed y vector)");
        int batch = textEmbeds.dim(0), pooled = config.pooledTextDim(), d = config.additionTimeEmbedDim();
        if (textEmbeds.rank() != 2 || textEmbeds.dim(1) != pooled)
            throw new IllegalArgumentException(owner + ": text_embeds " + textEmbeds.describe() + " is not [B, " + pooled + "]");
        if (timeIds.rank() != 2 || timeIds.dim(0) != batch || timeIds.dim(1) != UNetConfig.TIME_IDS)
            throw new IllegalArgumentException(owner + ": time_ids " + timeIds.describe() + " is not [" + batch + ", " + UNetConfig.TIME_IDS + "]");
        try (Scope s = Scope.open()) {
            Tensor flat = timeIds.contiguous().reshape(batch * UNetConfig.TIME_IDS);
            Tensor emb = Ops.timestepEmbedding(flat, d, config.flipSinToCos(), config.freqShift());
            return s.keep(Ops.concat(-1, textEmbeds, emb.reshape(batch, UNetConfig.TIME_IDS * d)));
        }
    }

    private Tensor checkedValues(Tensor t, int batch) {
        if (t.rank() != 1 || t.dim(0) != batch)
            throw new IllegalArgumentException(owner + ": timestep values " + t.describe() + " are not [" + batch + "]");
        return t;
    }

    private static Tensor onDevice(Tensor host, Device device) {
        if (device.isCpu()) return host;
        Tensor t = Ops.to(host, device);
        host.close();
        return t;
    }
}
