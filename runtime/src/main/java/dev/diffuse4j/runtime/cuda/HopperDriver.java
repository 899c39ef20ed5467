package dev.diffuse4j.runtime.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one driver call of the Hopper path that JCuda 12.6 lacks, {@code cuTensorMapEncodeTiled},
 * bound from libcuda.so.1 with java.lang.foreign (the library JCuda has already loaded; the
 * {@code d4j.cuda.driver.path} property or the {@code D4J_LIBCUDA} variable may name another).
 * A CUtensorMap is an opaque 128-byte value; kernels take it by value as a
 * {@code const __grid_constant__ CUtensorMap} parameter, which a plain {@code cuLaunchKernel}
 * passes like any struct (no cluster launch needed).
 *
 * <p>Under the host emulator ({@link DriverApi#emulated()}) the same signature is bound from the
 * emulator's library instead ({@link EmulatedApi#tensorMapEncoder()}), whose maps the emulated TMA
 * reads; each map's extent is then also checked to lie inside one device allocation, since the
 * emulated copy would otherwise read foreign host memory where a GPU faults.
 */
final class HopperDriver {
    static final int TENSOR_MAP_BYTES = 128;
    /** cuda.h (CUDA 13) declares CUtensorMap alignas(128); the encode call needs at least 64. */
    private static final long TENSOR_MAP_ALIGN = 128;

    private final MethodHandle encodeTiled;
    /** The emulator whose allocations each map must stay inside, or null on a GPU. */
    private final EmulatedApi emulator;
    final String library;

    private HopperDriver(MemorySegment f, String library, EmulatedApi emulator) {
        this.library = library;
        this.emulator = emulator;
        // CUresult cuTensorMapEncodeTiled(CUtensorMap*, CUtensorMapDataType, cuuint32_t rank, void* globalAddress,
        //     const cuuint64_t* globalDim, const cuuint64_t* globalStrides, const cuuint32_t* boxDim, const cuuint32_t* elementStrides,
        //     CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill)
        encodeTiled = Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /** The tensor-map encoder of {@code api}: the emulator library's under the host emulator, else {@link #open()}. */
    static HopperDriver open(DriverApi api) {
        if (!api.emulated()) return open();
        EmulatedApi emu = (EmulatedApi) api;
        return new HopperDriver(emu.tensorMapEncoder(), EmulatedApi.TENSOR_MAP_ENCODE + " (host emulator)", emu);
    }

    /** Binds libcuda.so.1, or throws {@link CudaUnavailableException} naming what was tried. */
    static HopperDriver open() {
        List<String> tried = new ArrayList<>();
        NativeLibrary lib = NativeLibrary.first(candidates(), tried);
        if (lib != null) return new HopperDriver(encoder(lib.lookup(), lib.name()), lib.name(), null);
        throw new CudaUnavailableException("the Hopper GEMM needs cuTensorMapEncodeTiled from the CUDA driver, but no libcuda.so.1 was found (tried "
                + String.join(", ", tried) + "; set -Dd4j.cuda.driver.path or D4J_LIBCUDA)", null);
    }

    private static MemorySegment encoder(SymbolLookup lib, String library) {
        return lib.find("cuTensorMapEncodeTiled")
                .orElseThrow(() -> new CudaUnavailableException(library + " lacks cuTensorMapEncodeTiled (a driver for CUDA 12.0 or newer is needed)", null));
    }

    private static List<String> candidates() {
        List<String> c = new ArrayList<>();
        String p = System.getProperty("d4j.cuda.driver.path", System.getenv("D4J_LIBCUDA"));
        if (p != null && !p.isBlank()) c.add(p);
        c.add("libcuda.so.1");
        for (String dir : new String[]{"/usr/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib64", "/usr/local/cuda/compat"})
            if (Files.exists(Path.of(dir, "libcuda.so.1"))) c.add(dir + "/libcuda.so.1");
        return c;
    }

    /** Encodes the tensor map of {@code spec} over device memory at {@code globalAddress}; its 128 bytes. */
    byte[] encode(String op, TensorMapSpec spec, long globalAddress) {
        if (emulator != null && !emulator.holds(globalAddress, spec.extentBytes()))
            throw new IllegalArgumentException(op + ": " + spec + " at 0x" + Long.toHexString(globalAddress) + " reaches "
                    + spec.extentBytes() + " bytes past its base, beyond the device allocation it starts in");
        try (Arena call = Arena.ofConfined()) {
            MemorySegment map = call.allocate(TENSOR_MAP_BYTES, TENSOR_MAP_ALIGN);
            MemorySegment dims = call.allocateFrom(JAVA_LONG, spec.dims());
            MemorySegment strides = call.allocateFrom(JAVA_LONG, spec.strides());
            MemorySegment box = call.allocateFrom(JAVA_INT, spec.box());
            MemorySegment elementStrides = call.allocateFrom(JAVA_INT, spec.elementStrides());
            int r = (int) encodeTiled.invokeExact(map, spec.dataType(), spec.dims().length, MemorySegment.ofAddress(globalAddress),
                    dims, strides, box, elementStrides, spec.interleave(), spec.swizzle(), spec.l2Promotion(), spec.oobFill());
            if (r != 0)
                throw new CudaException(op + ": cuTensorMapEncodeTiled(" + spec + " at 0x" + Long.toHexString(globalAddress) + ") failed with "
                        + (emulator != null ? emulator.describe(r) : CudaDriver.describe(r)), r);
            return map.toArray(JAVA_BYTE);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(op + ": calling cuTensorMapEncodeTiled failed", e);
        }
    }
}
