/**
 * Diffusion samplers with diffusers' numerics: {@link dev.diffuse4j.schedulers.DdimScheduler} (with eta),
 * {@link dev.diffuse4j.schedulers.DdimInverseScheduler}, {@link dev.diffuse4j.schedulers.EulerDiscreteScheduler}
 * (optionally Karras sigmas) and {@link dev.diffuse4j.schedulers.DpmSolverMultistepScheduler} (DPM-Solver++ 2M),
 * configured by {@link dev.diffuse4j.schedulers.SchedulerConfig} (diffusers' {@code scheduler_config.json}).
 * Noise generators live in {@code dev.diffuse4j.schedulers.noise}.
 */
package dev.diffuse4j.schedulers;
