package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.clip.ClipTextModel;
import dev.diffuse4j.model.clip.Sd15TextEncoder;
import dev.diffuse4j.model.clip.TextConditioning;
import dev.diffuse4j.model.tokenizer.Tokenizer;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;

/** SD1.5 prompts: CLIP-L last hidden state (or an earlier layer with clip skip). */
public final class Sd15Prompts implements PromptEncoder {
    private final Sd15TextEncoder encoder;
    private final int clipSkip;

    public Sd15Prompts(Tokenizer tokenizer, ClipTextModel clip, int clipSkip) {
        this.encoder = new Sd15TextEncoder(tokenizer, clip);
        this.clipSkip = clipSkip;
    }

    @Override
    public TextConditioning encode(List<String> prompts) { return encoder.encode(prompts, clipSkip); }

    @Override
    public Tokenizer tokenizer() { return encoder.tokenizer(); }

    @Override
    public TextConditioning zeros(int batch) {
        int len = encoder.tokenizer().maxLength(), dim = encoder.clip().config().hiddenSize();
        return new TextConditioning(Ops.full(encoder.clip().device(), DType.F32, 0f, batch, len, dim), null, new int[batch]);
    }

    @Override
    public void close() { encoder.clip().close(); }
}
