package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.AttentionMaps;
import dev.diffuse4j.attention.CaptureAttention;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.MapFiles;
import dev.diffuse4j.attention.MapSink;
import dev.diffuse4j.model.attention.LayerInfo;

import java.util.List;

/**
 * Generates one image while capturing cross-attention maps (per text token) and self-attention maps
 * at the lowest latent resolution that has attention, averaged over heads, layers and steps, for the
 * conditional batch item.
 */
public final class AttentionMapsPipeline {
    /** The generated image, and maps: cross [queries x tokens] and self [queries x queries] at {@code height x width}. */
    public record Result(GenerationResult generation, int height, int width, float[] cross, int tokens, float[] self) {}

    private final StableDiffusionPipeline pipeline;

    public AttentionMapsPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    public Result generate(GenerationRequest request, StepListener listener) { return generate(request, listener, null); }

    /** Also hands every captured map (each step and layer, before averaging) to {@code extra}, e.g. {@link MapFiles}; may be null. */
    public Result generate(GenerationRequest request, StepListener listener, MapSink extra) {
        if (request.images() != 1) throw new IllegalArgumentException("attention maps are captured for one image at a time");
        var unet = pipeline.model().unet();
        int f = pipeline.model().vaeScaleFactor();
        int w = (request.width() > 0 ? request.width() : pipeline.model().defaultSize()) / f;
        int h = (request.height() > 0 ? request.height() : pipeline.model().defaultSize()) / f;
        List<LayerInfo> layers = unet.layers(h, w);
        LayerInfo coarsest = layers.stream().filter(LayerInfo::isCross).max(java.util.Comparator.comparingInt(LayerInfo::level))
                .orElseThrow(() -> new IllegalArgumentException("this UNet has no cross-attention layers"));
        int tokens = coarsest.height() * coarsest.width();
        boolean guided = pipeline.guidanceScale(request) > 1;
        try (AttentionMaps maps = new AttentionMaps()) {
            unet.processors().install(Layers.level(coarsest.level()), new CaptureAttention(extra == null ? maps : MapSink.both(maps, extra))); // levels, not token counts: installed layers carry the config's default size
            GenerationResult g;
            try {
                g = pipeline.generate(request, listener);
            } finally {
                unet.processors().reset();
            }
            int item = guided ? 1 : 0; // the conditional half
            float[] cross = null, self = null;
            int textTokens = 0;
            for (AttentionMaps.Entry e : maps.entries()) if (e.layer().isCross()) textTokens = e.maps().dim(2);
            cross = mean(maps, item, tokens, true);
            self = mean(maps, item, tokens, false);
            return new Result(g, coarsest.height(), coarsest.width(), cross, textTokens, self);
        }
    }

    private static float[] mean(AttentionMaps maps, int item, int queries, boolean cross) {
        float[] sum = null;
        int n = 0;
        for (AttentionMaps.Entry e : maps.entries()) {
            if (e.layer().isCross() != cross || e.maps().dim(1) != queries) continue;
            try (var row = e.maps().select(0, item)) {
                float[] v = row.toFloatArray();
                if (sum == null) sum = new float[v.length];
                for (int i = 0; i < v.length; i++) sum[i] += v[i];
                n++;
            }
        }
        if (sum == null) return new float[0];
        for (int i = 0; i < sum.length; i++) sum[i] /= n;
        return sum;
    }
}
