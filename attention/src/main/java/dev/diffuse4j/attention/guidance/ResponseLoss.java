package dev.diffuse4j.attention.guidance;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The Attend-and-Excite response loss: per subject the mean of its {@code k} largest smoothed values
 * ({@code k = 1}: A&E's max attention), {@code L = max_s max(0, 1 - topk_s)}. The gradient reaches the
 * top-k pixels of the worst subject only, as torch's max over the per-subject losses routes it.
 */
public final class ResponseLoss {
    private ResponseLoss() {}

    /** Pixel indices of the {@code k} largest values, largest first (ties: lower index first). */
    public static int[] topK(double[] map, int k) {
        if (k < 1 || k > map.length) throw new IllegalArgumentException("top-k: k = " + k + " outside 1.." + map.length);
        return IntStream.range(0, map.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -map[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    /** Mean of the top-k values of each subject's smoothed map. */
    public static double[] topKMeans(SubjectMaps maps, int k) {
        double[] out = new double[maps.count()];
        for (int s = 0; s < out.length; s++) {
            double[] c = maps.smoothed(s);
            out[s] = Arrays.stream(topK(c, k)).mapToDouble(i -> c[i]).sum() / k;
        }
        return out;
    }

    public static LossTerm of(SubjectMaps maps, int k) {
        int worst = -1;
        double loss = Double.NEGATIVE_INFINITY;
        double[] means = topKMeans(maps, k);
        for (int s = 0; s < means.length; s++) {
            double l = Math.max(0, 1 - means[s]);
            if (l > loss) { // first maximum wins, like Python's max
                loss = l;
                worst = s;
            }
        }
        double[][] d = new double[maps.count()][];
        if (loss > 0) {
            d[worst] = new double[maps.maps().pixels()];
            for (int i : topK(maps.smoothed(worst), k)) d[worst][i] = -1.0 / k;
        }
        return new LossTerm(loss, d, null);
    }
}
