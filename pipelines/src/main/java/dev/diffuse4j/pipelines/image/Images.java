package dev.diffuse4j.pipelines.image;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading user images (PNG, JPEG, ...) and fitting them to a generation size. */
public final class Images {
    private Images() {}

    public static RgbImage read(Path path) throws IOException {
        if (!Files.isRegularFile(path)) throw new IOException("image " + path + " does not exist or is not a file");
        BufferedImage bi = ImageIO.read(path.toFile());
        if (bi == null) throw new IOException("cannot read " + path + " as an image (supported: PNG, JPEG, BMP, GIF)");
        return fromBuffered(bi);
    }

    public static RgbImage fromBuffered(BufferedImage bi) {
        int w = bi.getWidth(), h = bi.getHeight();
        byte[] rgb = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            bi.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x], o = (y * w + x) * 3;
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    public static BufferedImage toBuffered(RgbImage img) {
        BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.height(); y++)
            for (int x = 0; x < img.width(); x++)
                bi.setRGB(x, y, (img.red(x, y) << 16) | (img.green(x, y) << 8) | img.blue(x, y));
        return bi;
    }

    /**
     * Centre-crops to the target aspect ratio (so nothing is stretched), then resizes with antialiased
     * Lanczos-3 as Pillow does ({@link Lanczos}); same-aspect images are resized as diffusers' image
     * processors resize them.
     */
    public static RgbImage fit(RgbImage img, int width, int height) {
        if (img.width() == width && img.height() == height) return img;
        double target = (double) width / height, have = (double) img.width() / img.height();
        int cw = img.width(), ch = img.height();
        if (have > target) cw = (int) Math.round(ch * target);
        else ch = (int) Math.round(cw / target);
        return Lanczos.resize(crop(img, (img.width() - cw) / 2, (img.height() - ch) / 2, cw, ch), width, height);
    }

    /** The {@code w x h} region at (x0, y0). */
    public static RgbImage crop(RgbImage img, int x0, int y0, int w, int h) {
        if (x0 < 0 || y0 < 0 || w <= 0 || h <= 0 || x0 + w > img.width() || y0 + h > img.height())
            throw new IllegalArgumentException("crop " + w + "x" + h + " at " + x0 + "," + y0 + " is outside a " + img.width() + "x" + img.height() + " image");
        if (x0 == 0 && y0 == 0 && w == img.width() && h == img.height()) return img;
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) System.arraycopy(img.rgb(), ((y0 + y) * img.width() + x0) * 3, out, y * w * 3, w * 3);
        return new RgbImage(w, h, out);
    }
}
