package dev.diffuse4j.attention;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The pickle of a {@code torch.save} zip archive ({@code <name>/data.pkl}), read through
 * {@link RestrictedUnpickler}: plain containers and numbers only, never code. Bounded against hostile
 * files: the pickle is read up to {@link #MAX_PICKLE_BYTES} whatever the zip claims (no zip bombs), and
 * archives with absurd entry counts are refused.
 */
public final class TorchArchive {
    static final int MAX_PICKLE_BYTES = 64 << 20;
    static final int MAX_ENTRIES = 100_000;

    private TorchArchive() {}

    /** True when the bytes start like a zip archive ("PK\3\4"), as every torch.save file since torch 1.6 does. */
    public static boolean isZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    /** The unpickled {@code data.pkl} of the archive at {@code file}. */
    public static Object load(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pickle = pickleEntry(zip, file);
            byte[] data;
            try (InputStream in = zip.getInputStream(pickle)) {
                data = in.readNBytes(MAX_PICKLE_BYTES + 1);
            }
            if (data.length > MAX_PICKLE_BYTES)
                throw new IOException(file + ": " + pickle.getName() + " is larger than " + MAX_PICKLE_BYTES + " bytes; a ranking file is tiny");
            return RestrictedUnpickler.load(data, file + ":" + pickle.getName());
        } catch (ZipException e) {
            throw new IOException(file + " is not a readable torch zip archive: " + e.getMessage(), e);
        }
    }

    private static ZipEntry pickleEntry(ZipFile zip, Path file) throws IOException {
        if (zip.size() > MAX_ENTRIES) throw new IOException(file + ": " + zip.size() + " zip entries; not a torch.save archive");
        List<ZipEntry> found = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
            ZipEntry z = e.nextElement();
            String name = z.getName();
            if (name.equals("data.pkl") || (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()))
                found.add(z);
        }
        if (found.size() != 1)
            throw new IOException(file + ": expected one <archive>/data.pkl entry in the torch zip, found " + found.size());
        return found.getFirst();
    }
}
