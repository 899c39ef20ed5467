package dev.diffuse4j.pipelines.image;

import javax.imageio.ImageIO;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
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

    /** Centre-crops to the target aspect ratio, then resizes with bicubic interpolation. */
    public static RgbImage fit(RgbImage img, int width, int height) {
        if (img.width() == width && img.height() == height) return img;
        double target = (double) width / height, have = (double) img.width() / img.height();
        int cw = img.width(), ch = img.height();
        if (have > target) cw = (int) Math.round(ch * target);
        else ch = (int) Math.round(cw / target);
        int x0 = (img.width() - cw) / 2, y0 = (img.height() - ch) / 2;
        BufferedImage src = toBuffered(img).getSubimage(x0, y0, cw, ch);
        BufferedImage dst = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.drawImage(src, 0, 0, width, height, null);
        g.dispose();
        return fromBuffered(dst);
    }
}
