package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backend;
import dev.diffuse4j.runtime.ops.Backends;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiFunction;

import static dev.diffuse4j.runtime.cuda.CudaTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared by the tests of the Hopper (wgmma/TMA) kernels: their backend, and CPU parity through the opt-in dispatch. */
final class HopperTestSupport {
    private HopperTestSupport() {}

    private static final long EMULATED_MEMORY = 512L << 20;
    /** The sm_90 host-emulator backend, opened on first use. */
    private static CudaBackend emulatedHopper;

    /**
     * An sm_90 backend: under -Dd4j.cuda.emulator (the cuda-emulated execution) a private backend of
     * the host emulator opened as sm_90 (the shared emulated backend stays sm_80 for the other
     * tests); else the shared GPU backend, or a skip with the reason where there is none or it is
     * not sm_90.
     */
    static CudaBackend backendOrSkip() {
        String lib = System.getProperty(CudaDriver.EMULATOR_PROPERTY);
        if (lib != null && !lib.isBlank()) return emulated(lib);
        CudaBackend cuda = CudaTestSupport.backendOrSkip();
        assumeTrue(cuda.ctx.ccMajor == 9 && cuda.ctx.ccMinor == 0,
                "skipped: the wgmma/TMA kernels need an sm_90 GPU, " + cuda.describe() + " is not one");
        return cuda;
    }

    private static synchronized CudaBackend emulated(String lib) {
        assumeTrue(Files.isRegularFile(Path.of(lib)), "skipped: host emulator library not built (" + lib + ")");
        if (emulatedHopper == null) {
            emulatedHopper = new CudaBackend(Device.cuda(),
                    CudaContext.open(EmulatedApi.open(lib, EMULATED_MEMORY, EmulatedApi.H100_SMEM_OPTIN, 9, 0), 0));
            emulatedHopper.ctx.syncEachLaunch = true;
        }
        assertEquals(9, emulatedHopper.ctx.ccMajor);
        return emulatedHopper;
    }

    /**
     * The CPU result of {@code op} against the CUDA backend's, on copies of {@code in}, with the
     * output poisoned first; {@code viaWgmma}: whether the CUDA call must have launched a Hopper kernel.
     */
    static void parity(CudaBackend cuda, String what, DType dt, boolean viaWgmma, BiFunction<Backend, Tensor[], Tensor> op, Tensor... in) {
        parity(cuda, what, dt, tolerance(dt), viaWgmma, op, in);
    }

    /** As above for an output of dtype {@code out} (e.g. F32 attention maps of F16 inputs) within {@code tol}. */
    static void parity(CudaBackend cuda, String what, DType out, double tol, boolean viaWgmma, BiFunction<Backend, Tensor[], Tensor> op,
                       Tensor... in) {
        try (Scope s = Scope.open()) {
            Tensor[] gin = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) gin[i] = in[i] == null ? null : cuda.copyFrom(in[i]);
            Tensor ref = op.apply(Backends.cpu(), in);
            poison(cuda, out, ref.shape());
            long before = CudaWgmmaGemm.launches();
            Tensor got = op.apply(cuda, gin);
            assertEquals(viaWgmma, CudaWgmmaGemm.launches() > before, what + ": " + (viaWgmma ? "expected" : "did not expect") + " a wgmma kernel");
            double err = relL2(ref.toFloatArray(), cuda.toCpu(got).toFloatArray());
            assertTrue(err <= tol, what + ": relative L2 error " + err + " exceeds " + tol);
        }
    }
}
