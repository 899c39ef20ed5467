package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.BatchLayout;
import dev.diffuse4j.attention.ChannelMoments;
import dev.diffuse4j.attention.LayerRanking;
import dev.diffuse4j.attention.Layers;
import dev.diffuse4j.attention.StatisticsAttention;
import dev.diffuse4j.attention.StyleSensitivity;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Conditional Balance's layer-sensitivity analysis (methods §2.3) for any model: image series in which
 * only the style varies are generated with full StyleAligned (every self-attention layer, AdaIN of Q, K
 * and V); at every step each layer's per-channel query/key/value moments (before AdaIN, reference rows
 * dropped) describe each image as a diagonal Gaussian; a layer's score at a step is the mean same-style
 * JSD over the mean different-style JSD ({@link StyleSensitivity}); several series (content prompts)
 * are combined by a trimmed mean. The result is a {@link LayerRanking} over the self-attention layers in
 * processor order, keyed by the sampler's timesteps.
 *
 * <p>Each image is one batch {@code [reference, target]}: the reference prompt is
 * {@code "<reference>, <style>"}, the target {@code "<content>, <style>"}; sample j of every style uses
 * seed {@code seed + j} (the authors seed once per style, so sample j's noise is the same for all styles).
 * As in the authors' texture experiment, a ControlNet and a fixed control image (their canny map of a
 * rabbit, scale 0.8) can hold the layout still so that only the style varies; it acts on the target
 * rows only.
 */
public final class LayerAnalysisPipeline {
    /** A style suffix and the matching reference prompt. */
    public record Style(String style, String reference) {}

    /** The authors' texture-experiment styles ({@code style_prompts_texture.yaml}). */
    public static final List<Style> PUBLISHED_STYLES = List.of(
            new Style("in the style of Vincent Van-Gogh", "An oil painting"),
            new Style("in the style of Claude Monet", "An oil painting"),
            new Style("in the style of Georges Seurat", "A Pointillism painting"),
            new Style("in the style of Paul Signac", "A Pointillism painting"),
            new Style("in the style of Edvard Munch", "A painting"),
            new Style("in the style of Winslow Homer", "A watercolor painting"),
            new Style("in the style of John Singer Sargent", "A watercolor painting"),
            new Style("in the style of Edward Hopper", "A watercolor painting"),
            new Style("in the style of Paul Cézanne", "An oil painting"),
            new Style("in the style of Berthe Morisot", "A painting"));

    /** The authors' texture-experiment content prompt. */
    public static final String PUBLISHED_CONTENT = "A dark brown rabbit";

    /**
     * @param series          content prompts, one image series each (scores are combined across them)
     * @param styles          the styles of every series (at least 2)
     * @param samples         images per style (at least 2)
     * @param publishedWindow reproduce the authors' same-style indexing bug (see {@link StyleSensitivity})
     */
    public record Options(List<String> series, List<Style> styles, int samples, boolean publishedWindow) {
        public Options {
            series = List.copyOf(series);
            styles = List.copyOf(styles);
            if (series.isEmpty()) throw new IllegalArgumentException("layer analysis needs at least one content prompt (series)");
            if (styles.size() < 2) throw new IllegalArgumentException("layer analysis needs at least 2 styles, got " + styles.size());
            if (samples < 2) throw new IllegalArgumentException("layer analysis needs at least 2 samples per style, got " + samples);
        }
    }

    /** Sees every generated image: series, style and sample index, and the [reference, target] result. */
    @FunctionalInterface
    public interface ImageSink {
        void accept(int series, int style, int sample, GenerationResult result) throws java.io.IOException;
    }

    private final StableDiffusionPipeline pipeline;

    public LayerAnalysisPipeline(StableDiffusion model) { this.pipeline = new StableDiffusionPipeline(model); }

    /** Moments of one image: [self layer][step][q mean, q std, k mean, k std, v mean, v std]. */
    private static final class ImageMoments implements StatisticsAttention.Sink {
        final float[][][][] byLayer;
        final TreeMap<Integer, Integer> timesteps; // step -> timestep, shared by all images

        ImageMoments(int layers, TreeMap<Integer, Integer> timesteps) {
            this.byLayer = new float[layers][][][];
            this.timesteps = timesteps;
        }

