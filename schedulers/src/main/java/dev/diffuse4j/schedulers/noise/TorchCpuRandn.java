package dev.diffuse4j.schedulers.noise;

import java.util.Objects;

/**
 * PyTorch's CPU generator ({@code torch.manual_seed(seed)} then {@code torch.randn} / {@code torch.rand} of
 * float32), reproduced sample for sample, so Java pipelines can start from the exact latents a diffusers
 * script with a CPU {@code torch.Generator} would use.
 *
 * <p>How PyTorch fills a float32 {@code randn} tensor of {@code n} elements (ATen {@code normal_kernel}):
 * <ul>
 *   <li>{@code n >= 16} (contiguous): first {@code n} uniforms {@code u = (mt() & 0xFFFFFF) / 2^24}, one 32-bit
 *       Mersenne-Twister output each; then every full chunk of 16 becomes 16 normals by Box-Muller, pairing
 *       slot {@code j} (radius, from {@code 1 - u}) with slot {@code j + 8} (angle): slot {@code j} gets
 *       {@code r cos}, slot {@code j + 8} gets {@code r sin}. If 16 does not divide {@code n}, 16 fresh
 *       uniforms overwrite the last 16 slots and that window is transformed again, so the tail overlaps the
 *       last full chunk.</li>
 *   <li>{@code n < 16}: element by element with the double-precision Box-Muller of
 *       {@code at::normal_distribution<double>}: two 53-bit uniforms (each from two MT outputs, high word first),
 *       {@code r = sqrt(-2 log1p(-u2))}, {@code theta = 2 pi u1}; the element gets {@code r cos theta} and
 *       {@code r sin theta} is cached in the generator for the next element (and the next call).</li>
 * </ul>
 * On x86 with AVX2 (the CPUs behind nearly every published PyTorch output) the 16-wide transform runs in
 * {@code float} with the Cephes approximations of {@code avx_mathfun.h}; {@link Kernel#AVX2} reproduces that
 * bit for bit. Builds without AVX2 (ARM, old x86) use {@code std::log/cos/sin} in float, {@link Kernel#PORTABLE}.
 *
 * <p>Each {@link #fill} call is one {@code torch.randn} call of {@code len} elements: the path is chosen by
 * {@code len}, as PyTorch chooses it by the tensor's element count, not its shape.
 */
public final class TorchCpuRandn implements NoiseSource {

    /** Which build of PyTorch's normal kernel to reproduce for requests of 16 or more elements. */
    public enum Kernel {
        /** x86 with AVX2 (and AVX-512, which PyTorch routes to the AVX2 normal kernel). */
        AVX2,
        /** Scalar float math with correctly rounded log/cos/sin (aarch64, pre-AVX2 x86). */
        PORTABLE
    }

    private static final double TWO_PI = 2 * Math.PI;
    private static final float TWO_PI_F = (float) (2.0f * Math.PI); // _mm256_set1_ps(2.0f * c10::pi<double>)

    private final Mt19937 engine;
    private final Kernel kernel;
    private boolean hasCachedNormal;
    private double cachedNormal;

    private TorchCpuRandn(long seed, Kernel kernel) {
        this.engine = new Mt19937(seed);
        this.kernel = Objects.requireNonNull(kernel, "kernel");
    }

    /** {@code torch.manual_seed(seed)} on an x86 AVX2 machine. */
    public static TorchCpuRandn seeded(long seed) {
        return new TorchCpuRandn(seed, Kernel.AVX2);
    }

    /** {@code torch.manual_seed(seed)} reproducing the given kernel build. */
    public static TorchCpuRandn seeded(long seed, Kernel kernel) {
        return new TorchCpuRandn(seed, kernel);
    }

    public Kernel kernel() { return kernel; }

    /** One {@code torch.randn(len)} call on this generator, written to {@code dst[off ..]}. */
    @Override
    public void fill(float[] dst, int off, int len) {
        Objects.checkFromIndexSize(off, len, dst.length);
        if (len >= 16) fillVectorised(dst, off, len);
        else for (int i = 0; i < len; i++) dst[off + i] = (float) nextScalarNormal();
    }

    /** One {@code torch.rand(n)} call (float32 uniforms in [0, 1)). */
    public float[] rand(int n) {
        if (n < 0) throw new IllegalArgumentException("TorchCpuRandn.rand: negative count " + n);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = uniform24();
        return out;
    }

    // ------------------------------------------------------------------ uniforms

    /** {@code uniform_real_distribution<float>(0, 1)}: the low 24 bits of one MT output. */
    private float uniform24() {
        return (engine.nextInt() & 0xFFFFFF) * 0x1p-24f;
    }

    /** {@code uniform_real_distribution<double>(0, 1)}: the low 53 bits of a 64-bit draw (high word first). */
    private double uniform53() {
        long hi = engine.nextUnsigned();
        long lo = engine.nextUnsigned();
        return (((hi << 32) | lo) & ((1L << 53) - 1)) * 0x1p-53;
    }

    // ------------------------------------------------------------------ n < 16

    private double nextScalarNormal() {
        if (hasCachedNormal) {
            hasCachedNormal = false;
            return cachedNormal;
        }
        double u1 = uniform53();
        double u2 = uniform53();
        double r = StrictMath.sqrt(-2.0 * StrictMath.log1p(-u2));
        double theta = TWO_PI * u1;
        cachedNormal = r * StrictMath.sin(theta);
        hasCachedNormal = true;
        return r * StrictMath.cos(theta);
    }

    // ------------------------------------------------------------------ n >= 16

    private void fillVectorised(float[] dst, int off, int len) {
        for (int i = 0; i < len; i++) dst[off + i] = uniform24();
        float[] sc = new float[2];
        for (int i = 0; i + 16 <= len; i += 16) boxMuller16(dst, off + i, sc);
        if (len % 16 != 0) {
            int tail = off + len - 16;
            for (int i = 0; i < 16; i++) dst[tail + i] = uniform24();
            boxMuller16(dst, tail, sc);
        }
    }

    private void boxMuller16(float[] d, int at, float[] sc) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[at + j];            // [0, 1) -> (0, 1] for the log
            float u2 = d[at + j + 8];
            float radius, sin, cos;
            if (kernel == Kernel.AVX2) {
                radius = (float) Math.sqrt(-2f * CephesAvx2.log(u1));
                CephesAvx2.sincos(TWO_PI_F * u2, sc);
                sin = sc[0];
                cos = sc[1];
            } else {
                radius = (float) Math.sqrt(-2f * (float) Math.log(u1));
                float theta = (float) (TWO_PI * u2);
                cos = (float) Math.cos(theta);
                sin = (float) Math.sin(theta);
            }
            d[at + j] = radius * cos;
            d[at + j + 8] = radius * sin;
        }
    }
}
