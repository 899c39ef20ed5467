package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.*;
import java.util.List;

// PLACEHOLDER: replaced by the real implementation in this session
final class Layout {
    private Layout() {}
    static Tensor concat(List<Tensor> xs, int dim) { throw new IllegalStateException("PLACEHOLDER Layout"); }
    static Tensor upsampleNearest2x(Tensor x) { throw new IllegalStateException("PLACEHOLDER Layout"); }
    static Tensor embedding(Tensor table, Tensor ids) { throw new IllegalStateException("PLACEHOLDER Layout"); }
    static Tensor timestepEmbedding(Tensor t, int dim, boolean flipSinToCos, float freqShift, float maxPeriod) { throw new IllegalStateException("PLACEHOLDER Layout"); }
}