        @Override
        public void accept(LayerInfo layer, StepContext step, ChannelMoments q, ChannelMoments k, ChannelMoments v) {
            float[][][] steps = byLayer[layer.kindIndex()];
            if (steps == null) steps = byLayer[layer.kindIndex()] = new float[Math.max(step.numSteps(), step.step() + 1)][][];
            if (step.step() >= steps.length) steps = byLayer[layer.kindIndex()] = java.util.Arrays.copyOf(steps, step.step() + 1);
            steps[step.step()] = new float[][]{floats(q.mean()), floats(q.std()), floats(k.mean()), floats(k.std()), floats(v.mean()), floats(v.std())};
            timesteps.putIfAbsent(step.step(), (int) Math.round(step.timestep()));
        }

        private static float[] floats(double[] d) {
            float[] f = new float[d.length];
            for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
            return f;
        }
    }

    public LayerRanking analyze(GenerationRequest base, Options o, StepListener listener, ImageSink images) throws java.io.IOException {
        return analyze(base, o, null, listener, images);
    }

    /** With {@code control} (may be null) fixing the targets' structure in every generation. */
    public LayerRanking analyze(GenerationRequest base, Options o, Control control, StepListener listener, ImageSink images) throws java.io.IOException {
        var unet = pipeline.model().unet();
        List<LayerInfo> self = unet.processors().select(Layers.self());
        boolean guided = pipeline.guidanceScale(base) > 1;
        TreeMap<Integer, Integer> timesteps = new TreeMap<>();
        List<List<ImageMoments>> series = new ArrayList<>();
        try {
            for (int s = 0; s < o.series().size(); s++) {
                List<ImageMoments> set = new ArrayList<>();
                for (int i = 0; i < o.styles().size(); i++) {
                    Style style = o.styles().get(i);
                    List<String> prompts = List.of(style.reference() + ", " + style.style(), o.series().get(s) + ", " + style.style());
                    for (int j = 0; j < o.samples(); j++) {
                        ImageMoments m = new ImageMoments(self.size(), timesteps);
                        unet.processors().install(Layers.self(), new StatisticsAttention(new BatchLayout(0, guided), m));
                        GenerationResult r = pipeline.generate(base.toBuilder().batchPrompts(prompts).seed(base.seed() + j).build(), listener,
                                LatentHook.NONE, control == null ? null : control.withRows(Control.Rows.TARGETS));
                        set.add(m);
                        if (images != null) images.accept(s, i, j, r);
                    }
                }
                series.add(set);
            }
        } finally {
            unet.processors().reset();
        }
        List<String> names = self.stream().map(LayerInfo::name).toList();
        return new LayerRanking(names, scores(series, timesteps, self.size(), o));
    }

    /** Per timestep, per layer: the trimmed mean over series of each series' style score, for q, k and v. */
    static Map<Integer, LayerRanking.Scores> scores(List<List<ImageMoments>> series, TreeMap<Integer, Integer> timesteps, int layers, Options o) {
        int styles = o.styles().size(), samples = o.samples();
        Map<Integer, LayerRanking.Scores> out = new TreeMap<>();
        for (var e : timesteps.entrySet()) {
            int step = e.getKey();
            double[][] byType = new double[3][layers];
            for (int type = 0; type < 3; type++)
                for (int l = 0; l < layers; l++) {
                    double[] perSeries = new double[series.size()];
                    for (int s = 0; s < series.size(); s++) {
                        List<ImageMoments> set = series.get(s);
                        float[][] means = new float[set.size()][], stds = new float[set.size()][];
                        for (int img = 0; img < set.size(); img++) {
                            float[][][] steps = set.get(img).byLayer[l];
                            if (steps == null || step >= steps.length || steps[step] == null)
                                throw new IllegalStateException("layer analysis: no statistics of self-attention layer " + l + " at step " + step + " for image " + img);
                            means[img] = steps[step][2 * type];
                            stds[img] = steps[step][2 * type + 1];
                        }
                        perSeries[s] = StyleSensitivity.score(means, stds, styles, samples, o.publishedWindow());
                    }
                    byType[type][l] = StyleSensitivity.trimmedMean(perSeries);
                }
            out.put(e.getValue(), new LayerRanking.Scores(byType[0], byType[1], byType[2]));
        }
        return out;
    }
}
