/**
 * UNet2DConditionModel for SD1.x, SD2.x and SDXL, written to read like diffusers' module tree.
 *
 * <ul>
 *   <li><b>Layout.</b> Activations are channels-last: latents [B, H, W, 4], transformer tokens
 *       [B, H*W, C] without permutes. {@code model.nn.Nhwc} converts NCHW data (goldens, Python
 *       arrays) at the boundary.</li>
 *   <li><b>Names.</b> Parameters carry diffusers names; {@link dev.diffuse4j.model.unet.LdmUNetMapping}
 *       says where each lives in a single-file LDM/SGM checkpoint, and
 *       {@link dev.diffuse4j.model.unet.UNetConfigInference} reads the config off such a file.</li>
 *   <li><b>Config.</b> {@link dev.diffuse4j.model.unet.UNetConfig} keeps diffusers' fields, including the
 *       quirk that {@code attention_head_dim} is the head count when {@code num_attention_heads} is absent;
 *       anything outside the supported family is refused by field name.</li>
 *   <li><b>Attention.</b> Every attention layer runs through the processor installed for it
 *       ({@link dev.diffuse4j.model.unet.UNet2DConditionModel#processors()}); the pipeline passes the step
 *       in {@link dev.diffuse4j.model.unet.UNetInput#step()}. Layer order and names are diffusers'
 *       {@code attn_processors} (down blocks, up blocks, mid block).</li>
 *   <li><b>Memory.</b> Each block opens a {@link dev.diffuse4j.runtime.Scope}, so its intermediates are
 *       freed when it returns; skips are freed as the up path consumes them. A loaded model owns its
 *       weights ({@code ModelWeights}) and frees them on close; conv weights are held once, re-laid.</li>
 *   <li><b>Observation.</b> {@link dev.diffuse4j.model.unet.UNetObserver} sees every sub-module's output,
 *       which is how the tests compare block by block with the goldens' intermediates.</li>
 * </ul>
 */
package dev.diffuse4j.model.unet;
