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
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * The UNet call of each denoising step (with its ControlNet, if any) replayed as a CUDA graph. At
 * SD1.5 sizes an eager step on a fast GPU is dominated by launch gaps (a few hundred kernels, each a
 * few microseconds of host work); a replay launches them all at once.
 *
 * <p>A graph freezes the device work of a call, so steps are grouped by a key that names that work:
 * the ControlNet's {@link ControlStage.Plan} (level and rows), or nothing without one. The first step
 * of a key runs eagerly (modules load, shared-memory limits are raised, the allocator's cache fills);
 * the second is captured; every later step of that key copies the new latents and timestep into the
 * graph's static inputs and replays. A plain ControlNet run has one key, Conditional Balance's
 * structure schedule two (all residuals, then the mid residual only). At most {@link #MAX_GRAPHS}
 * graphs are kept (each holds its own activations); further keys run eagerly.
 *
 * <p>Used only where every pass of a key does the same device work: attention and GroupNorm
 * processors that are plain or step-invariant (StyleAligned's shared attention and norms are).
 * Conditional Balance's per-timestep layer choice is not: with the authors' SDXL ranking it picks
 * 38 different layer sets over 50 steps, so a graph would almost never be replayed. If capture fails,
 * the pipeline warns and goes on eagerly.
 */
final class UNetGraph implements AutoCloseable {
    /** Most graphs kept per generation. */
    static final int MAX_GRAPHS = 4;

    private final CudaBackend cuda;
    private final UNet2DConditionModel unet;
    private final BiFunction<Tensor, Float, UNetInput> call;
    private final Map<Object, Entry> entries = new HashMap<>();
    private Tensor sample, timesteps;
    private boolean eagerOnly;
    private int graphs;

    /** The steps of one key: how many ran, and their graph and its output once captured. */
    private static final class Entry {
        int calls;
        CudaGraph graph;
        Tensor output;
    }

    private UNetGraph(CudaBackend cuda, UNet2DConditionModel unet, BiFunction<Tensor, Float, UNetInput> call) {
        this.cuda = cuda;
        this.unet = unet;
        this.call = call;
    }

    /**
     * A graph runner for this UNet, or null where graphs do not apply: not on CUDA, a processor that
     * is not step-invariant (the UNet's or the ControlNet's), or switched off ({@code enabled} false,
     * e.g. -Dd4j.cuda.graphs=false). {@code call} builds the UNet input of a sample and timestep
     * (context, SDXL text/time embeddings); {@code control} may be null.
     */
    static UNetGraph of(UNet2DConditionModel unet, Device device, ControlStage control, boolean enabled,
                        BiFunction<Tensor, Float, UNetInput> call) {
        if (!enabled || device.isCpu() || !unet.processors().allStepInvariant()) return null;
        if (unet.groupNorms() != GroupNormProcessor.PLAIN && !unet.groupNorms().stepInvariant()) return null;
        if (control != null && !control.stepInvariant()) return null;
        if (!(Backends.of(device) instanceof CudaBackend cuda)) return null;
        return new UNetGraph(cuda, unet, call);
    }

    /** The prediction for host latents {@code x} of {@code shape} [B, h, w, c] at timestep t, on the host, without a ControlNet. */
    float[] forward(float[] x, int[] shape, float t, StepListener listener) {
        return forward(x, shape, t, null, UnaryOperator.identity(), listener);
    }

    /**
     * The prediction for host latents {@code x} at timestep t, on the host. {@code key} names the
     * step's device work (equal keys, equal work; null for the plain call) and {@code extras} adds
     * what the key stands for to the UNet input (a ControlNet's residuals).
     */
    float[] forward(float[] x, int[] shape, float t, Object key, UnaryOperator<UNetInput> extras, StepListener listener) {
        if (sample == null) {
            sample = Scope.detach(cuda.empty(DType.F32, shape));
            timesteps = Scope.detach(cuda.empty(DType.F32, shape[0]));
        } else if (!Arrays.equals(sample.shape(), shape)) {
            throw new IllegalArgumentException("UNet graph: latents " + Arrays.toString(shape) + " after " + Arrays.toString(sample.shape()));
        }
        try (Tensor hx = Tensor.of(x, shape); Tensor ht = Tensor.of(filled(shape[0], t), shape[0])) {
            cuda.copyInto(hx, sample);
            cuda.copyInto(ht, timesteps);
        }
        UNetInput in = call.apply(sample, t).withTimestepValues(timesteps);
        Entry e = entries.computeIfAbsent(key, k -> new Entry());
        e.calls++;
        if (e.graph == null && !eagerOnly && e.calls >= 2 && graphs < MAX_GRAPHS) capture(e, in, extras, listener);
        if (e.graph == null) {
            try (Scope s = Scope.open()) {
                return StableDiffusionPipeline.host(unet.forward(extras.apply(in)));
            }
        }
        e.graph.replay();
        return StableDiffusionPipeline.host(e.output);
    }

    private void capture(Entry e, UNetInput in, UnaryOperator<UNetInput> extras, StepListener listener) {
        Tensor[] out = new Tensor[1];
        try (Scope s = Scope.open()) {
            e.graph = cuda.capture(() -> out[0] = unet.forward(extras.apply(in)));
            e.output = Scope.detach(out[0]);
            graphs++;
        } catch (RuntimeException ex) {
            e.graph = null;
            eagerOnly = true;
            listener.onWarning("CUDA graph capture of the UNet step failed, continuing eagerly: " + ex.getMessage());
        }
    }

    /** True once a step has been captured (replays follow). */
    boolean captured() { return graphs > 0; }

    /** How many graphs were captured. */
    int graphs() { return graphs; }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    @Override
    public void close() {
        for (Entry e : entries.values()) {
            if (e.graph != null) e.graph.close();
            if (e.output != null) e.output.close();
        }
        for (Tensor t : new Tensor[]{sample, timesteps}) if (t != null) t.close();
    }
}
