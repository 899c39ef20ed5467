package dev.diffuse4j.attention;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a Python pickle (protocols 2 to 4) that holds only plain data: dicts, lists, tuples, str,
 * int, float, bool, None, bytes, and numpy scalars. It interprets the opcode stream itself and never
 * runs anything: the only callables it accepts are {@code numpy.dtype} and
 * {@code numpy.core.multiarray.scalar} (rebuilt here from the dtype and raw bytes) and, for protocol 2
 * bytes, {@code _codecs.encode(text, 'latin1')}. Any other global, a persistent id (a torch tensor),
 * an unknown opcode or a malformed stream is refused naming the source, the offset and the opcode.
 *
 * <p>Results: {@code Map<Object,Object>} (insertion order), {@code List<Object>} (lists and tuples,
 * tuples unmodifiable), {@code String}, {@code Long} or {@code BigInteger}, {@code Double},
 * {@code Boolean}, {@code null}, {@code byte[]}.
 */
public final class RestrictedUnpickler {
    /** Longest str/bytes item and most container items accepted (a ranking file holds a few thousand numbers). */
    static final int MAX_ITEM_BYTES = 1 << 20;
    static final int MAX_STACK = 1 << 20;

    private final String source;
    private final byte[] data;
    private int pos;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(String source, byte[] data) {
        this.source = source;
        this.data = data;
    }

    /** Parses one pickle; {@code source} names it in errors (e.g. "ranking.pt:archive/data.pkl"). */
    public static Object load(byte[] pickle, String source) throws IOException {
        return new RestrictedUnpickler(source, pickle).run();
    }

    /** A whitelisted callable pushed by GLOBAL, and the values REDUCE/BUILD make from it. */
    private enum Callable { NUMPY_SCALAR, NUMPY_DTYPE, CODECS_ENCODE }

    /** numpy dtype: kind ('f', 'i', 'u', 'b'), item size and byte order. */
    private static final class DType {
        final char kind;
        final int size;
        ByteOrder order = ByteOrder.LITTLE_ENDIAN;

        DType(char kind, int size) {
            this.kind = kind;
            this.size = size;
        }
    }

