package dev.diffuse4j.pipelines;

import dev.diffuse4j.attention.guidance.Evaluation;
import dev.diffuse4j.attention.guidance.GuidanceObjective;
import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.schedulers.Scheduler;
import dev.diffuse4j.schedulers.noise.NoiseSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The latent updates of the Attend-and-Excite family as a {@link LatentHook} on the plain sampling
 * loop: before step i (i &lt; stepsToAlter) the latent moves against the gradient of the objective of a
 * cond-only pass, {@code z -= stepSize(i) * dL/dz}, after an iterative refinement at the refinement
 * steps when the loss is above its threshold. Self-Cross first optimises the initial noise (INITNO).
 * The CFG step then runs on the updated latent exactly as plain generation does.
 */
final class LatentGuidance implements LatentHook {
    /** What the hook needs from the pipeline: geometry, conditioning, schedule. */
    record Setup(StableDiffusion model, int h, int w, int c, Tensor context, Scheduler scheduler, int steps,
                 Predicate<LayerInfo> layers, int[] subjects, NoiseSource freshNoise) {}

    private final Setup s;
    private final SelfCrossOptions o;
    private final GuidanceObjective objective, initno;
    private final GuidanceListener listener;
    private final Map<Integer, Double> thresholds;

    LatentGuidance(Setup setup, SelfCrossOptions options, GuidanceObjective objective, GuidanceObjective initno, GuidanceListener listener) {
        this.s = setup;
        this.o = options;
        this.objective = objective;
        this.initno = initno;
        this.listener = listener;
        this.thresholds = options.refinementThresholds(setup.steps());
    }

    @Override
    public float[] initial(float[] latents, int perItem) {
        objective.reset();
        float[] z = o.initialNoise() ? optimiseInitialNoise(latents) : latents;
        return 0 < o.stepsToAlter(s.steps()) ? guide(0, z) : z;
    }

    @Override
    public float[] afterStep(int step, float[] latents, int perItem) {
        int next = step + 1;
        return next < Math.min(o.stepsToAlter(s.steps()), s.steps()) ? guide(next, latents) : latents;
    }

    /** The per-step update of step i, with the refinement first where the schedule asks for one. */
    private float[] guide(int i, float[] z) {
        double size = o.stepSize(i, s.steps());
        Evaluation e;
        GuidedForward f = forward(z, i, objective);
        try {
            e = f.evaluation();
            report(GuidanceEvent.Stage.UPDATE, i, 0, e.update().value(), e);
            Double thr = thresholds.get(i);
            if (thr != null && o.maxRefinement() > 0 && (e.update().value() > 1 - thr || e.selfCross() > o.selfCrossTarget())) {
                f.close();
                f = null;
                z = refine(i, z, Math.max(0, 1 - thr), size, e);
                f = forward(z, i, objective);
                e = f.evaluation();
                report(GuidanceEvent.Stage.UPDATE, i, 0, e.update().value(), e);
            }
            if (e.update().value() != 0) z = descend(z, f.gradient(e.update().gradient()), size);
        } finally {
            if (f != null) f.close();
        }
        return z;
    }

    /** Iterative refinement: update until the loss is at most {@code target} (and self-cross at most its target), capped. */
    private float[] refine(int i, float[] z, double target, double size, Evaluation first) {
        double loss = first.update().value(), selfCross = first.selfCross();
        for (int it = 1; loss > target || selfCross > o.selfCrossTarget(); it++) {
            try (GuidedForward f = forward(z, i, objective)) {
                Evaluation e = f.evaluation();
                report(GuidanceEvent.Stage.REFINE, i, it, e.refine().value(), e);
                if (e.refine().value() != 0) z = descend(z, f.gradient(e.refine().gradient()), size);
                loss = e.update().value();
                selfCross = e.selfCross();
            }
            if (it >= o.maxRefinement()) break;
        }
        return z;
    }

    /** INITNO: rounds of Adam on fresh noise until one succeeds, else more steps from the best round's noise. */
    private float[] optimiseInitialNoise(float[] z0) {
        record Round(int round, float[] start, InitialNoise.Outcome outcome) {}
        List<Round> rounds = new ArrayList<>();
        float[] start = z0;
        for (int r = 0; r < o.initnoRounds(); r++) {
            if (r > 0) start = freshNoise();
            InitialNoise.Outcome out = initnoRound(start, o.initnoSteps(), r);
            rounds.add(new Round(r, start, out));
            if (out.success()) return out.latents();
        }
        Round best = rounds.stream().min(Comparator.comparingDouble((Round x) -> x.outcome().score()).thenComparingInt(Round::round)).orElseThrow();
        if (o.initnoFinalSteps() == 0) return best.outcome().latents();
        return initnoRound(best.start(), o.initnoFinalSteps(), o.initnoRounds()).latents();
    }

    private InitialNoise.Outcome initnoRound(float[] start, int steps, int round) {
        return InitialNoise.optimise(start, steps, z -> {
            GuidedForward f = forward(z, 0, initno);
            return new InitialNoise.Probe() {
                @Override public Evaluation evaluation() { return f.evaluation(); }
                @Override public float[] gradient() { return f.gradient(f.evaluation().update().gradient()); }
                @Override public void close() { f.close(); }
            };
        }, (e, it) -> report(GuidanceEvent.Stage.INITIAL_NOISE, round, it, e.update().value(), e));
    }

    private float[] freshNoise() {
        return Latents.scale(Latents.gaussianNhwc(s.freshNoise(), 1, s.c(), s.h(), s.w()), s.scheduler().initNoiseSigma());
    }

    private GuidedForward forward(float[] z, int i, GuidanceObjective obj) {
        StepContext step = StepContext.of(i, s.steps(), s.scheduler().timestep(i));
        return new GuidedForward(s.model().unet(), z, s.h(), s.w(), s.c(), s.scheduler().modelInputDivisor(i), step, s.context(),
                s.layers(), obj, s.subjects());
    }

    private static float[] descend(float[] z, float[] grad, double size) {
        float[] out = new float[z.length];
        float a = (float) size;
        for (int k = 0; k < z.length; k++) out[k] = z[k] - a * grad[k];
        return out;
    }

    private void report(GuidanceEvent.Stage stage, int step, int it, double loss, Evaluation e) {
        listener.onGuidance(new GuidanceEvent(stage, step, it, loss, e.response(), e.selfCross()));
    }

}
