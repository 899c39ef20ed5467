package dev.diffuse4j.cli;

import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.pipelines.FakeModels;
import dev.diffuse4j.pipelines.ModelLoader;
import dev.diffuse4j.pipelines.StableDiffusion;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/** Options every generating command shares: which model, on which backend, in which precision. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH|REPO",
            description = "diffusers folder, single-file .safetensors checkpoint, or Hugging Face repo id (downloaded into the hub cache)")
    String model;

    @Option(names = "--fake-weights", paramLabel = "NAME",
            description = "real architecture on deterministic weights, nothing downloaded: tiny-sd15, tiny-sdxl, sd15, sdxl")
    String fakeWeights;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu or cuda (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "storage type of weights and activations: f32, f16, bf16, or auto = f16 on cuda, f32 on cpu. Arithmetic is F32 "
                    + "everywhere; f16/bf16 round each op's result (half the activation memory; tensor cores on cuda). "
                    + "The SDXL VAE stays F32 under f16 (force_upcast) (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--cuda-gemm", paramLabel = "KIND",
            description = "with --backend cuda, the code behind linear, matmul and conv: kernels (mma.sync tensor cores), wgmma "
                    + "(the opt-in Hopper TMA + wgmma kernels for GEMM, linear + GEGLU and conv; sm_90 only, not yet validated on a GPU) "
                    + "or cublas (GEMMs through cuBLAS) (default: kernels, or what -Dd4j.cuda.gemm says)")
    String cudaGemm;

    @Option(names = "--fp16", description = "download/read the fp16 variant of diffusers weights when there is one")
    boolean fp16;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "CLIP tokenizer folder (vocab.json, merges.txt) for single-file checkpoints")
    Path tokenizer;

    @Option(names = "--clip-skip", defaultValue = "0", description = "use an earlier text-encoder layer (0 = none)")
    int clipSkip;

    Placement placement() {
        Device d = Device.parse(backend);
        return switch (dtype.toLowerCase(Locale.ROOT)) {
            case "auto" -> Placement.auto(d);
            case "f32" -> new Placement(d, DType.F32);
            case "f16" -> new Placement(d, DType.F16);
            case "bf16" -> new Placement(d, DType.BF16);
            default -> throw new IllegalArgumentException("--dtype must be auto, f32, f16 or bf16, got '" + dtype + "'");
        };
    }

    StableDiffusion load(PrintWriter err) throws IOException {
        if (model != null && fakeWeights != null) throw new IllegalArgumentException("give either --model or --fake-weights, not both");
        if (model == null && fakeWeights == null)
            throw new IllegalArgumentException("no model given: pass --model PATH|REPO or --fake-weights tiny-sd15. " + ModelLoader.howToGetModels());
        Placement at = placement();
        selectCudaGemm(at.device());
        long t0 = System.nanoTime();
        StableDiffusion sd;
        if (fakeWeights != null) {
            sd = FakeModels.load(fakeWeights, at);
        } else {
            var hubBar = new HubProgress(err);
            sd = ModelLoader.load(model, ModelLoader.Options.defaults().withPlacement(at).withFp16(fp16)
                    .withTokenizerDir(tokenizer).withClipSkip(clipSkip).withHubProgress(hubBar));
        }
        err.printf(Locale.ROOT, "loaded %s on %s in %.1f s%n", sd.description(), at, (System.nanoTime() - t0) / 1e9);
        return sd;
    }

    /** Applies --cuda-gemm to the CUDA backend (a process-wide choice); refuses it off CUDA or where the kind cannot run. */
    private void selectCudaGemm(Device d) {
        if (cudaGemm == null) return;
        if (d.isCpu()) throw new IllegalArgumentException("--cuda-gemm applies to --backend cuda only");
        CudaBackend cuda = CudaBackend.get();
        switch (cudaGemm.toLowerCase(Locale.ROOT)) {
            case "kernels" -> {
                cuda.useWgmmaGemm(false);
                cuda.gemmImplementation(CudaBackend.GemmImplementation.KERNELS);
            }
            case "wgmma" -> {
                cuda.gemmImplementation(CudaBackend.GemmImplementation.KERNELS);
                cuda.useWgmmaGemm(true);
            }
            case "cublas" -> {
                cuda.useWgmmaGemm(false);
                cuda.gemmImplementation(CudaBackend.GemmImplementation.CUBLAS);
            }
            default -> throw new IllegalArgumentException("--cuda-gemm must be kernels, wgmma or cublas, got '" + cudaGemm + "'");
        }
    }

    /** Download progress of hub files, one line per 10% per file. */
    private record HubProgress(PrintWriter err) implements dev.diffuse4j.pipelines.hub.HubDownloader.ProgressListener {
        @Override
        public void onProgress(String file, long done, long total) {
            if (total <= 0) return;
            long step = Math.max(total / 10, 1);
            if (done == total || done / step != (done - Math.min(done, 1 << 20)) / step)
                err.printf(Locale.ROOT, "downloading %s: %.0f%% of %.1f MB%n", file, 100.0 * done / total, total / 1e6);
        }
    }
}
