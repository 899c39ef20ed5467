import dev.diffuse4j.model.nn.Placement;
import dev.diffuse4j.model.unet.LdmUNetMapping;
import dev.diffuse4j.model.unet.UNet2DConditionModel;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetInput;
import dev.diffuse4j.model.unet.UNetLoader;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.runtime.Device;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.runtime.cuda.CudaBackend;
import dev.diffuse4j.runtime.cuda.CudaGraph;
import dev.diffuse4j.runtime.ops.Ops;
import dev.diffuse4j.weights.DeterministicWeights;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One CFG denoising step of the whole UNet on the GPU: batch 2 at the model's native size (SD1.5
 * 64x64 latents, SDXL 128x128), deterministic weights, activations F16 or BF16. Times eager calls
 * (host overhead and launch gaps included) and CUDA-graph replays of the captured step; prints the
 * rate against the FLOP counts and writes a CSV row that compare.py joins with
 * torch_unet.py's (diffusers eager on the same GPU).
 *
 * usage: UNetStep sd15|sdxl [f16|bf16] OUT.csv
 */
public final class UNetStep {
    public static void main(String[] args) throws IOException {
        String model = args[0];
        DType t = args.length > 2 && args[1].equals("bf16") ? DType.BF16 : DType.F16;
        Path out = Path.of(args[args.length - 1]);
        CudaBackend cuda;
        try {
            cuda = CudaBackend.get();
        } catch (dev.diffuse4j.runtime.cuda.CudaUnavailableException e) {
            System.out.println("[unet] " + e.getMessage());
            System.exit(2);
            return;
        }
        boolean xl = model.equals("sdxl");
        UNetConfig c = xl ? UNetConfig.SDXL_BASE : UNetConfig.SD15;
        double gflopPerImage = xl ? 6760 : 803;  // the counts at 1024 / 512 px
        int side = c.sampleSize(), batch = 2;
        long t0 = System.nanoTime();
        try (DeterministicWeights w = new DeterministicWeights(LdmUNetMapping.checkpointTensors(c, LdmUNetMapping.PREFIX));
             UNet2DConditionModel unet = UNetLoader.fromSingleFile(c, w, new Placement(Device.cuda(), t))) {
            System.out.printf(Locale.ROOT, "[unet] %s %s loaded in %.1f s; %s%n", model, t, (System.nanoTime() - t0) / 1e9, cuda.memoryStats());
            SplittableRandom r = new SplittableRandom(1);
            Tensor sample = onGpu(r, batch, side, side, c.inChannels());
            Tensor context = onGpu(r, batch, 77, c.crossAttentionDim());
            Tensor steps = Ops.to(Tensor.of(new float[]{500f, 500f}, batch), Device.cuda());
            UNetInput in = UNetInput.of(sample, 500f, context).withTimestepValues(steps);
            if (xl) in = in.withY(onGpu(r, batch, c.projectionClassEmbeddingsInputDim()));
            UNetInput call = in;

            for (int i = 0; i < 2; i++) unet.forward(call).close();
            cuda.synchronize();
            cuda.resetPeakMemory();
            double[] eager = new double[5];
            for (int i = 0; i < eager.length; i++) {
                long s = System.nanoTime();
                try (Tensor y = unet.forward(call)) {
                    cuda.synchronize();
                }
                eager[i] = (System.nanoTime() - s) / 1e6;
            }
            long peak = cuda.memoryStats().peakBytes();
            double eagerMs = median(eager), graphMs = Double.NaN;
            Tensor[] result = new Tensor[1];
            try (CudaGraph g = cuda.capture(() -> result[0] = unet.forward(call))) {
                double[] replay = new double[10];
                g.replay();
                cuda.synchronize();
                for (int i = 0; i < replay.length; i++) {
                    long s = System.nanoTime();
                    g.replay();
                    cuda.synchronize();
                    replay[i] = (System.nanoTime() - s) / 1e6;
                }
                graphMs = median(replay);
                result[0].close();
            } catch (RuntimeException e) {
                System.out.println("[unet] graph capture FAILED: " + e);
            }
            double flop = gflopPerImage * batch * 1e9;
            System.out.printf(Locale.ROOT, "[unet] %s %s CFG step (batch %d, %dx%d latents): eager %.2f ms, graph %.2f ms, %.0f TFLOP/s (graph), peak %.2f GB; %s%n",
                    model, t, batch, side, side, eagerMs, graphMs, flop / (Double.isNaN(graphMs) ? eagerMs : graphMs) / 1e9, peak / 1e9,
                    cuda.usesWgmmaGemm() ? CudaBackend.wgmmaLaunches() + " wgmma kernel launches" : "mma.sync kernels");
            try (PrintWriter pw = new PrintWriter(Files.newBufferedWriter(out))) {
                pw.println("model,dtype,eager_ms,graph_ms,peak_bytes");
                pw.printf(Locale.ROOT, "%s,%s,%.4f,%.4f,%d%n", model, t.name().toLowerCase(Locale.ROOT), eagerMs, graphMs, peak);
            }
        }
    }

    private static Tensor onGpu(SplittableRandom r, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) gaussian(r);
        try (Tensor host = Tensor.of(v, shape)) {
            return Ops.to(host, Device.cuda());
        }
    }

    private static double gaussian(SplittableRandom r) {
        double u = Math.max(r.nextDouble(), 1e-300), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
