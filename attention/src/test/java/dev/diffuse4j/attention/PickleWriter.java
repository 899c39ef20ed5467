package dev.diffuse4j.attention;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A small pickle writer for tests, emitting what CPython's pickler emits for plain data at protocol 2
 * (torch.save's default) or 4: memoised containers, batched SETITEMS/APPENDS, and numpy float64
 * scalars as {@code numpy.core.multiarray.scalar(numpy.dtype('f8', False, True), raw)} with the dtype
 * state BUILD, bytes as {@code _codecs.encode(str, 'latin1')} at protocol 2.
 */
final class PickleWriter {
    /** A value written as a numpy float64 scalar. */
    record NumpyDouble(double value) {}

    private final int protocol;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int memo;
    private int dtypeMemo = -1;

    PickleWriter(int protocol) { this.protocol = protocol; }

    static byte[] pickle(Object value, int protocol) {
        PickleWriter w = new PickleWriter(protocol);
        w.out.write(0x80);
        w.out.write(protocol);
        ByteArrayOutputStream header = w.out;
        PickleWriter body = new PickleWriter(protocol);
        body.write(value);
        body.out.write('.');
        byte[] b = body.out.toByteArray();
        if (protocol >= 4) { // one frame around the body, as the C pickler does
            header.write(0x95);
            header.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(b.length).array());
        }
        header.writeBytes(b);
        return header.toByteArray();
    }

    private void put() {
        if (protocol >= 4) out.write(0x94);
        else if (memo < 256) {
            out.write('q');
            out.write(memo);
        } else {
            out.write('r');
            out.writeBytes(le32(memo));
        }
        memo++;
    }

    void write(Object v) {
        switch (v) {
            case null -> out.write('N');
            case Boolean b -> out.write(b ? 0x88 : 0x89);
            case Integer i -> writeInt(i);
            case Long l -> writeInt(Math.toIntExact(l));
            case Double d -> {
                out.write('G');
                out.writeBytes(ByteBuffer.allocate(8).putDouble(d).array());
            }
            case NumpyDouble n -> numpyScalar(n.value());
            case String s -> {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                if (protocol >= 4 && b.length < 256) {
                    out.write(0x8c);
                    out.write(b.length);
                } else {
                    out.write('X');
                    out.writeBytes(le32(b.length));
                }
                out.writeBytes(b);
                put();
            }
            case Map<?, ?> m -> {
                out.write('}');
                put();
                if (!m.isEmpty()) {
                    out.write('(');
                    for (var e : m.entrySet()) {
                        write(e.getKey());
                        write(e.getValue());
                    }
                    out.write('u');
                }
            }
            case List<?> l -> {
                out.write(']');
                put();
                if (!l.isEmpty()) {
                    out.write('(');
                    for (Object x : l) write(x);
                    out.write('e');
                }
            }
            default -> throw new IllegalArgumentException("test pickler: " + v.getClass());
        }
    }

    private void writeInt(int i) {
        if (i >= 0 && i < 256) {
            out.write('K');
            out.write(i);
        } else if (i >= 0 && i < 65536) {
            out.write('M');
            out.write(i & 0xff);
            out.write(i >>> 8);
        } else {
            out.write('J');
            out.writeBytes(le32(i));
        }
    }

    private void global(String module, String name) {
        if (protocol >= 4) {
            write(module);
            write(name);
            out.write(0x93);
        } else {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        put();
    }

    private void numpyScalar(double v) {
        global("numpy.core.multiarray", "scalar");
        if (dtypeMemo >= 0) { // the dtype object is pickled once and fetched from the memo afterwards
            if (dtypeMemo < 256) {
                out.write('h');
                out.write(dtypeMemo);
            } else {
                out.write('j');
                out.writeBytes(le32(dtypeMemo));
            }
        } else {
            global("numpy", "dtype");
            write("f8");
            out.write(0x89);
            out.write(0x88);
            out.write(0x87); // TUPLE3
            put();
            out.write('R');
            dtypeMemo = memo;
            put();
            // state (3, '<', None, None, None, -1, -1, 0)
            out.write('(');
            writeInt(3);
            write("<");
            out.write('N');
            out.write('N');
            out.write('N');
            out.write('J');
            out.writeBytes(le32(-1));
            out.write('J');
            out.writeBytes(le32(-1));
            writeInt(0);
            out.write('t');
            put();
            out.write('b');
        }
        byte[] raw = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(v).array();
        if (protocol >= 4) {
            out.write('C');
            out.write(8);
            out.writeBytes(raw);
            put();
        } else {
            global("_codecs", "encode");
            write(new String(raw, StandardCharsets.ISO_8859_1));
            write("latin1");
            out.write(0x86);
            put();
            out.write('R');
            put();
        }
        out.write(0x86);
        put();
        out.write('R');
        put();
    }

    private static byte[] le32(int v) { return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(); }

    /** A torch.save-like zip: STORED entries {@code <name>/data.pkl}, {@code version}, {@code byteorder}. */
    static void writeArchive(Path file, String name, byte[] pickle) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
            stored(zip, name + "/data.pkl", pickle);
            stored(zip, name + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            stored(zip, name + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
