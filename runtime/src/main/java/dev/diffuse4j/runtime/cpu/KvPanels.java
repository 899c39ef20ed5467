package dev.diffuse4j.runtime.cpu;

import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.KvSegment;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys and values the query items read, packed once per (source row, head) into contiguous F32
 * panels so the kernels stream them with unit stride: keys {@code [rows4, D]}, values
 * {@code [rows4, D4]}, where rows4 and D4 round the token count and head dim up to 4 (zero padding).
 * A row shared by several items (broadcast references, item maps) is packed once; rows that an item
 * AdaIN-normalises get a panel of their own for that item.
 */
final class KvPanels {
    private record Source(KvSegment segment, int row, AdaIn.ChannelAffine keyAffine, AdaIn.ChannelAffine valueAffine) {}

    private record SharedRow(Tensor k, Tensor v, int row) {}

    final int heads, headDim, valueStride;
    private final int[][] panelOf;
    private final int[] tokens;
    private final float[][] keys, values;

    private KvPanels(int heads, int headDim, int[][] panelOf, List<Source> sources) {
        this.heads = heads;
        this.headDim = headDim;
        this.valueStride = roundUp4(headDim);
        this.panelOf = panelOf;
        int n = sources.size();
        this.tokens = new int[n];
        this.keys = new float[n * heads][];
        this.values = new float[n * heads][];
        for (int p = 0; p < n; p++) tokens[p] = sources.get(p).segment.k().dim(1);
        Parallel.forEach(n * heads, i -> pack(sources.get(i / heads), i / heads, i % heads));
    }

    /**
     * Packs what every item reads. {@code keyAffine[b]} / {@code valueAffine[b]} (either may be null, as
     * may their entries) are item b's AdaIN maps for segment 0.
     */
    static KvPanels pack(List<KvSegment> segments, int items, int heads, int headDim,
                         AdaIn.ChannelAffine[] keyAffine, AdaIn.ChannelAffine[] valueAffine) {
        int[][] panelOf = new int[segments.size()][items];
        List<Source> sources = new ArrayList<>();
        Map<SharedRow, Integer> shared = new HashMap<>();
        for (int j = 0; j < segments.size(); j++) {
            KvSegment seg = segments.get(j);
            for (int b = 0; b < items; b++) {
                int row = seg.rowFor(b, items);
                if (row < 0) {
                    panelOf[j][b] = -1;
                    continue;
                }
                AdaIn.ChannelAffine ka = j == 0 && keyAffine != null ? keyAffine[b] : null;
                AdaIn.ChannelAffine va = j == 0 && valueAffine != null ? valueAffine[b] : null;
                if (ka == null && va == null) {
                    panelOf[j][b] = shared.computeIfAbsent(new SharedRow(seg.k(), seg.v(), row), r -> {
                        sources.add(new Source(seg, row, null, null));
                        return sources.size() - 1;
                    });
                } else {
                    sources.add(new Source(seg, row, ka, va));
                    panelOf[j][b] = sources.size() - 1;
                }
            }
        }
        return new KvPanels(heads, headDim, panelOf, sources);
    }

    /** The panel item b reads for segment j, or -1 when the segment is absent for b. */
    int panel(int segment, int item) { return panelOf[segment][item]; }

    int tokens(int panel) { return tokens[panel]; }

    float[] keys(int panel, int head) { return keys[panel * heads + head]; }

    float[] values(int panel, int head) { return values[panel * heads + head]; }

    private void pack(Source s, int panel, int head) {
        int n = tokens[panel], rows4 = roundUp4(n), c0 = head * headDim;
        TokenRows kr = new TokenRows(s.segment.k()), vr = new TokenRows(s.segment.v());
        float[] k = new float[rows4 * headDim], v = new float[rows4 * valueStride];
        for (int t = 0; t < n; t++) {
            kr.read(s.row, t, c0, headDim, k, t * headDim);
            vr.read(s.row, t, c0, headDim, v, t * valueStride);
            if (s.keyAffine != null) s.keyAffine.apply(k, t * headDim, c0, headDim);
            if (s.valueAffine != null) s.valueAffine.apply(v, t * valueStride, c0, headDim);
        }
        keys[panel * heads + head] = k;
        values[panel * heads + head] = v;
    }

    static int roundUp4(int n) { return (n + 3) & ~3; }
}
