package dev.diffuse4j.pipelines.image;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Writes 8-bit RGB PNG files with tEXt chunks. Generation parameters go into a "parameters" chunk,
 * the convention that A1111-style tools and image viewers read. The output is a pure function of
 * pixels and text, so the same seed gives a byte-identical file.
 */
public final class Png {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private Png() {}

    public static void write(Path path, RgbImage img, Map<String, String> text) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        try (OutputStream out = Files.newOutputStream(path)) {
            out.write(encode(img, text));
        }
    }

    public static byte[] encode(RgbImage img, Map<String, String> text) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(SIGNATURE);
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(img.width());
        h.writeInt(img.height());
        h.writeByte(8);  // bit depth
        h.writeByte(2);  // colour type: truecolour
        h.writeByte(0);  // deflate
        h.writeByte(0);  // adaptive filtering
        h.writeByte(0);  // no interlace
        chunk(bytes, "IHDR", ihdr.toByteArray());
        for (Map.Entry<String, String> e : text.entrySet()) chunk(bytes, "tEXt", textChunk(e.getKey(), e.getValue()));
        chunk(bytes, "IDAT", pixels(img));
        chunk(bytes, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    /** tEXt is Latin-1: keyword (1-79 chars), NUL, text; characters outside Latin-1 become '?'. */
    private static byte[] textChunk(String key, String value) {
        if (key.isEmpty() || key.length() > 79) throw new IllegalArgumentException("PNG text keyword must be 1-79 characters: '" + key + "'");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(key.getBytes(StandardCharsets.ISO_8859_1));
        b.write(0);
        b.writeBytes(value.replace('\0', ' ').getBytes(StandardCharsets.ISO_8859_1));
        return b.toByteArray();
    }

    /** Each row with the Sub filter (good for photographic content), deflated. */
    private static byte[] pixels(RgbImage img) throws IOException {
        int w = img.width(), stride = w * 3;
        byte[] rgb = img.rgb();
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        Deflater deflater = new Deflater(6);
        try (DeflaterOutputStream d = new DeflaterOutputStream(z, deflater, 1 << 16)) {
            byte[] row = new byte[stride + 1];
            for (int y = 0; y < img.height(); y++) {
                row[0] = 1; // Sub
                int base = y * stride;
                for (int i = 0; i < stride; i++) {
                    int left = i >= 3 ? rgb[base + i - 3] : 0;
                    row[i + 1] = (byte) (rgb[base + i] - left);
                }
                d.write(row);
            }
        } finally {
            deflater.end();
        }
        return z.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.writeInt(data.length);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }

    /** The tEXt chunks of a PNG file (for tests and for reading parameters back). */
    public static Map<String, String> readText(byte[] png) {
        Map<String, String> out = new LinkedHashMap<>();
        int p = SIGNATURE.length;
        while (p + 8 <= png.length) {
            int len = ((png[p] & 0xFF) << 24) | ((png[p + 1] & 0xFF) << 16) | ((png[p + 2] & 0xFF) << 8) | (png[p + 3] & 0xFF);
            String type = new String(png, p + 4, 4, StandardCharsets.US_ASCII);
            if (len < 0 || p + 12L + len > png.length) break;
            if (type.equals("tEXt")) {
                int nul = p + 8;
                while (nul < p + 8 + len && png[nul] != 0) nul++;
                out.put(new String(png, p + 8, nul - p - 8, StandardCharsets.ISO_8859_1),
                        new String(png, nul + 1, p + 8 + len - nul - 1, StandardCharsets.ISO_8859_1));
            }
            p += 12 + len;
        }
        return out;
    }
}