    private Object run() throws IOException {
        while (true) {
            if (pos >= data.length) throw error(pos, "stream ends without STOP");
            int at = pos, op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8(at);
                    if (v < 2 || v > 5) throw error(at, "protocol " + v + " (only 2 to 5 are read)");
                }
                case 0x95 -> bytes(8, at); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) throw error(at, "STOP with " + stack.size() + " stack items and " + marks.size() + " open marks");
                    Object result = stack.getFirst();
                    if (result instanceof Callable || result instanceof DType) throw error(at, "the pickle's value is a bare " + describe(result));
                    return result;
                }
                case '(' -> marks.add(stack.size()); // MARK
                case '}' -> push(at, new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> push(at, new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(at, List.of()); // EMPTY_TUPLE
                case 'd' -> { // DICT
                    List<Object> items = popMark(at, "DICT");
                    if (items.size() % 2 != 0) throw error(at, "DICT with an odd number of items");
                    Map<Object, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < items.size(); i += 2) m.put(key(at, items.get(i)), items.get(i + 1));
                    push(at, m);
                }
                case 'l' -> push(at, new ArrayList<>(popMark(at, "LIST"))); // LIST
                case 't' -> push(at, Collections.unmodifiableList(popMark(at, "TUPLE"))); // TUPLE
                case 0x85 -> push(at, Collections.singletonList(pop(at))); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop(at), a = pop(at);
                    push(at, Collections.unmodifiableList(Arrays.asList(a, b)));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop(at), b = pop(at), a = pop(at);
                    push(at, Collections.unmodifiableList(Arrays.asList(a, b, c)));
                }
                case 's' -> { // SETITEM
                    Object v = pop(at), k = pop(at);
                    dict(at, peek(at)).put(key(at, k), v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark(at, "SETITEMS");
                    if (items.size() % 2 != 0) throw error(at, "SETITEMS with an odd number of items");
                    Map<Object, Object> m = dict(at, peek(at));
                    for (int i = 0; i < items.size(); i += 2) m.put(key(at, items.get(i)), items.get(i + 1));
                }
                case 'a' -> { // APPEND
                    Object v = pop(at);
                    list(at, peek(at)).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark(at, "APPENDS");
                    list(at, peek(at)).addAll(items);
                }
                case 'N' -> push(at, null);
                case 0x88 -> push(at, Boolean.TRUE);
                case 0x89 -> push(at, Boolean.FALSE);
                case 'K' -> push(at, (long) u8(at)); // BININT1
                case 'M' -> push(at, (long) (u8(at) | u8(at) << 8)); // BININT2
                case 'J' -> push(at, (long) ByteBuffer.wrap(bytes(4, at)).order(ByteOrder.LITTLE_ENDIAN).getInt()); // BININT
                case 0x8a -> push(at, longValue(bytes(u8(at), at))); // LONG1
                case 0x8b -> push(at, longValue(bytes(length(4, at), at))); // LONG4
                case 'G' -> push(at, ByteBuffer.wrap(bytes(8, at)).getDouble()); // BINFLOAT, big-endian
                case 'X' -> push(at, utf8(bytes(length(4, at), at))); // BINUNICODE
                case 0x8c -> push(at, utf8(bytes(u8(at), at))); // SHORT_BINUNICODE
                case 0x8d -> push(at, utf8(bytes(length(8, at), at))); // BINUNICODE8
                case 'T' -> push(at, latin1(bytes(length(4, at), at))); // BINSTRING
                case 'U' -> push(at, latin1(bytes(u8(at), at))); // SHORT_BINSTRING
                case 'B' -> push(at, bytes(length(4, at), at)); // BINBYTES
                case 'C' -> push(at, bytes(u8(at), at)); // SHORT_BINBYTES
                case 0x8e -> push(at, bytes(length(8, at), at)); // BINBYTES8
                case 'q' -> memo.put((long) u8(at), peek(at)); // BINPUT
                case 'r' -> memo.put(length(4, at), peek(at)); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek(at)); // MEMOIZE
                case 'h' -> push(at, recall(at, u8(at))); // BINGET
                case 'j' -> push(at, recall(at, length(4, at))); // LONG_BINGET
                case 'c' -> push(at, global(at, line(at), line(at))); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(at), module = pop(at);
                    if (!(module instanceof String m) || !(name instanceof String n)) throw error(at, "STACK_GLOBAL of non-strings");
                    push(at, global(at, m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop(at), f = pop(at);
                    push(at, reduce(at, f, args));
                }
                case 'b' -> { // BUILD
                    Object state = pop(at);
                    build(at, peek(at), state);
                }
                case 'P', 'Q' -> throw error(at, "persistent id (a tensor or storage reference); only plain numbers are read");
                default -> throw error(at, String.format("opcode 0x%02x '%s' is not allowed", op, op >= 32 && op < 127 ? String.valueOf((char) op) : "?"));
            }
        }
    }

    private Callable global(int at, String module, String name) throws IOException {
        String g = module + "." + name;
        return switch (g) {
            case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar" -> Callable.NUMPY_SCALAR;
            case "numpy.dtype" -> Callable.NUMPY_DTYPE;
            case "_codecs.encode" -> Callable.CODECS_ENCODE;
            default -> throw error(at, "global " + g + " is not allowed (only numpy scalars and dtypes are rebuilt)");
        };
    }

    private Object reduce(int at, Object f, Object args) throws IOException {
        if (!(f instanceof Callable c)) throw error(at, "REDUCE of " + describe(f) + " (only whitelisted globals can be called)");
        if (!(args instanceof List<?> a)) throw error(at, "REDUCE arguments are " + describe(args) + ", not a tuple");
        return switch (c) {
            case NUMPY_DTYPE -> {
                if (a.isEmpty() || !(a.getFirst() instanceof String spec)) throw error(at, "numpy.dtype" + a + ": expected a type code such as 'f8'");
                yield dtype(at, spec);
            }
            case NUMPY_SCALAR -> {
                if (a.size() != 2 || !(a.get(0) instanceof DType t) || !(a.get(1) instanceof byte[] raw))
                    throw error(at, "numpy scalar" + a.stream().map(RestrictedUnpickler::describe).toList() + ": expected (dtype, bytes)");
                yield scalar(at, t, raw);
            }
            case CODECS_ENCODE -> {
                if (a.size() != 2 || !(a.get(0) instanceof String text) || !"latin1".equals(a.get(1)))
                    throw error(at, "_codecs.encode" + a.stream().map(RestrictedUnpickler::describe).toList() + ": only (str, 'latin1') is accepted");
                byte[] out = new byte[text.length()];
                for (int i = 0; i < out.length; i++) {
                    char ch = text.charAt(i);
                    if (ch > 0xff) throw error(at, "_codecs.encode: character U+" + Integer.toHexString(ch) + " is not latin1");
                    out[i] = (byte) ch;
                }
                yield out;
            }
        };
    }

    /** numpy dtype state {@code (version, byteorder, ...)}: only the byte order matters for scalars. */
    private void build(int at, Object target, Object state) throws IOException {
        if (!(target instanceof DType t)) throw error(at, "BUILD on " + describe(target) + " (only numpy dtypes take a state)");
        if (!(state instanceof List<?> s) || s.size() < 2 || !(s.get(1) instanceof String order))
            throw error(at, "numpy dtype state " + describe(state) + ": expected (version, byteorder, ...)");
        t.order = switch (order) {
            case "<", "|", "=" -> ByteOrder.LITTLE_ENDIAN; // '=' is the writer's native order: little on every platform numpy ships for
            case ">" -> ByteOrder.BIG_ENDIAN;
            default -> throw error(at, "numpy dtype byte order '" + order + "'");
        };
    }

    private DType dtype(int at, String spec) throws IOException {
        if (spec.length() < 2) throw error(at, "numpy dtype '" + spec + "' is not a numeric type code");
        char kind = spec.charAt(0);
        int size;
        try {
            size = Integer.parseInt(spec.substring(1));
        } catch (NumberFormatException e) {
            throw error(at, "numpy dtype '" + spec + "' is not a numeric type code");
        }
        boolean ok = switch (kind) {
            case 'f' -> size == 2 || size == 4 || size == 8;
            case 'i', 'u' -> size == 1 || size == 2 || size == 4 || size == 8;
            case 'b' -> size == 1;
            default -> false;
        };
        if (!ok) throw error(at, "numpy dtype '" + spec + "' (only bool, int, uint and float scalars are read)");
        return new DType(kind, size);
    }

    private Object scalar(int at, DType t, byte[] raw) throws IOException {
        if (raw.length != t.size) throw error(at, "numpy scalar of " + t.kind + t.size + " has " + raw.length + " bytes");
        ByteBuffer b = ByteBuffer.wrap(raw).order(t.order);
        return switch (t.kind) {
            case 'f' -> switch (t.size) {
                case 2 -> (double) Float.float16ToFloat(b.getShort());
                case 4 -> (double) b.getFloat();
                default -> b.getDouble();
            };
            case 'b' -> raw[0] != 0;
            case 'i' -> switch (t.size) {
                case 1 -> (long) b.get();
                case 2 -> (long) b.getShort();
                case 4 -> (long) b.getInt();
                default -> b.getLong();
            };
            default -> { // 'u'
                long v = switch (t.size) {
                    case 1 -> b.get() & 0xffL;
                    case 2 -> b.getShort() & 0xffffL;
                    case 4 -> b.getInt() & 0xffffffffL;
                    default -> b.getLong();
                };
                yield t.size == 8 && v < 0 ? new BigInteger(Long.toUnsignedString(v)) : (Object) v;
            }
        };
    }

    // ---------------------------------------------------------------- stack and stream helpers

    private void push(int at, Object v) throws IOException {
        if (stack.size() >= MAX_STACK) throw error(at, "more than " + MAX_STACK + " stack items");
        stack.add(v);
    }

    private Object pop(int at) throws IOException {
        if (stack.size() <= (marks.isEmpty() ? 0 : marks.getLast())) throw error(at, "stack underflow");
        return stack.removeLast();
    }

    private Object peek(int at) throws IOException {
        if (stack.isEmpty()) throw error(at, "stack underflow");
        return stack.getLast();
    }

    private List<Object> popMark(int at, String op) throws IOException {
        if (marks.isEmpty()) throw error(at, op + " without MARK");
        int m = marks.removeLast();
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object recall(int at, long index) throws IOException {
        if (!memo.containsKey(index)) throw error(at, "memo entry " + index + " was never stored");
        return memo.get(index);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(int at, Object o) throws IOException {
        if (o instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        throw error(at, "SETITEM(S) on " + describe(o));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(int at, Object o) throws IOException {
        if (o instanceof ArrayList<?> l) return (List<Object>) l;
        throw error(at, "APPEND(S) on " + describe(o));
    }

    private Object key(int at, Object k) throws IOException {
        if (k == null || k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Double || k instanceof Boolean) return k;
        throw error(at, "dict key " + describe(k) + " (only str and numbers are accepted)");
    }

    private int u8(int at) throws IOException {
        if (pos >= data.length) throw error(at, "truncated argument");
        return data[pos++] & 0xff;
    }

    private long length(int width, int at) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes(width, at)).order(ByteOrder.LITTLE_ENDIAN);
        long n = width == 4 ? b.getInt() & 0xffffffffL : b.getLong();
        if (n < 0 || n > MAX_ITEM_BYTES) throw error(at, "length " + Long.toUnsignedString(n) + " is over the " + MAX_ITEM_BYTES + "-byte item limit");
        return n;
    }

    private byte[] bytes(long n, int at) throws IOException {
        if (n > data.length - pos) throw error(at, "truncated: needs " + n + " bytes, " + (data.length - pos) + " left");
        byte[] out = Arrays.copyOfRange(data, pos, pos + (int) n);
        pos += (int) n;
        return out;
    }

    private String line(int at) throws IOException {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') {
            if (pos - start > 256) throw error(at, "GLOBAL name longer than 256 bytes");
            pos++;
        }
        if (pos >= data.length) throw error(at, "truncated GLOBAL");
        return new String(data, start, pos++ - start, StandardCharsets.UTF_8);
    }

    private String utf8(byte[] b) { return new String(b, StandardCharsets.UTF_8); }

    private String latin1(byte[] b) { return new String(b, StandardCharsets.ISO_8859_1); }

    private static Object longValue(byte[] le) {
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be); // two's complement, as pickle's LONG1/LONG4
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Callable c) return "callable " + c;
        if (o instanceof DType t) return "numpy dtype " + t.kind + t.size;
        if (o instanceof byte[] b) return "bytes[" + b.length + "]";
        return o.getClass().getSimpleName();
    }

    private IOException error(int offset, String what) {
        return new IOException(source + ": refused pickle at offset " + offset + ": " + what);
    }
}
