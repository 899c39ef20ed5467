package dev.diffuse4j.pipelines.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class PngTest {
    @TempDir
    Path tmp;

    @Test
    void pixelsAndParametersRoundTripThroughAnIndependentDecoder() throws Exception {
        long seed = System.nanoTime();
        Random r = new Random(seed);
        int w = 37, h = 23;
        byte[] rgb = new byte[w * h * 3];
        r.nextBytes(rgb);
        RgbImage img = new RgbImage(w, h, rgb);
        Map<String, String> text = Map.of("parameters", "a cat\nSteps: 20, Seed: 42, Size: 37x23");
        Path p = tmp.resolve("sub/out.png");
        Png.write(p, img, text);
        byte[] bytes = Files.readAllBytes(p);

        BufferedImage back = ImageIO.read(new ByteArrayInputStream(bytes)); // the JDK's decoder checks CRCs and filters
        assertNotNull(back, "seed " + seed);
        assertEquals(w, back.getWidth());
        assertEquals(h, back.getHeight());
        RgbImage decoded = Images.fromBuffered(back);
        assertArrayEquals(rgb, decoded.rgb(), "seed " + seed);
        assertEquals(text, Png.readText(bytes));
        assertArrayEquals(bytes, Png.encode(img, text), "encoding is deterministic");
    }

    @Test
    void fitCropsToAspectThenResizes() {
        byte[] rgb = new byte[40 * 20 * 3];
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 40; x++) rgb[(y * 40 + x) * 3] = (byte) (x < 10 || x >= 30 ? 255 : 0);
        RgbImage fitted = Images.fit(new RgbImage(40, 20, rgb), 8, 8);
        assertEquals(8, fitted.width());
        // the red side bands are cropped away: the centre square is black
        assertEquals(0, fitted.red(4, 4));
    }

    @Test
    void badSizesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 2, new byte[5]));
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(0, 2, new byte[0]));
    }
}
