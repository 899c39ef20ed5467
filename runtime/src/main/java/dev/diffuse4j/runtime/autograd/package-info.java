/**
 * Reverse-mode automatic differentiation over the ops API (DESIGN §2), for latent optimisation
 * (Self-Cross, Attend-and-Excite) and small-model training.
 *
 * <p>{@link dev.diffuse4j.runtime.autograd.Tape} records, on its thread, every
 * {@link dev.diffuse4j.runtime.ops.Ops} call and {@link dev.diffuse4j.runtime.Tensor} view that
 * reads a tracked tensor (a watched leaf or something computed from one); everything else runs as
 * before, after one thread-local read. {@link dev.diffuse4j.runtime.autograd.Recorder} holds the
 * hooks and the backward rule of every op; the rules use the forward ops plus the reverse-mode
 * primitives of {@link dev.diffuse4j.runtime.ops.Backend} (sum-to-shape, unary derivative, norm
 * backward, im2col/col2im, embedding scatter-add, MAX/MIN choice), so they run on every backend
 * (on CUDA they have kernels of their own, grad.cu; the attention backward runs on the device except
 * for AdaIN calls, which take a host round trip).
 *
 * <p>What is differentiable: every op of {@code Ops} with respect to its float inputs, including
 * the attention op's output and captured maps ({@code Backend.attentionBackward}). Not
 * differentiable: {@code timestepEmbedding} with respect to t (an error when t is tracked), casts to
 * integer dtypes (constants), and anything computed outside the ops API (host reads and writes:
 * {@code toFloatArray}, {@code Tensor.of}) — such values are constants to the tape.
 */
package dev.diffuse4j.runtime.autograd;
