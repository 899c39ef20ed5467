package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.guidance.Evaluation;
import dev.diffuse4j.attention.guidance.GuidanceCapture;
import dev.diffuse4j.attention.guidance.GuidanceObjective;
import dev.diffuse4j.attention.guidance.MapGradient;
import dev.diffuse4j.model.attention.AttentionProcessor;
import dev.diffuse4j.model.attention.AttentionProcessors;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.autograd.Gradients;
import dev.diffuse4j.runtime.autograd.Tape;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One cond-only UNet pass of one latent, recorded on an autograd tape, with the guidance-resolution
 * attention maps captured and the objective evaluated on them; {@link #gradient} then runs the
 * backward pass from dLoss/dMaps to dLoss/dLatent. Close it to free the tape and the maps.
 */
public final class GuidedForward implements AutoCloseable {
    private final Tape tape;
    private final GuidanceCapture capture = new GuidanceCapture();
    private final Tensor latent;
    private final float inputDivisor;
    private final Evaluation evaluation;

    /**
     * @param z            the latent of one image, NHWC floats [1, h, w, c] (before the scheduler's input scaling)
     * @param inputDivisor the scheduler's model-input divisor at this step (1 for DDIM)
     * @param context      the prompt's conditioning [1, 77, C] on the model's device
     * @param step         the sampling step (its timestep is the model's)
     * @param layers       the layers whose maps the objective reads ({@link SelfCrossPipeline#guidanceLayers})
     */
    public GuidedForward(UNet2DConditionModel unet, float[] z, int h, int w, int c, float inputDivisor, StepContext step, Tensor context,
                  Predicate<LayerInfo> layers, GuidanceObjective objective, int[] subjects) {
        this.inputDivisor = inputDivisor;
        AttentionProcessors procs = unet.processors();
        List<LayerInfo> all = procs.layers();
        AttentionProcessor[] saved = new AttentionProcessor[all.size()];
        for (LayerInfo l : all) saved[l.index()] = procs.get(l);
        this.tape = Tape.record();
        try {
            try (Scope s = Scope.open()) {
                Tensor cpu = Tensor.of(z, 1, h, w, c);
                Tensor onDevice = context.device().isCpu() ? cpu : Ops.to(cpu, context.device());
                this.latent = tape.watch(onDevice);
                Tensor in = inputDivisor == 1f ? latent : Ops.scale(latent, 1f / inputDivisor);
                procs.install(layers, capture);
                try {
                    // the loss reads only these layers' maps: the up blocks after the last of them are never run
                    unet.hiddenStates(UNetInput.of(in, (float) step.timestep(), context).withStep(step), upBlocksReaching(all, layers));
                } finally {
                    for (LayerInfo l : all) procs.install(x -> x.index() == l.index(), saved[l.index()]);
                }
            }
            this.evaluation = objective.evaluate(capture.maps(), subjects);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** How many up blocks the UNet must run for every selected layer to be reached (0 when none is in an up block). */
    static int upBlocksReaching(List<LayerInfo> all, Predicate<LayerInfo> layers) {
        int n = 0;
        for (LayerInfo l : all) if (layers.test(l) && l.block() == LayerInfo.Block.UP) n = Math.max(n, l.blockIndex() + 1);
        return n;
    }

    public Evaluation evaluation() { return evaluation; }

    /** dLoss/dz for a loss whose gradient wrt the maps is {@code g} (one backward pass per forward). */
    public float[] gradient(MapGradient g) {
        int n = (int) latent.numel();
        if (g.isZero()) return new float[n];
        try (Scope s = Scope.open()) {
            Map<Tensor, Tensor> seeds = capture.seeds(g);
            Gradients grads = tape.backward(seeds);
            if (!grads.reached(latent)) return new float[n];
            Tensor d = grads.of(latent);
            return (d.device().isCpu() ? d : Ops.to(d, Device.CPU)).toFloatArray(); // the input scaling is on the tape
        }
    }

    @Override
    public void close() {
        capture.close();
        tape.close();
    }
}
