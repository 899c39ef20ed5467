package dev.diffuse4j.pipelines;

import dev.diffuse4j.runtime.Device;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Self-Cross / Attend-and-Excite guided generation on the tiny fake SD1.5. */
class SelfCrossPipelineTest {
    static StableDiffusion sd;

    @BeforeAll
    static void load() { sd = FakeModels.load("tiny-sd15", Device.CPU); }

    @AfterAll
    static void close() { sd.close(); }

    static GenerationRequest request(int steps) {
        return GenerationRequest.builder("a cat and a frog").steps(steps).seed(7).size(128, 128).guidanceScale(7.5).build();
    }

    @Test
    void scaleFactorZeroIsPlainGenerationBitForBit() {
        GenerationRequest req = request(4);
        GenerationResult plain = new StableDiffusionPipeline(sd).generate(req, StepListener.NONE);
        for (SelfCrossOptions.Method m : SelfCrossOptions.Method.values()) {
            SelfCrossOptions o = SelfCrossOptions.builder(m).subjects(List.of("cat", "frog")).scaleFactor(0).build();
            List<GuidanceEvent> events = new ArrayList<>();
            GenerationResult guided = new SelfCrossPipeline(sd).generate(req, o, new GuidanceListener() {
                @Override public void onGuidance(GuidanceEvent e) { events.add(e); }
            });
            assertArrayEquals(plain.images().get(0).rgb(), guided.images().get(0).rgb(), m + ": same pixels as plain generation");
            assertTrue(events.isEmpty(), "no guidance ran");
        }
    }

    @Test
    void guidanceChangesTheImageAndReportsLosses() {
        GenerationRequest req = request(4);
        GenerationResult plain = new StableDiffusionPipeline(sd).generate(req, StepListener.NONE);
        SelfCrossOptions o = SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).subjects(List.of("cat", "frog"))
                .initno(1, 2, 0).maxRefinement(2).build();
        List<GuidanceEvent> events = new ArrayList<>();
        GenerationResult guided = new SelfCrossPipeline(sd).generate(req, o, new GuidanceListener() {
            @Override public void onGuidance(GuidanceEvent e) { events.add(e); }
        });
        assertFalse(java.util.Arrays.equals(plain.images().get(0).rgb(), guided.images().get(0).rgb()), "guidance moved the latent");
        List<Double> initno = events.stream().filter(e -> e.stage() == GuidanceEvent.Stage.INITIAL_NOISE).map(GuidanceEvent::loss).toList();
        assertEquals(2, initno.size(), "one round of two Adam steps: " + events);
        assertTrue(initno.get(1) < initno.get(0), "the Adam step on the initial noise lowered its loss: " + initno);
        assertEquals(2, events.stream().filter(e -> e.stage() == GuidanceEvent.Stage.UPDATE).map(GuidanceEvent::step).distinct().count(),
                "updates in the first half of 4 steps: " + events);
        for (GuidanceEvent e : events) assertTrue(Double.isFinite(e.loss()) && e.loss() >= 0, e.toString());
        assertTrue(guided.parameters().contains("Guidance: self-cross"), guided.parameters());
    }

    @Test
    void gradientStepsLowerTheLoss() {
        // repeated refinement at step 0 with A&E: the loss it descends must go down
        GenerationRequest req = request(2);
        SelfCrossOptions o = SelfCrossOptions.builder(SelfCrossOptions.Method.ATTEND_AND_EXCITE).subjects(List.of("cat", "frog"))
                .maxIterToAlter(1).maxRefinement(6).scaleFactor(200).build();
        List<GuidanceEvent> events = new ArrayList<>();
        new SelfCrossPipeline(sd).generate(req, o, new GuidanceListener() {
            @Override public void onGuidance(GuidanceEvent e) { events.add(e); }
        });
        List<Double> refine = events.stream().filter(e -> e.stage() == GuidanceEvent.Stage.REFINE).map(GuidanceEvent::loss).toList();
        assertTrue(refine.size() >= 2, "refinement ran: " + events);
        assertTrue(refine.getLast() < refine.getFirst(), "loss decreased over the refinement: " + refine);
    }

    @Test
    void subjectsAreFoundOrRefusedByName() {
        SelfCrossPipeline p = new SelfCrossPipeline(sd);
        GenerationRequest req = request(2);
        int[] idx = p.subjects(req, SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).subjects(List.of("cat", "frog")).build());
        // byte-level tokenizer: one token per character, "a cat and a frog" -> 't' of cat at 5, 'g' of frog at 16
        assertArrayEquals(new int[]{5, 16}, idx);
        var bad = assertThrows(IllegalArgumentException.class, () -> p.generate(req,
                SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).subjects(List.of("cat", "dog")).build(), GuidanceListener.NONE));
        assertTrue(bad.getMessage().contains("'dog'") && bad.getMessage().contains("a cat and a frog"), bad.getMessage());
        var range = assertThrows(IllegalArgumentException.class, () -> p.generate(req,
                SelfCrossOptions.builder(SelfCrossOptions.Method.ATTEND_AND_EXCITE).subjectIndices(2, 40).build(), GuidanceListener.NONE));
        assertTrue(range.getMessage().contains("40"), range.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).build());
        assertThrows(IllegalArgumentException.class, () -> SelfCrossOptions.Method.parse("excite-everything"));
    }

    @Test
    void authorsScheduleAt50Steps() {
        SelfCrossOptions sc = SelfCrossOptions.builder(SelfCrossOptions.Method.SELF_CROSS).subjectIndices(2, 5).build();
        SelfCrossOptions ae = SelfCrossOptions.builder(SelfCrossOptions.Method.ATTEND_AND_EXCITE).subjectIndices(2, 5).build();
        assertEquals(java.util.Map.of(10, 0.8, 20, 0.8), sc.refinementThresholds(50));
        assertEquals(java.util.Map.of(0, 0.05, 10, 0.5, 20, 0.8), ae.refinementThresholds(50));
        assertEquals(25, sc.stepsToAlter(50));
        assertEquals(20.0, sc.stepSize(0, 50), 1e-12);
        assertEquals(20 * Math.sqrt(0.5), sc.stepSize(49, 50), 1e-12);
        assertEquals(20 * Math.sqrt(1 - 0.5 * 10 / 49.0), sc.stepSize(10, 50), 1e-12); // np.linspace(1, 0.5, 50)[10]
        assertTrue(sc.initialNoise() && !ae.initialNoise());
        assertEquals(16, sc.topK());
    }
}
