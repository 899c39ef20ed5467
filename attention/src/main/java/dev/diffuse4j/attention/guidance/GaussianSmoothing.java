package dev.diffuse4j.attention.guidance;

/**
 * The 2-D Gaussian blur the Attend-and-Excite family applies to every 16x16 map: a depthwise
 * convolution with a normalised {@code size x size} kernel over the map reflect-padded by
 * {@code size/2}. The kernel is the authors' variant, {@code exp(-((x - mean) / (2 sigma))^2)} per axis
 * (sigma doubled inside the square, not {@code 2 sigma^2}), which this class reproduces for parity.
 * {@link #adjoint} is the transpose of {@link #apply}: the gradient of a smoothed map wrt its input.
 */
public final class GaussianSmoothing {
    /** kernel 3, sigma 0.5: what every method of the family uses. */
    public static final GaussianSmoothing DEFAULT = new GaussianSmoothing(3, 0.5);

    private final int size, pad;
    private final double[] kernel; // size x size, row-major, sums to 1

    public GaussianSmoothing(int size, double sigma) {
        if (size < 1 || size % 2 == 0) throw new IllegalArgumentException("Gaussian kernel size must be odd and positive, got " + size);
        if (!(sigma > 0)) throw new IllegalArgumentException("Gaussian sigma must be > 0, got " + sigma);
        this.size = size;
        this.pad = size / 2;
        double[] axis = new double[size];
        double mean = (size - 1) / 2.0;
        for (int i = 0; i < size; i++) {
            double z = (i - mean) / (2 * sigma);
            axis[i] = Math.exp(-z * z);
        }
        double total = 0;
        this.kernel = new double[size * size];
        for (int a = 0; a < size; a++)
            for (int b = 0; b < size; b++) total += kernel[a * size + b] = axis[a] * axis[b];
        for (int i = 0; i < kernel.length; i++) kernel[i] /= total;
    }

    public int size() { return size; }

    /** The normalised 2-D kernel, row-major {@code size x size}. */
    public double[] kernel() { return kernel.clone(); }

    /** {@code map} [h, w] blurred, same size. */
    public double[] apply(double[] map, int h, int w) {
        check(map, h, w);
        double[] out = new double[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = 0;
                for (int a = 0; a < size; a++) {
                    int row = reflect(y + a - pad, h) * w;
                    for (int b = 0; b < size; b++) s += kernel[a * size + b] * map[row + reflect(x + b - pad, w)];
                }
                out[y * w + x] = s;
            }
        return out;
    }

    /** The transpose of {@link #apply}: for {@code grad} = dL/d(smoothed), returns dL/d(map). */
    public double[] adjoint(double[] grad, int h, int w) {
        check(grad, h, w);
        double[] out = new double[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double g = grad[y * w + x];
                if (g == 0) continue;
                for (int a = 0; a < size; a++) {
                    int row = reflect(y + a - pad, h) * w;
                    for (int b = 0; b < size; b++) out[row + reflect(x + b - pad, w)] += kernel[a * size + b] * g;
                }
            }
        return out;
    }

    private void check(double[] map, int h, int w) {
        if (map.length != h * w) throw new IllegalArgumentException("Gaussian smoothing: map of " + map.length + " values is not " + h + "x" + w);
        if (h <= pad || w <= pad)
            throw new IllegalArgumentException("Gaussian smoothing: a " + h + "x" + w + " map is too small to reflect-pad by " + pad);
    }

    /** PyTorch's "reflect" padding: -1 -> 1, n -> n - 2 (edge not repeated). */
    private static int reflect(int i, int n) {
        if (i < 0) return -i;
        if (i >= n) return 2 * (n - 1) - i;
        return i;
    }
}
