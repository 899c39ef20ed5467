package dev.diffuse4j.pipelines;

import dev.diffuse4j.model.vae.AutoencoderKL;
import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Latents to pixels. Whole-image decodes are exact; tiled decodes split the latent into overlapping
 * tiles, decode each, and blend the overlaps with linear ramps so no seams show. Tiling is used on
 * request, or automatically when a whole decode would not fit in the memory this machine has free.
 */
public final class VaeDecoding {
    /** When to tile. */
    public enum Tiling { AUTO, ON, OFF }

    /** Latent tile edge (64 latent cells = 512 pixels) and overlap between neighbouring tiles. */
    static final int TILE = 64, OVERLAP = 16;

    private VaeDecoding() {}

    /** Decodes latents [n, h, w, 4] (as the UNet sees them) to images [n, 8h, 8w, 3] in about [-1, 1]. */
    public static Tensor decode(AutoencoderKL vae, Tensor latents, Tiling tiling, StepListener listener) {
        int n = latents.dim(0), h = latents.dim(1), w = latents.dim(2);
        boolean tile = switch (tiling) {
            case ON -> h > TILE || w > TILE;
            case OFF -> false;
            case AUTO -> (h > TILE || w > TILE) && estimatedDecodeBytes(n, h, w) > 0.6 * availableBytes();
        };
        if (!tile) return vae.decodeScaled(latents);
        listener.onWarning(String.format(java.util.Locale.ROOT, "decoding the VAE in %dx%d-pixel tiles (whole decode needs ~%.1f GB, %.1f GB free)",
                TILE * 8, TILE * 8, estimatedDecodeBytes(n, h, w) / 1e9, availableBytes() / 1e9));
        return tiled(vae, latents, TILE, OVERLAP);
    }

    /** Rough peak of a whole decode: a handful of live 128-channel buffers at full resolution plus the 256-channel level. */
    static double estimatedDecodeBytes(int n, int h, int w) {
        double pixels = (double) n * h * w * 64;
        return pixels * 128 * 4 * 4 + pixels / 4 * 256 * 4 * 4;
    }

    static double availableBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo")))
                if (line.startsWith("MemAvailable:")) return Double.parseDouble(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | NumberFormatException ignored) {
            // not Linux: fall back to the JVM's view
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Overlapping tiles of {@code tile} latent cells, blended over {@code overlap} cells. */
    static Tensor tiled(AutoencoderKL vae, Tensor latents, int tile, int overlap) {
        int n = latents.dim(0), h = latents.dim(1), w = latents.dim(2), c = latents.dim(3);
        int f = 1 << (vae.config().blockOutChannels().size() - 1);
        int H = h * f, W = w * f;
        float[] acc = new float[n * H * W * 3];
        float[] weight = new float[H * W];
        int stride = tile - overlap;
        for (int y0 = 0; ; y0 += stride) {
            int ty0 = Math.min(y0, Math.max(h - tile, 0)), th = Math.min(tile, h);
            for (int x0 = 0; ; x0 += stride) {
                int tx0 = Math.min(x0, Math.max(w - tile, 0)), tw = Math.min(tile, w);
                float[] img;
                try (Scope s = Scope.open()) {
                    Tensor part = latents.slice(1, ty0, ty0 + th).slice(2, tx0, tx0 + tw).contiguous();
                    img = vae.decodeScaled(part).toFloatArray();
                }
                blend(acc, weight, img, n, H, W, ty0 * f, tx0 * f, th * f, tw * f, overlap * f, ty0 > 0, tx0 > 0,
                        ty0 + th < h, tx0 + tw < w);
                if (tx0 + tw >= w) break;
            }
            if (ty0 + th >= h) break;
        }
        for (int b = 0; b < n; b++)
            for (int p = 0; p < H * W; p++)
                for (int k = 0; k < 3; k++) acc[(b * H * W + p) * 3 + k] /= weight[p];
        return Tensor.of(acc, n, H, W, 3);
    }

    private static void blend(float[] acc, float[] weight, float[] img, int n, int H, int W, int py, int px, int ph, int pw,
                              int ramp, boolean top, boolean left, boolean bottom, boolean right) {
        for (int y = 0; y < ph; y++) {
            float wy = ramp(y, ph, ramp, top, bottom);
            for (int x = 0; x < pw; x++) {
                float wt = wy * ramp(x, pw, ramp, left, right);
                int p = (py + y) * W + px + x;
                weight[p] += wt;
                for (int b = 0; b < n; b++)
                    for (int k = 0; k < 3; k++) acc[(b * H * W + p) * 3 + k] += wt * img[((b * ph + y) * pw + x) * 3 + k];
            }
        }
    }

    /** 1 inside, rising linearly over the first/last {@code ramp} pixels on sides that overlap a neighbour. */
    private static float ramp(int i, int size, int ramp, boolean fadeStart, boolean fadeEnd) {
        float v = 1f;
        if (fadeStart && i < ramp) v = Math.min(v, (i + 0.5f) / ramp);
        if (fadeEnd && i >= size - ramp) v = Math.min(v, (size - i - 0.5f) / ramp);
        return v;
    }
}
