package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.CaptureAttention;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.MapFiles;
import dev.diffuse4j.attention.MapSink;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;

/**
 * Generates one image while capturing cross-attention maps (per text token) and self-attention maps
 * at one latent resolution level (by default the coarsest that has attention), averaged over heads,
 * layers and steps, for the conditional batch item. Maps are averaged as they arrive, so memory is
 * one map of each kind whatever the number of steps and layers.
 */
public final class AttentionMapsPipeline {
    /** The generated image, and maps: cross [queries x tokens] and self [queries x queries] at {@code height x width}. */
    public record Result(GenerationResult generation, int height, int width, float[] cross, int tokens, float[] self) {}

    private final StableDiffusionPipeline pipeline;

    public AttentionMapsPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    public Result generate(GenerationRequest request, StepListener listener) { return generate(request, listener, null, -1); }

    /**
     * @param extra also receives every captured map (each step and layer, before averaging), e.g. {@link MapFiles}; may be null
     * @param level the resolution level to capture (0 = the latent grid, 1 = half of it, ...), or -1 for the
     *              coarsest level that has cross-attention
     */
    public Result generate(GenerationRequest request, StepListener listener, MapSink extra, int level) {
        if (request.images() != 1) throw new IllegalArgumentException("attention maps are captured for one image at a time");
        var unet = pipeline.model().unet();
        int f = pipeline.model().vaeScaleFactor();
        int w = (request.width() > 0 ? request.width() : pipeline.model().defaultSize()) / f;
        int h = (request.height() > 0 ? request.height() : pipeline.model().defaultSize()) / f;
        List<LayerInfo> layers = unet.layers(h, w);
        int maxLevel = layers.stream().filter(LayerInfo::isCross).mapToInt(LayerInfo::level).max()
                .orElseThrow(() -> new IllegalArgumentException("this UNet has no cross-attention layers"));
        int chosen = level < 0 ? maxLevel : level;
        LayerInfo at = layers.stream().filter(l -> l.isCross() && l.level() == chosen).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no cross-attention at level " + level + " of this UNet (levels with attention: "
                        + layers.stream().filter(LayerInfo::isCross).map(LayerInfo::level).distinct().sorted().toList() + ")"));
        boolean guided = pipeline.guidanceScale(request) > 1;
        MeanMaps mean = new MeanMaps(guided ? 1 : 0, at.tokens()); // the conditional half
        // levels, not token counts: installed layers carry the config's default size
        unet.processors().install(Layers.level(chosen), new CaptureAttention(extra == null ? mean : MapSink.both(mean, extra)));
        GenerationResult g;
        try {
            g = pipeline.generate(request, listener);
        } finally {
            unet.processors().reset();
        }
        return new Result(g, at.height(), at.width(), mean.cross.mean(), mean.textTokens, mean.self.mean());
    }

    /** Running means of one item's cross- and self-attention maps with a given number of queries. */
    private static final class MeanMaps implements MapSink {
        private final int item, queries;
        private final Sum cross = new Sum(), self = new Sum();
        private int textTokens;

        MeanMaps(int item, int queries) {
            this.item = item;
            this.queries = queries;
        }

        @Override
        public synchronized void accept(LayerInfo layer, StepContext step, Tensor maps) {
            if (maps.dim(1) != queries || item >= maps.dim(0)) return;
            if (layer.isCross()) textTokens = maps.dim(2);
            Tensor host = maps.device().isCpu() ? maps.share() : Ops.to(maps, Device.CPU); // read in place on the CPU
            try (host; Tensor row = host.select(0, item)) {
                (layer.isCross() ? cross : self).add(row.toFloatArray());
            }
        }
    }

    private static final class Sum {
        private double[] sum;
        private int n;

        void add(float[] v) {
            if (sum == null) sum = new double[v.length];
            for (int i = 0; i < v.length; i++) sum[i] += v[i];
            n++;
        }

        float[] mean() {
            if (sum == null) return new float[0];
            float[] out = new float[sum.length];
            for (int i = 0; i < out.length; i++) out[i] = (float) (sum[i] / n);
            return out;
        }
    }
}
