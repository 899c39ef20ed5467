package dev.diffuse4j.schedulers;

/**
 * What the samplers that evaluate the model at integer training timesteps share (DDIM, DDIM inversion,
 * DPM-Solver++): the config, its training schedule, the spacing in effect and the current timestep table.
 * Their model input is the sample itself and the initial noise has unit variance.
 */
public abstract class IntegerTimestepScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final TrainingSchedule schedule;
    protected final TimestepSpacing spacing;
    protected int[] timesteps = new int[0];

    protected IntegerTimestepScheduler(SchedulerConfig config, TimestepSpacing defaultSpacing) {
        this.config = config;
        this.schedule = TrainingSchedule.of(config);
        this.spacing = config.timestepSpacingOr(defaultSpacing);
    }

    /** The spacing in effect (the config's, or this sampler's default). */
    public TimestepSpacing spacing() { return spacing; }

    @Override public SchedulerConfig config() { return config; }

    @Override public TrainingSchedule trainingSchedule() { return schedule; }

    @Override public int numSteps() { return timesteps.length; }

    @Override
    public float timestep(int stepIndex) {
        checkStep(stepIndex);
        return timesteps[stepIndex];
    }

    @Override
    public float[] timesteps() {
        float[] t = new float[timesteps.length];
        for (int i = 0; i < t.length; i++) t[i] = timesteps[i];
        return t;
    }

    /** The integer timesteps, in the order the steps take them. */
    public int[] integerTimesteps() { return timesteps.clone(); }

    @Override public float initNoiseSigma() { return 1f; }

    @Override public float modelInputDivisor(int stepIndex) { return 1f; }
}
