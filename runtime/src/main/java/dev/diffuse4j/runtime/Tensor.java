package dev.diffuse4j.runtime;

import dev.diffuse4j.runtime.autograd.Recorder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional view of a {@link Storage}: shape, strides (in elements), element offset, dtype.
 * Views (reshape, permute, slice) share storage; the storage is freed when the last tensor that
 * references it is closed. Tensors created inside an open {@link Scope} are closed with it.
 * Views are recorded by an open {@link dev.diffuse4j.runtime.autograd.Tape} when they read a tracked tensor.
 */
public final class Tensor implements AutoCloseable {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private final Storage storage;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private volatile boolean closed;

    private Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        Scope.register(this);
    }

    // ---------------------------------------------------------------- creation

    /** Wraps a storage the caller already holds a reference to (the tensor takes that reference over). */
    public static Tensor adopt(Storage storage, DType dtype, int[] shape, long[] strides, long offset) {
        Shapes.check(shape);
        long maxEnd = offset;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) { maxEnd = offset; break; }
            if (strides[i] < 0) throw new IllegalArgumentException("negative strides are not supported: " + Arrays.toString(strides));
            maxEnd += (long) (shape[i] - 1) * strides[i];
        }
        long needed = (Shapes.numel(shape) == 0 ? offset : maxEnd + 1) * dtype.byteSize();
        if (needed > storage.byteSize())
            throw new IllegalArgumentException("tensor " + dtype + Arrays.toString(shape) + " at offset " + offset
                    + " needs " + needed + " bytes but its storage has " + storage.byteSize());
        return new Tensor(storage, dtype, shape.clone(), strides.clone(), offset);
    }

    /** A contiguous tensor over a storage the caller already holds a reference to. */
    public static Tensor adopt(Storage storage, DType dtype, int... shape) {
        return adopt(storage, dtype, shape, Shapes.contiguousStrides(shape), 0);
    }

    /** New zero-filled CPU tensor. */
    public static Tensor zeros(DType dtype, int... shape) {
        Shapes.check(shape);
        return adopt(CpuStorage.allocate(Shapes.numel(shape) * dtype.byteSize()), dtype, shape);
    }

    /** New zero-filled F32 CPU tensor. */
    public static Tensor zeros(int... shape) { return zeros(DType.F32, shape); }

    /** New CPU F32 tensor holding a copy of {@code data}. */
    public static Tensor of(float[] data, int... shape) {
        Shapes.check(shape);
        if (Shapes.numel(shape) != data.length)
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values do not fill shape " + Arrays.toString(shape));
        Tensor t = zeros(DType.F32, shape);
        MemorySegment.copy(data, 0, t.cpuSegment(), F32, 0, data.length);
        return t;
    }

    /** New CPU I32 tensor holding a copy of {@code data}. */
    public static Tensor ofInts(int[] data, int... shape) {
        if (Shapes.numel(shape) != data.length)
            throw new IllegalArgumentException("Tensor.ofInts: " + data.length + " values do not fill shape " + Arrays.toString(shape));
        Tensor t = zeros(DType.I32, shape);
        MemorySegment.copy(data, 0, t.cpuSegment(), I32, 0, data.length);
        return t;
    }

    /** New CPU I64 tensor holding a copy of {@code data}. */
    public static Tensor ofLongs(long[] data, int... shape) {
        if (Shapes.numel(shape) != data.length)
            throw new IllegalArgumentException("Tensor.ofLongs: " + data.length + " values do not fill shape " + Arrays.toString(shape));
        Tensor t = zeros(DType.I64, shape);
        MemorySegment.copy(data, 0, t.cpuSegment(), I64, 0, data.length);
        return t;
    }

    /** Scalar F32 tensor of shape [1]. */
    public static Tensor scalar(float v) { return of(new float[]{v}, 1); }

    // ---------------------------------------------------------------- metadata

    public DType dtype() { return dtype; }

    public Device device() { return storage.device(); }

    public Storage storage() { checkOpen(); return storage; }

    public int[] shape() { return shape.clone(); }

    public long[] strides() { return strides.clone(); }

    /** Offset of the first element, in elements, from the start of the storage. */
    public long offset() { return offset; }

    public int rank() { return shape.length; }

    /** Size of dimension {@code d}; negative values count from the end. */
    public int dim(int d) { return shape[Shapes.axis(d, shape.length)]; }

    public long stride(int d) { return strides[Shapes.axis(d, shape.length)]; }

    public long numel() { return Shapes.numel(shape); }

    public long byteSize() { return numel() * dtype.byteSize(); }

    public boolean isContiguous() { return Shapes.isContiguous(shape, strides); }

    public boolean isClosed() { return closed; }

    /** "F32[2, 77, 768]". */
    public String describe() { return dtype + Arrays.toString(shape); }

    @Override
    public String toString() { return "Tensor(" + describe() + " on " + device() + (closed ? ", closed" : "") + ")"; }

    // ---------------------------------------------------------------- views

    /** A view with a new shape (one entry may be -1). Requires contiguous data; see {@link #contiguous()}. */
    public Tensor reshape(int... newShape) {
        checkOpen();
        int[] s = Shapes.inferReshape(shape, newShape);
        if (!isContiguous())
            throw new IllegalArgumentException("reshape " + describe() + " -> " + Arrays.toString(s)
                    + ": tensor is not contiguous (strides " + Arrays.toString(strides) + "); call contiguous() first");
        storage.retain();
        return Recorder.reshape(new Tensor(storage, dtype, s, Shapes.contiguousStrides(s), offset), this);
    }

    /** A view with dimensions reordered: result dim i is source dim {@code order[i]}. */
    public Tensor permute(int... order) {
        checkOpen();
        if (order.length != shape.length)
            throw new IllegalArgumentException("permute " + describe() + ": order " + Arrays.toString(order) + " has wrong length");
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int a = Shapes.axis(order[i], shape.length);
            if (seen[a]) throw new IllegalArgumentException("permute " + describe() + ": order " + Arrays.toString(order) + " repeats a dimension");
            seen[a] = true;
            s[i] = shape[a];
            st[i] = strides[a];
        }
        storage.retain();
        return Recorder.permute(new Tensor(storage, dtype, s, st, offset), this, order);
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int a, int b) {
        int[] order = new int[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        a = Shapes.axis(a, shape.length);
        b = Shapes.axis(b, shape.length);
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** Elements {@code start} (inclusive) to {@code end} (exclusive) along {@code dim} (a view). */
    public Tensor slice(int dim, int start, int end) {
        checkOpen();
        int d = Shapes.axis(dim, shape.length);
        if (start < 0 || end > shape[d] || start > end)
            throw new IndexOutOfBoundsException("slice " + describe() + " dim " + d + " [" + start + ", " + end + ") is out of range");
        int[] s = shape.clone();
        s[d] = end - start;
        storage.retain();
        return Recorder.slice(new Tensor(storage, dtype, s, strides.clone(), offset + start * strides[d]), this, d, start, end);
    }

    /** Index {@code index} along {@code dim}, removing that dimension (a view). */
    public Tensor select(int dim, int index) {
        checkOpen();
        int d = Shapes.axis(dim, shape.length);
        if (index < 0 || index >= shape[d])
            throw new IndexOutOfBoundsException("select " + describe() + " dim " + d + " index " + index + " is out of range");
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) { s[j] = shape[i]; st[j++] = strides[i]; }
        storage.retain();
        return Recorder.select(new Tensor(storage, dtype, s, st, offset + index * strides[d]), this, d, index);
    }

    /** Another reference to the same data with the same shape (closing one leaves the other valid). */
    public Tensor share() {
        checkOpen();
        storage.retain();
        return Recorder.share(new Tensor(storage, dtype, shape.clone(), strides.clone(), offset), this);
    }

    /** This data in contiguous row-major order: a shared view when already contiguous, else a copy. */
    public Tensor contiguous() {
        if (isContiguous()) return share();
        return dev.diffuse4j.runtime.ops.Ops.contiguous(this);
    }

    // ---------------------------------------------------------------- host access (CPU tensors)

    /** The whole storage segment of a CPU tensor (element {@code i} of a contiguous tensor is at byte {@code (offset()+i)*size}). */
    public MemorySegment cpuSegment() {
        checkOpen();
        if (!(storage instanceof CpuStorage cs))
            throw new IllegalStateException("tensor " + describe() + " lives on " + device() + ", not in host memory; copy it to the CPU first");
        return cs.segment();
    }

    /** Byte offset of element (flat row-major index) {@code i}, honouring strides. */
    public long byteOffsetOf(long i) {
        long off = offset;
        for (int d = shape.length - 1; d >= 0; d--) {
            int n = shape[d];
            off += (i % n) * strides[d];
            i /= n;
        }
        return off * dtype.byteSize();
    }

    /** Reads element {@code i} (flat row-major index) as float. */
    public float getFloat(long i) {
        return Numbers.readFloat(cpuSegment(), dtype, byteOffsetOf(i));
    }

    /** Writes element {@code i} (flat row-major index) from a float (rounding to the dtype). */
    public void setFloat(long i, float v) {
        Numbers.writeFloat(cpuSegment(), dtype, byteOffsetOf(i), v);
    }

    /** Reads element {@code i} of an integer tensor. */
    public long getLong(long i) {
        return Numbers.readLong(cpuSegment(), dtype, byteOffsetOf(i));
    }

    /** All elements in row-major order as floats (any float dtype, any strides, CPU only). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalStateException("tensor " + describe() + " is too large for a Java array");
        float[] out = new float[(int) n];
        MemorySegment seg = cpuSegment();
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(seg, F32, offset * 4, out, 0, (int) n);
        } else {
            for (int i = 0; i < n; i++) out[i] = Numbers.readFloat(seg, dtype, byteOffsetOf(i));
        }
        return out;
    }

    /** All elements as longs (integer dtypes, CPU only). */
    public long[] toLongArray() {
        long n = numel();
        long[] out = new long[Math.toIntExact(n)];
        MemorySegment seg = cpuSegment();
        for (int i = 0; i < n; i++) out[i] = Numbers.readLong(seg, dtype, byteOffsetOf(i));
        return out;
    }

    // ---------------------------------------------------------------- lifetime

    /** Releases this tensor's reference to its storage. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        storage.release();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("use of closed tensor " + describe());
    }
}
