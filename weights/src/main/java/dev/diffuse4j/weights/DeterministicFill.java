package dev.diffuse4j.weights;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The vectorised inner loop of {@link DeterministicWeights}: splitmix64 on 64-bit lanes, the 24-bit
 * fraction converted to double, scaled in double, narrowed to float, exactly as the scalar rule
 * (no fused multiply-add: each step rounds as the reference does).
 */
final class DeterministicFill {
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = VectorSpecies.of(double.class, LS.vectorShape());
    private static final VectorSpecies<Float> FS = VectorSpecies.of(float.class, VectorShape.forBitSize(LS.vectorBitSize() / 2));
    private static final int LANES = LS.length();
    private static final LongVector IOTA = LongVector.zero(LS).addIndex(1);

    private DeterministicFill() {}

    /** Writes {@code count} floats at {@code byteOffset}: elements {@code first .. first+count-1} of the tensor. */
    static void fill(MemorySegment seg, long byteOffset, long seed, long first, long count,
                     DeterministicWeights.Kind kind, long fanIn) {
        // value = (float)(add + mul * t), with add == 0 skipped so each kind rounds exactly like the scalar rule
        boolean affine = kind == DeterministicWeights.Kind.NORM_WEIGHT;
        double mul = switch (kind) {
            case EMBEDDING, BIAS -> 0.02;
            case WEIGHT -> 1.0 / Math.sqrt((double) fanIn);
            case NORM_WEIGHT -> 0.1;
            case NORM_BIAS -> 0.05;
        };
        long i = 0;
        long vectorEnd = count - count % LANES;
        for (; i < vectorEnd; i += LANES) {
            LongVector z = IOTA.add(seed + first + i).add(0x9E3779B97F4A7C15L);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(0xBF58476D1CE4E5B9L);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(0x94D049BB133111EBL);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            DoubleVector t = ((DoubleVector) z.lanewise(VectorOperators.LSHR, 40).convertShape(VectorOperators.L2D, DS, 0))
                    .mul(0x1p-23).sub(1.0);
            DoubleVector v = affine ? t.mul(mul).add(1.0) : t.mul(mul);
            FloatVector f = (FloatVector) v.convertShape(VectorOperators.D2F, FS, 0);
            f.intoMemorySegment(seg, byteOffset + i * 4, ByteOrder.LITTLE_ENDIAN);
        }
        for (; i < count; i++)
            seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED, byteOffset + i * 4, DeterministicWeights.value(kind, seed, first + i, fanIn));
    }
}
