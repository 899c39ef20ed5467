package dev.diffuse4j.attention;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-channel mean and standard deviation over tokens, the statistics StyleAligned's AdaIN uses
 * (methods §0.2): {@code std = sqrt(unbiased var + eps)}. Accumulated in float64 over the tensor's
 * memory (two passes, no copy on the CPU; device tensors are brought to the host first).
 *
 * @param mean per selected row, C channels each, rows concatenated in the order asked
 * @param std  the same layout
 */
public record ChannelMoments(double[] mean, double[] std) {
    public static final double EPS = 1e-5;

    /** Moments of rows {@code rows} of x [B, N, C], flattened as {@code rows x C}. */
    public static ChannelMoments of(Tensor x, int[] rows) {
        if (x.rank() != 3) throw new IllegalArgumentException("channel moments: " + x.describe() + " is not [B, N, C]");
        int n = x.dim(1), c = x.dim(2);
        if (n < 2) throw new IllegalArgumentException("channel moments: an unbiased variance needs 2 tokens, " + x.describe() + " has " + n);
        try (Scope s = Scope.open()) {
            Tensor f = x.dtype() == DType.F32 ? x : Ops.cast(x, DType.F32);
            Tensor host = f.device().isCpu() ? f : Ops.to(f, Device.CPU);
            Tensor h = host.contiguous();
            MemorySegment seg = h.cpuSegment();
            long base = h.offset();
            double[] mean = new double[rows.length * c], std = new double[rows.length * c];
            double[] acc = new double[c];
            for (int i = 0; i < rows.length; i++) {
                int b = rows[i];
                if (b < 0 || b >= x.dim(0)) throw new IndexOutOfBoundsException("channel moments: row " + b + " of " + x.describe());
                long row = base + (long) b * n * c;
                java.util.Arrays.fill(acc, 0);
                for (int t = 0; t < n; t++) {
                    long at = (row + (long) t * c) * 4;
                    for (int k = 0; k < c; k++) acc[k] += seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 4L * k);
                }
                for (int k = 0; k < c; k++) mean[i * c + k] = acc[k] / n;
                java.util.Arrays.fill(acc, 0);
                for (int t = 0; t < n; t++) {
                    long at = (row + (long) t * c) * 4;
                    for (int k = 0; k < c; k++) {
                        double d = seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 4L * k) - mean[i * c + k];
                        acc[k] += d * d;
                    }
                }
                for (int k = 0; k < c; k++) std[i * c + k] = Math.sqrt(acc[k] / (n - 1) + EPS);
            }
            return new ChannelMoments(mean, std);
        }
    }
}
