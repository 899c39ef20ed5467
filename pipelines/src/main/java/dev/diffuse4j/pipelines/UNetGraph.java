package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.nn.GroupNormProcessor;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.cuda.CudaGraph;
import dev.diffuse4j.runtime.ops.Backends;

import java.util.Arrays;
import java.util.function.BiFunction;

/**
 * The UNet call of each denoising step replayed as one CUDA graph. At SD1.5 sizes an eager step on
 * a fast GPU is dominated by launch gaps (a few hundred kernels, each a few microseconds of host
 * work); a replay launches them all at once.
 *
 * <p>The first step runs eagerly (modules load, shared-memory limits are raised, the allocator's
 * cache fills); the second is captured and replayed; every later step copies the new latents and
 * timestep into the graph's static inputs and replays. The graph freezes the call, so it is used
 * only where every pass does the same device work: attention and GroupNorm processors that are
 * plain or step-invariant (StyleAligned's shared attention and norms are; Conditional Balance's
 * per-step layer choice and guidance captures are not), no ControlNet. If capture fails, the
 * pipeline warns and goes on eagerly.
 */
final class UNetGraph implements AutoCloseable {
    private final CudaBackend cuda;
    private final UNet2DConditionModel unet;
    private final BiFunction<Tensor, Float, UNetInput> call;
    private Tensor sample, timesteps, output;
    private CudaGraph graph;
    private boolean eagerOnly;
    private int calls;

    private UNetGraph(CudaBackend cuda, UNet2DConditionModel unet, BiFunction<Tensor, Float, UNetInput> call) {
        this.cuda = cuda;
        this.unet = unet;
        this.call = call;
    }

    /**
     * A graph runner for this UNet, or null where graphs do not apply: not on CUDA, a processor that
     * is not step-invariant, a ControlNet, or switched off ({@code enabled} false, e.g. -Dd4j.cuda.graphs=false).
     * {@code call} builds the UNet input of a sample and timestep (context, SDXL text/time embeddings).
     */
    static UNetGraph of(UNet2DConditionModel unet, Device device, boolean withControl, boolean enabled,
                        BiFunction<Tensor, Float, UNetInput> call) {
        if (!enabled || device.isCpu() || withControl || !unet.processors().allStepInvariant()) return null;
        if (unet.groupNorms() != GroupNormProcessor.PLAIN && !unet.groupNorms().stepInvariant()) return null;
        if (!(Backends.of(device) instanceof CudaBackend cuda)) return null;
        return new UNetGraph(cuda, unet, call);
    }

    /** The prediction for host latents {@code x} of {@code shape} [B, h, w, c] at timestep t, on the host. */
    float[] forward(float[] x, int[] shape, float t, StepListener listener) {
        if (sample == null) {
            sample = Scope.detach(cuda.empty(DType.F32, shape));
            timesteps = Scope.detach(cuda.empty(DType.F32, shape[0]));
        }
        try (Tensor hx = Tensor.of(x, shape); Tensor ht = Tensor.of(filled(shape[0], t), shape[0])) {
            cuda.copyInto(hx, sample);
            cuda.copyInto(ht, timesteps);
        }
        UNetInput in = call.apply(sample, t).withTimestepValues(timesteps);
        calls++;
        if (graph == null && !eagerOnly && calls >= 2) capture(in, listener);
        if (graph == null) {
            try (Scope s = Scope.open()) {
                return StableDiffusionPipeline.host(unet.forward(in));
            }
        }
        graph.replay();
        return StableDiffusionPipeline.host(output);
    }

    private void capture(UNetInput in, StepListener listener) {
        Tensor[] out = new Tensor[1];
        try (Scope s = Scope.open()) {
            graph = cuda.capture(() -> out[0] = unet.forward(in));
            output = Scope.detach(out[0]);
        } catch (RuntimeException e) {
            graph = null;
            eagerOnly = true;
            listener.onWarning("CUDA graph capture of the UNet step failed, continuing eagerly: " + e.getMessage());
        }
    }

    /** True once a step has been captured (replays follow). */
    boolean captured() { return graph != null; }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    @Override
    public void close() {
        if (graph != null) graph.close();
        for (Tensor t : new Tensor[]{output, sample, timesteps}) if (t != null) t.close();
    }
}
