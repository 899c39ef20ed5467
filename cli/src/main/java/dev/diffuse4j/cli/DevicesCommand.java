package dev.diffuse4j.cli;

import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.cuda.CudaUnavailableException;
import jdk.incubator.vector.FloatVector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code d4j devices}: what this machine offers the runtime, to check a setup before a long run. The
 * CPU backend's width and threads; the CUDA device (or why there is none: no driver, no device, a
 * driver too old for the kernels), and which GEMM code it would use: the mma.sync kernels, the
 * opt-in Hopper wgmma/TMA kernel, cuBLAS. Exits 0 either way, 1 with {@code --require-cuda} and no
 * usable device.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "Show the CPU and CUDA backends this machine can run, and why CUDA cannot where it cannot.")
final class DevicesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--require-cuda", description = "exit 1 when no CUDA device can run the kernels")
    boolean requireCuda;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Runtime rt = Runtime.getRuntime();
        out.printf(Locale.ROOT, "cpu: %d threads, Vector API %d-bit (%d F32 lanes), Java %s, max heap %.1f GiB%n",
                Integer.getInteger("d4j.threads", rt.availableProcessors()), FloatVector.SPECIES_PREFERRED.vectorBitSize(),
                FloatVector.SPECIES_PREFERRED.length(), Runtime.version(), rt.maxMemory() / (double) (1L << 30));
        CudaBackend cuda;
        try {
            cuda = CudaBackend.get();
        } catch (CudaUnavailableException e) {
            out.println("cuda: unavailable: " + e.reason());
            return requireCuda ? 1 : 0;
        }
        out.println("cuda: " + cuda.describe());
        String wgmma = cuda.wgmmaUnavailableReason(), cublas = cuda.cublasUnavailableReason();
        out.println("  gemm: " + (cuda.gemmImplementation() == CudaBackend.GemmImplementation.CUBLAS ? "cuBLAS"
                : cuda.usesWgmmaGemm() ? "wgmma/TMA kernel (sm_90a) where eligible, else mma.sync kernels" : "mma.sync tensor-core kernels"));
        out.println("  wgmma/TMA kernel: " + (wgmma == null ? "available (opt in: -Dd4j.cuda.gemm=wgmma)" : "unavailable: " + wgmma));
        out.println("  cuBLAS: " + (cublas == null ? "available (-Dd4j.cuda.gemm=cublas)" : "unavailable: " + cublas));
        out.println("  memory: " + cuda.memoryStats());
        return 0;
    }
}
