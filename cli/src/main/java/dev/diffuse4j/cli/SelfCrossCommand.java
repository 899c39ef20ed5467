package dev.diffuse4j.cli;

import dev.diffuse4j.pipelines.GenerationRequest;
import dev.diffuse4j.pipelines.GenerationResult;
import dev.diffuse4j.pipelines.GuidanceEvent;
import dev.diffuse4j.pipelines.GuidanceListener;
import dev.diffuse4j.pipelines.SelfCrossOptions;
import dev.diffuse4j.pipelines.SelfCrossPipeline;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.pipelines.image.Png;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code d4j self-cross}: text to image with Self-Cross diffusion guidance (or Attend-and-Excite), which
 * moves the latent during the first half of the steps so that every named subject gets its own
 * region of attention. Progress lines show the guidance loss.
 */
@Command(name = "self-cross", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate an image with Self-Cross guidance (or Attend-and-Excite) so that every subject appears, unmixed.",
                "Example: d4j self-cross --model sd15 --prompt \"a leopard and a tiger\" --subjects leopard,tiger --steps 50 --out out.png"})
final class SelfCrossCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Mixin
    PromptOptions prompt = new PromptOptions();

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Option(names = "--subjects", split = ",", paramLabel = "WORD,WORD", description = "the subject words of the prompt (each must be one of its words)")
    List<String> subjects;

    @Option(names = "--subject-indices", split = ",", paramLabel = "I,J", description = "the subjects as 1-based token positions instead (\"a cat and a frog\" -> 2,5 with CLIP)")
    int[] subjectIndices;

    @Option(names = "--method", defaultValue = "self-cross", description = "self-cross or attend-and-excite (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = "--scale-factor", defaultValue = "20", paramLabel = "S",
            description = "latent step size S*sqrt(linspace(1,0.5)[i]); 0 = plain generation (default: ${DEFAULT-VALUE})")
    double scaleFactor;

    @Option(names = "--max-iter-to-alter", paramLabel = "N", description = "update the latent in the first N steps (default: half the steps)")
    Integer maxIterToAlter;

    @Option(names = "--top-k", paramLabel = "K", description = "response loss over the K strongest attention cells (default: 16 self-cross, 1 attend-and-excite)")
    Integer topK;

    @Option(names = "--initno", negatable = true, description = "optimise the initial noise first (INITNO; default: on for self-cross, off for attend-and-excite)")
    Boolean initno;

    @Option(names = "--max-refinement", defaultValue = "20", paramLabel = "N", description = "iteration cap of each iterative refinement (default: ${DEFAULT-VALUE})")
    int maxRefinement;

    @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "the image to write")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr(), stdout = spec.commandLine().getOut();
        if ((subjects == null) == (subjectIndices == null))
            throw new IllegalArgumentException("name the subjects with --subjects word,word or --subject-indices i,j (one of the two)");
        SelfCrossOptions.Builder b = SelfCrossOptions.builder(SelfCrossOptions.Method.parse(method)).scaleFactor(scaleFactor).maxRefinement(maxRefinement);
        if (subjects != null) b.subjects(subjects);
        else b.subjectIndices(subjectIndices);
        if (maxIterToAlter != null) b.maxIterToAlter(maxIterToAlter);
        if (topK != null) b.topK(topK);
        if (initno != null) b.initialNoise(initno);
        SelfCrossOptions options = b.build();
        GenerationRequest request = sampling.apply(GenerationRequest.builder(prompt.prompt)).negativePrompt(prompt.negative).build();
        Path target = Outputs.paths(out, 1).get(0);
        try (StableDiffusion sd = modelOptions.load(err)) {
            GenerationResult result = new SelfCrossPipeline(sd).generate(request, options, new Progress(err, options.method().cliName()));
            Png.write(target, result.images().get(0), Map.of("parameters", result.parameters()));
            stdout.println(target);
            err.println(GenerateCommand.CliListener.timings(result.seconds()));
        }
        return 0;
    }

    /** The step progress bar with the latest guidance loss; initial-noise and refinement iterations as lines. */
    static final class Progress implements GuidanceListener {
        private final GenerateCommand.CliListener steps;
        private final PrintWriter err;
        private final String label;
        private ProgressBar bar;
        private GuidanceEvent last;

        Progress(PrintWriter err, String label) {
            this.err = err;
            this.label = label;
            this.steps = new GenerateCommand.CliListener(err, label);
        }

        @Override
        public void onGuidance(GuidanceEvent e) {
            last = e;
            if (e.stage() == GuidanceEvent.Stage.INITIAL_NOISE)
                err.println(String.format(Locale.ROOT, "initial noise round %d iter %d: %s", e.step() + 1, e.iteration() + 1, losses(e)));
            else if (e.stage() == GuidanceEvent.Stage.REFINE)
                err.println(String.format(Locale.ROOT, "refine step %d iter %d: %s", e.step(), e.iteration(), losses(e)));
        }

        static String losses(GuidanceEvent e) {
            return String.format(Locale.ROOT, "loss %.4f (response %.4f, self-cross %.4f)", e.loss(), e.response(), e.selfCross());
        }

        @Override
        public void onStart(int total) {
            bar = new ProgressBar(err, label, total);
            bar.update(0);
        }

        @Override
        public void onStep(int done, int total) {
            if (bar == null) onStart(total);
            boolean guided = last != null && last.stage() != GuidanceEvent.Stage.INITIAL_NOISE && last.step() == done - 1;
            bar.update(done, guided ? losses(last) : null);
        }

        @Override
        public void onWarning(String message) { steps.onWarning(message); }

        @Override
        public void onPhase(String phase, double seconds) { steps.onPhase(phase, seconds); }
    }
}
