package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.model.unet.TimestepEmbedding;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

/**
 * SiLU(time embedding + SDXL added embedding), computed as the UNet computes it (the ControlNet has
 * its own copies of both embedding MLPs): sinusoid(t) per item; SDXL's y = concat(text_embeds,
 * sinusoid of each of the 6 time ids) unless y is given formed.
 */
final class TimeConditioning {
    private TimeConditioning() {}

    static Tensor embed(UNetConfig c, TimestepEmbedding time, TimestepEmbedding add, UNetInput in, int batch, Device device) {
        float[] ts = in.timesteps();
        if (ts.length != 1 && ts.length != batch)
            throw new IllegalArgumentException("ControlNet: " + ts.length + " timesteps for a batch of " + batch);
        float[] perItem = new float[batch];
        for (int b = 0; b < batch; b++) perItem[b] = in.timestep(b);
        try (Scope s = Scope.open()) {
            Tensor t = onDevice(Tensor.of(perItem, batch), device);
            Tensor temb = time.forward(Ops.timestepEmbedding(t, c.channels(0), c.flipSinToCos(), c.freqShift()));
            if (add != null) {
                Tensor y = in.y() != null ? in.y() : y(c, in.textEmbeds(), in.timeIds(), batch);
                int dim = c.projectionClassEmbeddingsInputDim();
                if (y.rank() != 2 || y.dim(0) != batch || y.dim(1) != dim)
                    throw new IllegalArgumentException("ControlNet: added conditioning y " + y.describe() + " is not [" + batch + ", " + dim + "]");
                temb = Ops.add(temb, add.forward(y));
            } else if (in.y() != null || in.textEmbeds() != null || in.timeIds() != null) {
                throw new IllegalArgumentException("ControlNet: added conditioning given, but this ControlNet has no addition_embed_type (an SD1.5 ControlNet on an SDXL model?)");
            }
            return s.keep(Ops.silu(temb));
        }
    }

    private static Tensor y(UNetConfig c, Tensor textEmbeds, Tensor timeIds, int batch) {
        if (textEmbeds == null || timeIds == null)
            throw new IllegalArgumentException("ControlNet: SDXL needs text_embeds and time_ids (or a formed y vector)");
        int d = c.additionTimeEmbedDim(), pooled = c.pooledTextDim();
        if (textEmbeds.rank() != 2 || textEmbeds.dim(0) != batch || textEmbeds.dim(1) != pooled)
            throw new IllegalArgumentException("ControlNet: text_embeds " + textEmbeds.describe() + " is not [" + batch + ", " + pooled + "]");
        if (timeIds.rank() != 2 || timeIds.dim(0) != batch || timeIds.dim(1) != UNetConfig.TIME_IDS)
            throw new IllegalArgumentException("ControlNet: time_ids " + timeIds.describe() + " is not [" + batch + ", " + UNetConfig.TIME_IDS + "]");
        Tensor flat = timeIds.contiguous().reshape(batch * UNetConfig.TIME_IDS);
        Tensor emb = Ops.timestepEmbedding(flat, d, c.flipSinToCos(), c.freqShift());
        return Ops.concat(-1, textEmbeds, emb.reshape(batch, UNetConfig.TIME_IDS * d));
    }

    private static Tensor onDevice(Tensor host, Device device) {
        if (device.isCpu()) return host;
        Tensor t = Ops.to(host, device);
        host.close();
        return t;
    }
}
