package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.AttentionCall;
import dev.diffuse4j.runtime.ops.Backends;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The host emulator's driver (EmulatedApi) under the backend's own allocator, copies and graph
 * capture, on a private backend with 64 MiB of device memory. Runs in the cuda-emulated surefire
 * execution (-Dd4j.cuda.emulator); skipped elsewhere, and where the library was not built.
 */
class EmulatedApiTest {
    private static final long MEMORY = 64L << 20;
    private final Random rnd = new Random(7);
    private CudaBackend cuda;

    @BeforeEach
    void open() {
        String lib = System.getProperty(CudaDriver.EMULATOR_PROPERTY);
        assumeTrue(lib != null && !lib.isBlank(), "skipped: runs in the cuda-emulated execution (-D" + CudaDriver.EMULATOR_PROPERTY + ")");
        assumeTrue(Files.isRegularFile(Path.of(lib)), "skipped: host emulator library not built (" + lib + ")");
        cuda = new CudaBackend(Device.cuda(), CudaContext.open(EmulatedApi.open(lib, MEMORY, EmulatedApi.A100_SMEM_OPTIN), 0));
        cuda.ctx.syncEachLaunch = true;
    }

    @Test
    void saysItIsEmulated() {
        assertTrue(cuda.emulated());
        assertTrue(cuda.describe().contains("EMULATED") && cuda.describe().contains(EmulatedApi.DEVICE_NAME), cuda.describe());
        assertEquals(MEMORY, cuda.ctx.totalMemory);
        assertEquals(8, cuda.ctx.ccMajor, "sm_80: the sm_90 (wgmma) paths are never chosen");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> cuda.gemmImplementation(CudaBackend.GemmImplementation.CUBLAS));
        assertTrue(e.getMessage().contains("cuBLAS") && e.getMessage().contains("emulator"), e.getMessage());
        assertEquals(CudaBackend.GemmImplementation.KERNELS, cuda.gemmImplementation());
    }

    @Test
    void outOfMemoryNamesTheSizeAndTheBackendLivesOn() {
        int mib40 = 40 << 20, mib50 = 50 << 20;
        Tensor a = cuda.empty(DType.U8, mib40);
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> cuda.empty(DType.U8, mib40));
        assertEquals(mib40, e.requestedBytes());
        assertTrue(e.getMessage().contains("allocating 40.0 MiB (" + mib40 + " bytes)"), e.getMessage());
        assertTrue(e.getMessage().contains("tensors hold 40.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("free of 64.0 MiB"), e.getMessage());
        assertEquals(mib40, cuda.memoryStats().inUseBytes(), "the failed allocation holds nothing");
        a.close();
        // 50 MiB does not fit beside the cached 40 MiB block: the allocator gives its cache back and retries
        try (Tensor b = cuda.full(DType.U8, 77f, mib50)) {
            assertEquals(77f, cuda.toCpu(b.slice(0, mib50 - 3, mib50)).getFloat(2));
            assertEquals(0, cuda.memoryStats().cachedBytes());
        }
    }

    @Test
    void copiesRoundTripBitExactly() {
        try (Scope s = Scope.open()) {
            int[] bits = new int[4099];
            for (int i = 0; i < bits.length; i++) bits[i] = rnd.nextInt();
            bits[0] = 0x7FC01234;  // a NaN payload survives
            Tensor host = Tensor.ofInts(bits, bits.length);
            Tensor dev = cuda.copyFrom(host);
            Tensor copy = cuda.contiguous(dev);  // device to device
            assertNotEquals(CudaTypes.address(dev), CudaTypes.address(copy));
            for (Tensor t : new Tensor[]{dev, copy}) {
                MemorySegment back = cuda.toCpu(t).cpuSegment();
                for (int i = 0; i < bits.length; i++) assertEquals(bits[i], back.getAtIndex(ValueLayout.JAVA_INT, i), "element " + i);
            }
            MemorySegment bytes = cuda.toCpu(cuda.full(DType.U8, 201f, 333)).cpuSegment();  // a memset
            for (int i = 0; i < 333; i++) assertEquals((byte) 201, bytes.get(ValueLayout.JAVA_BYTE, i));
        }
    }

    @Test
    void unknownKernelIsNamed() {
        CudaException e = assertThrows(CudaException.class, () -> cuda.ctx.kernel("copy", "no_such_kernel_e4"));
        assertTrue(e.getMessage().contains("no_such_kernel_e4") && e.getMessage().contains("CUDA_ERROR_NOT_FOUND"), e.getMessage());
        assertEquals(500, e.code());
    }

    @Test
    void refusedLaunchNamesTheKernelAndTheLibrarysReason() {
        try (Tensor t = cuda.empty(DType.F32, 16)) {
            CudaException e = assertThrows(CudaException.class, () -> cuda.ctx.launch("test", cuda.k.get("copy", "fill_e4"), 1, 1, 1, 2048, 0,
                    CudaTypes.address(t), 16L, 0));
            assertTrue(e.getMessage().contains("fill_e4") && e.getMessage().contains("block 2048") && e.getMessage().contains("host emulator:"),
                    e.getMessage());
        }
    }

    @Test
    void graphReplayReExecutesTheRecordedOps() {
        cuda.ctx.syncEachLaunch = false;
        int n = 1000;
        try (Scope s = Scope.open()) {
            Tensor in = cuda.copyFrom(Tensor.of(randoms(n), n));
            Tensor dst = cuda.full(DType.F32, 0f, n);
            Tensor[] out = new Tensor[3];
            try (CudaGraph g = cuda.capture(() -> {
                cuda.copyInto(in, dst);                    // a kernel writing a tensor that exists before capture
                out[0] = Scope.detach(cuda.contiguous(in)); // device-to-device copy
                out[1] = Scope.detach(cuda.full(DType.F32, 3f, n));
                out[2] = Scope.detach(cuda.full(DType.U8, 9f, n));  // memset
            })) {
                assertArrayEquals(new float[n], cuda.toCpu(dst).toFloatArray(), "capture records, it does not run");
                for (int replay = 0; replay < 2; replay++) {
                    float[] fresh = randoms(n);
                    cuda.copyInto(Tensor.of(fresh, n), in);
                    cuda.copyInto(Tensor.zeros(DType.F32, n), out[1]);
                    cuda.copyInto(Tensor.zeros(DType.U8, n), out[2]);
                    g.replay();
                    cuda.synchronize();
                    assertArrayEquals(fresh, cuda.toCpu(dst).toFloatArray(), "replay " + replay + ": kernel");
                    assertArrayEquals(fresh, cuda.toCpu(out[0]).toFloatArray(), "replay " + replay + ": device copy");
                    assertEquals(3f, cuda.toCpu(out[1]).getFloat(n - 1), "replay " + replay + ": fill");
                    assertEquals(9f, cuda.toCpu(out[2]).getFloat(n - 1), "replay " + replay + ": memset");
                }
            }
            for (Tensor t : out) t.close();
        }
    }

    @Test
    void hostCopyDuringCaptureFailsClearly() {
        cuda.ctx.syncEachLaunch = false;
        try (Scope s = Scope.open()) {
            Tensor x = cuda.full(DType.F32, 1f, 8);
            CudaException toHost = assertThrows(CudaException.class, () -> cuda.capture(() -> cuda.toCpu(x)));
            assertEquals(900, toHost.code());
            assertTrue(toHost.getMessage().contains("copy to cpu") && toHost.getMessage().contains("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"),
                    toHost.getMessage());
            CudaException toDevice = assertThrows(CudaException.class, () -> cuda.capture(() -> cuda.copyInto(Tensor.zeros(8), x)));
            assertTrue(toDevice.getMessage().contains("copyInto") && toDevice.getMessage().contains("cuMemcpyHtoDAsync"), toDevice.getMessage());
            try (CudaGraph g = cuda.capture(() -> cuda.copyInto(cuda.full(DType.F32, 2f, 8), x))) {  // a later capture works
                g.replay();
            }
            assertEquals(2f, cuda.toCpu(x).getFloat(7));
        }
    }

    /** SD1.5's head dim 160 needs 105 KiB for the flash kernel: parts with 99 KiB (sm_86/sm_89) take the SIMT kernel. */
    @Test
    void headDim160FallsBackToCudaCoresWhereSharedMemoryIsSmaller() {
        CudaBackend sm86 = new CudaBackend(Device.cuda(), CudaContext.open(EmulatedApi.open(System.getProperty(CudaDriver.EMULATOR_PROPERTY),
                MEMORY, 101376), 0));
        sm86.ctx.syncEachLaunch = true;
        try (Scope s = Scope.open()) {
            Tensor q = CudaTestSupport.random(rnd, DType.F16, 1, 70, 160), k = CudaTestSupport.random(rnd, DType.F16, 1, 77, 160),
                    v = CudaTestSupport.random(rnd, DType.F16, 1, 77, 160);
            float[] want = Backends.cpu().attention(AttentionCall.plain(q, k, v, 1)).out().toFloatArray();
            Tensor got = sm86.attention(AttentionCall.plain(sm86.copyFrom(q), sm86.copyFrom(k), sm86.copyFrom(v), 1)).out();
            double err = CudaTestSupport.relL2(want, sm86.toCpu(got).toFloatArray());
            assertTrue(err < CudaTestSupport.tolerance(DType.F16), "relative L2 " + err);
        }
    }

    /**
     * As sm_90 the emulator reports H100's compute capability and shared memory, and the Hopper
     * path's tensor maps come from the library's encoder: the global address and dims land in the
     * map, the encoder's own checks come back as a CUresult, and a map reaching past its allocation
     * is refused before the emulated TMA could read foreign memory.
     */
    @Test
    void sm90EmulationEncodesTensorMapsInsideAllocations() {
        EmulatedApi api = EmulatedApi.open(System.getProperty(CudaDriver.EMULATOR_PROPERTY), MEMORY, EmulatedApi.H100_SMEM_OPTIN, 9, 0);
        CudaContext h100 = CudaContext.open(api, 0);
        assertEquals(9, h100.ccMajor);
        assertEquals(0, h100.ccMinor);
        assertEquals(EmulatedApi.H100_SMEM_OPTIN, h100.maxSmemPerBlock);
        HopperDriver driver = HopperDriver.open(api);
        assertTrue(driver.library.contains(EmulatedApi.TENSOR_MAP_ENCODE), driver.library);
        int rows = 200, k = 72;
        long[] p = new long[1];
        assertEquals(0, api.memAlloc(p, (long) rows * k * 2));
        try {
            byte[] map = driver.encode("test", TensorMapSpec.kMajor("test", DType.F16, p[0], rows, k, k, 1, 0, 128, 64), p[0]);
            ByteBuffer bb = ByteBuffer.wrap(map).order(ByteOrder.LITTLE_ENDIAN);  // the emulator's CUtensorMap (src/test/emu/cuda.h)
            assertEquals(p[0], bb.getLong(0));
            assertEquals(k, bb.getLong(8));
            assertEquals(rows, bb.getLong(16));
            IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                    () -> driver.encode("matmul", TensorMapSpec.kMajor("matmul", DType.F16, p[0], rows + 1, k, k, 1, 0, 128, 64), p[0]));
            assertTrue(past.getMessage().contains("matmul") && past.getMessage().contains("allocation"), past.getMessage());
            TensorMapSpec strided = new TensorMapSpec(TensorMapSpec.DATA_TYPE_FLOAT16, new long[]{k, rows, 1}, new long[]{k * 2, (long) rows * k * 2},
                    new int[]{64, 128, 1}, new int[]{2, 1, 1}, 0, TensorMapSpec.SWIZZLE_128B, 0, 0);  // element stride 2: refused by the encoder
            CudaException e = assertThrows(CudaException.class, () -> driver.encode("test", strided, p[0]));
            assertEquals(1, e.code());
            assertTrue(e.getMessage().contains("cuTensorMapEncodeTiled") && e.getMessage().contains("CUDA_ERROR_INVALID_VALUE"), e.getMessage());
        } finally {
            api.memFree(p[0]);
        }
    }

    @Test
    void emulatedComputeCapabilityIsChecked() {
        String lib = System.getProperty(CudaDriver.EMULATOR_PROPERTY);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EmulatedApi.open(lib, MEMORY, EmulatedApi.A100_SMEM_OPTIN, 8, 6));
        assertTrue(e.getMessage().contains("sm_86"), e.getMessage());
        String prior = System.getProperty(EmulatedApi.SM_PROPERTY);
        System.setProperty(EmulatedApi.SM_PROPERTY, "89");
        try {
            CudaUnavailableException u = assertThrows(CudaUnavailableException.class, () -> EmulatedApi.open(lib));
            assertTrue(u.getMessage().contains(EmulatedApi.SM_PROPERTY + "=89"), u.getMessage());
            System.setProperty(EmulatedApi.SM_PROPERTY, "90");
            int[] v = new int[1];
            EmulatedApi sm90 = EmulatedApi.open(lib);
            assertEquals(0, sm90.deviceGetAttribute(v, 75, 0));
            assertEquals(9, v[0]);
            assertEquals(0, sm90.deviceGetAttribute(v, 97, 0));
            assertEquals(EmulatedApi.H100_SMEM_OPTIN, v[0]);
        } finally {
            if (prior == null) System.clearProperty(EmulatedApi.SM_PROPERTY);
            else System.setProperty(EmulatedApi.SM_PROPERTY, prior);
        }
    }

    private float[] randoms(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return v;
    }
}
