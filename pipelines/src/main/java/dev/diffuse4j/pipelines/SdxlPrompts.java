package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.clip.ClipTextModel;
import dev.diffuse4j.model.clip.SdxlTextEncoder;
import dev.diffuse4j.model.clip.TextConditioning;
import dev.diffuse4j.model.tokenizer.Tokenizer;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.ops.Ops;

import java.util.List;

/** SDXL prompts: penultimate states of CLIP-L and OpenCLIP bigG side by side, pooled bigG projection. */
public final class SdxlPrompts implements PromptEncoder {
    private final SdxlTextEncoder encoder;
    private final int clipSkip;

    public SdxlPrompts(Tokenizer tokenizer1, ClipTextModel clipL, Tokenizer tokenizer2, ClipTextModel bigG, int clipSkip) {
        this.encoder = new SdxlTextEncoder(tokenizer1, clipL, tokenizer2, bigG);
        this.clipSkip = clipSkip;
    }

    @Override
    public TextConditioning encode(List<String> prompts) { return encoder.encode(prompts, clipSkip); }

    @Override
    public Tokenizer tokenizer() { return encoder.tokenizer1(); }

    @Override
    public TextConditioning zeros(int batch) {
        int len = encoder.tokenizer1().maxLength();
        int dim = encoder.clipL().config().hiddenSize() + encoder.bigG().config().hiddenSize();
        int pooled = encoder.bigG().config().projectionDim();
        var device = encoder.clipL().device();
        return new TextConditioning(Ops.full(device, DType.F32, 0f, batch, len, dim), Ops.full(device, DType.F32, 0f, batch, pooled), new int[batch]);
    }

    @Override
    public void close() {
        encoder.clipL().close();
        encoder.bigG().close();
    }
}
