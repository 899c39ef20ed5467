package dev.diffuse4j.schedulers.noise;

/**
 * Counter-based standard-normal generator: sample {@code i} of seed {@code s} is a pure function of
 * {@code (s, i)}, so the same seed gives the same latents on every backend, thread count and chunking.
 *
 * <p>Definition (stable; changing it changes every seeded image):
 * <ol>
 *   <li>block {@code b = i / 4}, lane {@code l = i % 4};</li>
 *   <li>{@code (w0, w1, w2, w3) = Philox4x32-10(counter = (lo32(b), hi32(b), 0, 0), key = (lo32(s), hi32(s)))};</li>
 *   <li>lanes 0,1 use the pair {@code (w0, w1)}, lanes 2,3 the pair {@code (w2, w3)}; with the pair {@code (a, c)}:
 *       {@code u1 = (a + 1) / 2^32} in (0, 1], {@code u2 = c / 2^32} in [0, 1), {@code r = sqrt(-2 ln u1)},
 *       {@code theta = 2 pi u2};</li>
 *   <li>even lanes are {@code r cos theta}, odd lanes {@code r sin theta} (Box-Muller), evaluated in double with
 *       {@link StrictMath} and rounded to float, so every JVM produces the same bits.</li>
 * </ol>
 * The 32-bit uniforms bound |sample| by sqrt(64 ln 2) = 6.66.
 *
 * <p>As a {@link NoiseSource} it reads the stream from position 0 upward; {@link #fill(long, long, float[], int, int)}
 * reads any window directly (for parallel or device-side generation).
 */
public final class PhiloxGaussian implements NoiseSource {
    private static final double TWO_POW_M32 = 0x1p-32;
    private static final double TWO_PI = 2 * Math.PI;

    private final long seed;
    private long position;

    private PhiloxGaussian(long seed, long position) {
        this.seed = seed;
        this.position = position;
    }

    /** A stream reading samples 0, 1, 2, ... of {@code seed}. */
    public static PhiloxGaussian seeded(long seed) {
        return new PhiloxGaussian(seed, 0);
    }

    /** A stream reading from sample {@code position} of {@code seed}. */
    public static PhiloxGaussian at(long seed, long position) {
        if (position < 0) throw new IllegalArgumentException("PhiloxGaussian: negative stream position " + position);
        return new PhiloxGaussian(seed, position);
    }

    public long seed() { return seed; }

    /** Index of the next sample this stream returns. */
    public long position() { return position; }

    @Override
    public void fill(float[] dst, int off, int len) {
        fill(seed, position, dst, off, len);
        position += len;
    }

    /** Writes samples {@code start .. start+len} of {@code seed} to {@code dst[off ..]}. */
    public static void fill(long seed, long start, float[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (start < 0 || start + len < start) throw new IllegalArgumentException("PhiloxGaussian: bad window start " + start + " length " + len);
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        int[] w = new int[4];
        float[] block = new float[4];
        long i = start;
        int written = 0;
        while (written < len) {
            long b = i >>> 2;
            Philox4x32.block((int) b, (int) (b >>> 32), 0, 0, k0, k1, w);
            boxMuller(w[0], w[1], block, 0);
            boxMuller(w[2], w[3], block, 2);
            for (int lane = (int) (i & 3); lane < 4 && written < len; lane++, i++, written++)
                dst[off + written] = block[lane];
        }
    }

    /** Sample {@code index} of {@code seed}. */
    public static float sample(long seed, long index) {
        float[] one = new float[1];
        fill(seed, index, one, 0, 1);
        return one[0];
    }

    private static void boxMuller(int a, int c, float[] out, int at) {
        double u1 = ((a & 0xFFFFFFFFL) + 1) * TWO_POW_M32;
        double u2 = (c & 0xFFFFFFFFL) * TWO_POW_M32;
        double r = StrictMath.sqrt(-2 * StrictMath.log(u1));
        double theta = TWO_PI * u2;
        out[at] = (float) (r * StrictMath.cos(theta));
        out[at + 1] = (float) (r * StrictMath.sin(theta));
    }
}
