package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.controlnet.ControlNetModel;
import dev.diffuse4j.model.controlnet.ControlNetOutput;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.pipelines.image.Lanczos;
import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs a {@link Control} inside the sampling loop: before each UNet call it runs the ControlNet on
 * the selected rows only (same scaled latents, timestep and text conditioning as the UNet) and hands
 * the UNet residuals with zeros in the other rows. Rows are independent in a plain ControlNet, so
 * running a subset gives those rows exactly what a full-batch run would.
 */
final class ControlStage {
    private final Control control;
    private final Tensor embedded; // the control image's conditioning embedding [1, h, w, C]: the same at every step and row

    private ControlStage(Control control, Tensor embedded) {
        this.control = control;
        this.embedded = embedded;
    }

    /** Checks the ControlNet fits the UNet and prepares the image (in the caller's scope). */
    static ControlStage prepare(Control control, UNetConfig unet, int width, int height, Device device) {
        checkCompatible(control.model(), unet);
        RgbImage rgb = resize(control.image(), width, height);
        byte[] px = rgb.rgb();
        float[] v = new float[px.length];
        for (int i = 0; i < v.length; i++) v[i] = (px[i] & 0xFF) / 255f;
        Tensor t = Tensor.of(v, 1, height, width, 3);
        return new ControlStage(control, control.model().embed(device.isCpu() ? t : Ops.to(t, device)));
    }

    static void checkCompatible(ControlNetModel cn, UNetConfig unet) {
        UNetConfig c = cn.config().unet();
        if (c.hasTextTime() != unet.hasTextTime() || c.crossAttentionDim() != unet.crossAttentionDim()
                || !c.blockOutChannels().equals(unet.blockOutChannels()) || c.layersPerBlock() != unet.layersPerBlock())
            throw new IllegalArgumentException("the ControlNet (" + cn.config().family().displayName() + ", widths " + c.blockOutChannels()
                    + ", context " + c.crossAttentionDim() + ") does not fit this model's UNet (widths " + unet.blockOutChannels()
                    + ", context " + unet.crossAttentionDim() + (unet.hasTextTime() ? ", SDXL" : ", SD1.x") + ")");
        if (cn.config().conditioningChannels() != 3)
            throw new IllegalArgumentException("the ControlNet takes " + cn.config().conditioningChannels() + "-channel control images; only RGB (3) is supported");
    }

    /**
     * What the ControlNet does at one step: its level and the UNet rows it runs on. Two equal plans
     * do the same device work, which is what lets a step be replayed as a CUDA graph ({@link UNetGraph}).
     */
    record Plan(Control.Level level, List<Integer> rows) {}

    /** This step's plan (and tells the control's listener). */
    Plan plan(int step, int numSteps, double timestep, int items, boolean guided, int batch) {
        Control.Level level = control.schedule().at(step, numSteps, timestep);
        boolean[] flags = control.rows().select(step, items, guided);
        if (flags.length != batch) throw new IllegalStateException("ControlNet row selection has " + flags.length + " rows for a batch of " + batch);
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < flags.length; i++) if (flags[i]) rows.add(i);
        if (rows.isEmpty()) level = Control.Level.OFF;
        control.listener().onControl(step, timestep, level, level == Control.Level.OFF ? 0 : rows.size());
        return new Plan(level, level == Control.Level.OFF ? List.of() : List.copyOf(rows));
    }

    /** True when the ControlNet's attention does the same work at every step (a graph may freeze it). */
    boolean stepInvariant() { return control.model().processors().allStepInvariant(); }

    /** The UNet input with this step's residuals: {@link #plan} then {@link #apply(UNetInput, Plan)}. */
    UNetInput apply(UNetInput in, int step, int numSteps, double timestep, int items, boolean guided) {
        return apply(in, plan(step, numSteps, timestep, items, guided, in.sample().dim(0)));
    }

    /** The UNet input with the residuals of a plan (tensors land in the caller's scope). */
    UNetInput apply(UNetInput in, Plan plan) {
        if (plan.level() == Control.Level.OFF) return in;
        int batch = in.sample().dim(0);
        int[] chosen = plan.rows().stream().mapToInt(Integer::intValue).toArray();
        UNetInput sub = UNetInput.of(gather(in.sample(), chosen), in.timesteps().length == 1 ? in.timesteps() : pick(in.timesteps(), chosen),
                gather(in.context(), chosen)).withStep(in.step());
        if (in.timestepValues() != null) sub = sub.withTimestepValues(gather(in.timestepValues(), chosen));
        if (in.y() != null) sub = sub.withY(gather(in.y(), chosen));
        else if (in.textEmbeds() != null) sub = sub.withTextTime(gather(in.textEmbeds(), chosen), gather(in.timeIds(), chosen));
        ControlNetOutput r = control.model().forwardEmbedded(sub, embedded, (float) control.scale());
        Tensor mid = scatter(r.mid(), chosen, batch);
        if (plan.level() == Control.Level.MID_ONLY) return in.withControl(null, mid);
        List<Tensor> down = new ArrayList<>();
        for (Tensor d : r.down()) down.add(scatter(d, chosen, batch));
        return in.withControl(down, mid);
    }

    private static float[] pick(float[] v, int[] rows) {
        float[] out = new float[rows.length];
        for (int i = 0; i < rows.length; i++) out[i] = v[rows[i]];
        return out;
    }

    private static Tensor gather(Tensor x, int[] rows) {
        if (rows.length == x.dim(0)) return x;
        List<Tensor> parts = new ArrayList<>();
        for (int r : rows) parts.add(x.slice(0, r, r + 1));
        return Ops.concat(parts, 0);
    }

    /** Rows of {@code sub} at the {@code chosen} positions of a batch, zeros elsewhere. */
    private static Tensor scatter(Tensor sub, int[] chosen, int batch) {
        if (sub.dim(0) == batch) return sub;
        int[] one = sub.shape();
        one[0] = 1;
        Tensor zero = Ops.full(sub.device(), sub.dtype(), 0f, one);
        List<Tensor> parts = new ArrayList<>();
        for (int i = 0, j = 0; i < batch; i++) parts.add(j < chosen.length && chosen[j] == i ? sub.slice(0, j, ++j) : zero);
        return Ops.concat(parts, 0);
    }

    /** diffusers resizes the control image to the output size without cropping, with Pillow's Lanczos. */
    static RgbImage resize(RgbImage img, int width, int height) { return Lanczos.resize(img, width, height); }

    /** A short description for PNG parameters. */
    String describe() {
        return "ControlNet: scale " + control.scale() + ", " + control.model().config().family().displayName();
    }

}
