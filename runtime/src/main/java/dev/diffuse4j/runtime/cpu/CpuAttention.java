package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.*;
import java.util.List;

// PLACEHOLDER: replaced by the real implementation in this session
final class CpuAttention {
    private CpuAttention() {}
    static AttentionResult attention(AttentionCall call) { throw new IllegalStateException("PLACEHOLDER CpuAttention"); }
}
