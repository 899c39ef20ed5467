/**
 * CLIP text encoders (transformers CLIPTextModel / CLIPTextModelWithProjection) on the runtime ops, and the
 * SD1.5 / SDXL prompt conditioning built from them.
 *
 * <ul>
 *   <li>{@link dev.diffuse4j.model.clip.ClipTextConfig}: shape (presets CLIP_L, OPENCLIP_BIGG; transformers
 *       config.json; inferred from checkpoint shapes).</li>
 *   <li>{@link dev.diffuse4j.model.clip.ClipTextModel}: the encoder; parameters carry transformers names, so a
 *       diffusers folder binds as-is. {@code forward} returns last_hidden_state, requested hidden_states,
 *       pooled and text_embeds; {@code hiddenState} runs only the layers a hidden state needs.</li>
 *   <li>{@link dev.diffuse4j.model.clip.ClipWeightLayout}: where the tensors are in a checkpoint (diffusers,
 *       SD1.5/SDXL single file, OpenCLIP names with fused in_proj and transposed projection).</li>
 *   <li>{@link dev.diffuse4j.model.clip.Sd15TextEncoder}, {@link dev.diffuse4j.model.clip.SdxlTextEncoder}:
 *       the context (and SDXL pooled) tensors the UNet takes, with diffusers' clip_skip.</li>
 * </ul>
 */
package dev.diffuse4j.model.clip;
