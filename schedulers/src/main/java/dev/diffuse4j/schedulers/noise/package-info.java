/**
 * Gaussian noise for latents and stochastic sampler steps.
 *
 * <ul>
 *   <li>{@link dev.diffuse4j.schedulers.noise.PhiloxGaussian}: the project's own counter-based generator;
 *       sample i depends only on (seed, i), so results do not depend on backend, thread count or chunking.</li>
 *   <li>{@link dev.diffuse4j.schedulers.noise.TorchCpuRandn}: PyTorch's CPU {@code torch.randn} for a
 *       manual seed, bit for bit, to start from the same latents as a diffusers script.</li>
 * </ul>
 */
package dev.diffuse4j.schedulers.noise;
