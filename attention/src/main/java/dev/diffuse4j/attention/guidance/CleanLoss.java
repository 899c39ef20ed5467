package dev.diffuse4j.attention.guidance;

/**
 * INITNO's "clean" loss: per subject, the Otsu mask of its smoothed map reduced to the 4-connected
 * component of its top-1 pixel; when the largest value outside that component exceeds the smallest
 * value inside it, that largest outside value is added (pushing stray blobs down).
 */
public final class CleanLoss {
    private CleanLoss() {}

    public static LossTerm of(SubjectMaps maps) {
        int h = maps.height(), w = maps.width(), n = h * w;
        double loss = 0;
        double[][] d = new double[maps.count()][];
        for (int s = 0; s < maps.count(); s++) {
            double[] c = maps.smoothed(s);
            int top = ResponseLoss.topK(c, 1)[0];
            boolean[] clean = Otsu.componentAt(Otsu.mask(c), h, w, top / w, top % w);
            int bgArg = 0;
            double bgMax = Double.NEGATIVE_INFINITY, fgMin = Double.POSITIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                double bg = clean[i] ? 0 : c[i], fg = clean[i] ? c[i] : 1;
                if (bg > bgMax) {
                    bgMax = bg;
                    bgArg = i;
                }
                fgMin = Math.min(fgMin, fg);
            }
            if (bgMax > fgMin) {
                loss += bgMax;
                if (!clean[bgArg]) {
                    d[s] = new double[n];
                    d[s][bgArg] = 1;
                }
            }
        }
        return new LossTerm(loss, d, null);
    }
}
