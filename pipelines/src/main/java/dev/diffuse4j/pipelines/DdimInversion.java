package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.clip.TextConditioning;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.vae.LatentDistribution;
import dev.diffuse4j.pipelines.image.Images;
import dev.diffuse4j.pipelines.image.RgbImage;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.schedulers.DdimInverseScheduler;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * DDIM inversion of a real image, as StyleAligned and InDetail-IP do it: VAE-encode (posterior mean,
 * times the scaling factor), then run the UNet at each ascending timestep on the current latent and
 * move it up with the deterministic inverse DDIM step, optionally with classifier-free guidance
 * (StyleAligned uses scale 2 with the image's prompt; InDetail-IP none). The trajectory is returned
 * noisiest first, so entry k is the latent for sampling step k and the last entry is the clean z0.
 */
public final class DdimInversion {
    private DdimInversion() {}

    /** @return steps + 1 latents [h, w, 4] as NHWC floats, noisiest first; the last is z0 */
    public static List<float[]> invert(StableDiffusion sd, RgbImage image, String prompt, int width, int height, int steps,
                                       double guidance) {
        DdimInverseScheduler inverse = new DdimInverseScheduler(sd.scheduler());
        inverse.setTimesteps(steps);
        boolean guided = guidance > 1;
        List<float[]> trajectory = new ArrayList<>();
        try (Scope scope = Scope.open()) {
            float[] z;
            try (Tensor px = onDevice(sd, Pixels.fromRgb(Images.fit(image, width, height)))) {
                LatentDistribution d = sd.vae().encode(px);
                z = host(Ops.scale(d.mean(), sd.vae().scalingFactor()));
                d.close();
            }
            int f = sd.vaeScaleFactor(), h = height / f, w = width / f, c = sd.unet().config().inChannels();
            TextConditioning cond = sd.prompts().encode(List.of(prompt));
            Tensor context = cond.context(), pooled = cond.pooled();
            if (guided) {
                TextConditioning un = sd.forceZerosForEmptyPrompt() ? sd.prompts().zeros(1) : sd.prompts().encode(List.of(""));
                context = Ops.concat(0, un.context(), cond.context());
                if (pooled != null) pooled = Ops.concat(0, un.pooled(), cond.pooled());
            }
            Tensor timeIds = sd.isXl() ? onDevice(sd, Tensor.of(repeatRows(new float[]{height, width, 0, 0, height, width}, guided ? 2 : 1), guided ? 2 : 1, 6)) : null;
            trajectory.add(z);
            for (int i = 0; i < inverse.numSteps(); i++) {
                float[] out;
                try (Scope step = Scope.open()) {
                    Tensor x = onDevice(sd, Tensor.of(guided ? Latents.twice(z) : z, guided ? 2 : 1, h, w, c));
                    UNetInput in = UNetInput.of(x, inverse.timestep(i), context).withStep(StepContext.of(i, inverse.numSteps(), inverse.timestep(i)));
                    if (sd.isXl()) in = in.withTextTime(pooled, timeIds);
                    out = host(sd.unet().forward(in));
                }
                float[] eps = guided ? Guidance.apply(out, 1, guidance, 0) : out;
                z = inverse.step(eps, i, z, null);
                trajectory.add(z);
            }
        }
        Collections.reverse(trajectory);
        return trajectory;
    }

    /** A hook that keeps batch item {@code item} on the trajectory: its start is {@code zts[0]}, after step k it is {@code zts[k + 1]}. */
    public static LatentHook replay(List<float[]> trajectory, int item) {
        return new LatentHook() {
            @Override
            public float[] initial(float[] latents, int perItem) { return put(latents, trajectory.get(0), item, perItem); }

            @Override
            public float[] afterStep(int step, float[] latents, int perItem) {
                return put(latents, trajectory.get(Math.min(step + 1, trajectory.size() - 1)), item, perItem);
            }
        };
    }

    private static float[] put(float[] latents, float[] z, int item, int perItem) {
        if (z.length != perItem) throw new IllegalArgumentException("inverted latent has " + z.length + " values, the batch items " + perItem);
        float[] out = latents.clone();
        System.arraycopy(z, 0, out, item * perItem, perItem);
        return out;
    }

    private static float[] repeatRows(float[] row, int rows) { return Latents.repeat(row, rows); }

    private static Tensor onDevice(StableDiffusion sd, Tensor cpu) { return sd.device().isCpu() ? cpu : Ops.to(cpu, sd.device()); }

    private static float[] host(Tensor t) {
        if (t.device().isCpu()) return t.toFloatArray();
        try (Tensor h = Ops.to(t, Device.CPU)) {
            return h.toFloatArray();
        }
    }
}
