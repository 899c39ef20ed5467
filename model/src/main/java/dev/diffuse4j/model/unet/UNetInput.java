package dev.diffuse4j.model.unet;

import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * The arguments of one UNet call. Tensors are the caller's; the UNet neither keeps nor closes them.
 *
 * @param sample      noisy latents, NHWC [B, H, W, in_channels] (see {@code Nhwc} for NCHW data)
 * @param timesteps   one timestep per batch item, or a single one for the whole batch
 * @param context     encoder hidden states [B, M, cross_attention_dim]
 * @param textEmbeds  SDXL pooled text embeddings [B, 1280] (with {@code timeIds}), or null
 * @param timeIds     SDXL micro-conditioning [B, 6]: original h, w, crop top, left, target h, w; or null
 * @param y           the added-conditioning vector [B, projection_class_embeddings_input_dim] already
 *                    formed (SGM's "y"), instead of textEmbeds + timeIds; or null
 * @param controlDown ControlNet residuals added to the down-path skips (one per skip, in push order), or null
 * @param controlMid  ControlNet residual added to the mid block's output, or null
 * @param step        the sampling step, for attention processors
 * @param observer    sees every sub-module's output (debugging, features); NONE by default
 * @param timestepValues the timesteps as a tensor [B] on the model's device, or null: used instead of
 *                    uploading {@code timesteps}, so that a forward pass can be captured in a CUDA
 *                    graph (no host copies) and replayed after writing new values into it
 */
public record UNetInput(Tensor sample, float[] timesteps, Tensor context, Tensor textEmbeds, Tensor timeIds, Tensor y,
                        List<Tensor> controlDown, Tensor controlMid, StepContext step, UNetObserver observer,
                        Tensor timestepValues) {
    public UNetInput {
        if (sample == null || context == null || timesteps == null)
            throw new IllegalArgumentException("UNetInput needs a sample, timesteps and a context");
        timesteps = timesteps.clone();
        controlDown = controlDown == null ? null : List.copyOf(controlDown);
        if (step == null) step = StepContext.NONE;
        if (observer == null) observer = UNetObserver.NONE;
    }

    public static UNetInput of(Tensor sample, float[] timesteps, Tensor context) {
        return new UNetInput(sample, timesteps, context, null, null, null, null, null, StepContext.NONE, UNetObserver.NONE, null);
    }

    /** One timestep for every item. */
    public static UNetInput of(Tensor sample, float timestep, Tensor context) { return of(sample, new float[]{timestep}, context); }

    @Override
    public float[] timesteps() { return timesteps.clone(); }

    /** SDXL: pooled text embeddings [B, 1280] and time ids [B, 6]. */
    public UNetInput withTextTime(Tensor textEmbeds, Tensor timeIds) {
        return new UNetInput(sample, timesteps, context, textEmbeds, timeIds, null, controlDown, controlMid, step, observer, timestepValues);
    }

    /** SDXL: the already-formed added-conditioning vector y [B, 2816]. */
    public UNetInput withY(Tensor y) {
        return new UNetInput(sample, timesteps, context, null, null, y, controlDown, controlMid, step, observer, timestepValues);
    }

    /** ControlNet: residuals for every down-path skip (in push order) and for the mid block output. */
    public UNetInput withControl(List<Tensor> down, Tensor mid) {
        return new UNetInput(sample, timesteps, context, textEmbeds, timeIds, y, down, mid, step, observer, timestepValues);
    }

    public UNetInput withStep(StepContext s) {
        return new UNetInput(sample, timesteps, context, textEmbeds, timeIds, y, controlDown, controlMid, s, observer, timestepValues);
    }

    public UNetInput withObserver(UNetObserver o) {
        return new UNetInput(sample, timesteps, context, textEmbeds, timeIds, y, controlDown, controlMid, step, o, timestepValues);
    }

    /** The same call with its timesteps read from a device tensor [B] (see {@code timestepValues}). */
    public UNetInput withTimestepValues(Tensor t) {
        return new UNetInput(sample, timesteps, context, textEmbeds, timeIds, y, controlDown, controlMid, step, observer, t);
    }

    /** The timestep of batch item b (a single timestep applies to every item). */
    public float timestep(int b) { return timesteps.length == 1 ? timesteps[0] : timesteps[b]; }
}
