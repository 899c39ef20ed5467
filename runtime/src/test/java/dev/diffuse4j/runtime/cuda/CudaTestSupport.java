package dev.diffuse4j.runtime.cuda;

import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.ops.Backends;
import org.junit.jupiter.api.Assumptions;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared by the CUDA tests: the backend or a visible skip, random inputs, error measures, poisoning. */
final class CudaTestSupport {
    private CudaTestSupport() {}

    /**
     * The CUDA backend (a GPU's, or the host emulator's under -Dd4j.cuda.emulator), or aborts the
     * calling test as SKIPPED with the reason (never a silent pass).
     * Launches are checked one by one (d4j.cuda.sync) so a faulting kernel is named.
     */
    static CudaBackend backendOrSkip() {
        try {
            CudaBackend cuda = (CudaBackend) Backends.of(Device.cuda());
            cuda.ctx.syncEachLaunch = !"false".equals(System.getProperty("d4j.cuda.sync"));
            return cuda;
        } catch (CudaUnavailableException e) {
            boolean emulator = System.getProperty(CudaDriver.EMULATOR_PROPERTY) != null;
            Assumptions.abort("skipped: " + (emulator ? e.reason() : "no CUDA device (" + e.reason() + ")"));
            throw e;  // not reached
        }
    }

    /** True when the dynamic linker can load the named shared library here. */
    static boolean loadable(String name) {
        try {
            SymbolLookup.libraryLookup(name, Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Relative L2 bound per storage dtype (DESIGN §6). */
    static double tolerance(DType t) {
        return switch (t) {
            case F32 -> 1e-5;
            case F16, BF16 -> 1e-2;
            default -> 0;
        };
    }

    /** Uniform values in [lo, hi) as a CPU tensor of dtype t (rounded once, so both backends see the same numbers). */
    static Tensor random(Random rnd, DType t, float lo, float hi, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rnd.nextFloat();
        Tensor f = Tensor.of(v, shape);
        if (t == DType.F32) return f;
        try (f) { return Backends.cpu().cast(f, t); }
    }

    static Tensor random(Random rnd, DType t, int... shape) { return random(rnd, t, -1f, 1f, shape); }

    /** ||got - ref|| / ||ref|| in double; NaN or Inf anywhere fails. */
    static double relL2(float[] ref, float[] got) {
        assertEquals(ref.length, got.length, "element count");
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Float.isFinite(ref[i])) {  // inf/NaN in the reference (e.g. an F16 overflow) must be reproduced exactly
                if (Float.compare(ref[i], got[i]) != 0 && !(Float.isNaN(ref[i]) && Float.isNaN(got[i])))
                    fail("element " + i + " is " + got[i] + ", expected " + ref[i]);
                continue;
            }
            if (!Float.isFinite(got[i]))
                fail("element " + i + " is " + got[i] + " (expected " + ref[i] + "): unwritten (poisoned) or overflowed");
            double d = (double) got[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** Fills the allocator's cache with NaN blocks of this size so an output element the kernel forgets stays NaN. */
    static void poison(CudaBackend cuda, DType t, int... shape) {
        Tensor[] ps = new Tensor[3];
        for (int i = 0; i < ps.length; i++) {
            ps[i] = cuda.alloc("poison", t, shape);
            long n = ps[i].numel();
            switch (t.byteSize()) {
                case 2 -> cuda.ctx.launch("poison", cuda.k.get("copy", "fill_e2"), cuda.grid(n), 1, 1, 256, 0, CudaTypes.address(ps[i]), n, 0xFFFF);
                case 4 -> cuda.ctx.launch("poison", cuda.k.get("copy", "fill_e4"), cuda.grid(n), 1, 1, 256, 0, CudaTypes.address(ps[i]), n, 0x7FC00000);
                default -> cuda.ctx.launch("poison", cuda.k.get("copy", "fill_e8"), cuda.grid(n), 1, 1, 256, 0, CudaTypes.address(ps[i]), n, 0x7FF8000000000000L);
            }
        }
        for (Tensor p : ps) p.close();
    }
}
