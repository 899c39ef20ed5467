package dev.diffuse4j.weights;

/**
 * A safetensors file breaks a rule of the format. The message names the file, the tensor (when the
 * problem is one tensor's entry) and the rule; the same facts are available as fields.
 */
public final class SafetensorsFormatException extends WeightsException {
    /** The format's rules, in the order a reader checks them. */
    public enum Rule {
        FILE_TOO_SHORT("a safetensors file starts with an 8-byte little-endian header length"),
        HEADER_TOO_LARGE("the header length may not exceed " + SafetensorsHeader.MAX_HEADER_BYTES + " bytes"),
        HEADER_PAST_END("the header must lie inside the file (8 + header length <= file length)"),
        HEADER_NOT_UTF8("the header must be valid UTF-8"),
        HEADER_NOT_OBJECT("the header must be a JSON object starting with '{'"),
        HEADER_NOT_JSON("the header must be well-formed JSON (no duplicate keys, bounded nesting)"),
        BAD_METADATA("__metadata__ must map strings to strings"),
        BAD_ENTRY("a tensor entry must be an object with dtype (string), shape (array of integers) and data_offsets ([begin, end])"),
        UNKNOWN_DTYPE("dtype must be one of the safetensors dtypes"),
        UNSUPPORTED_DTYPE("dtype must be one diffuse4j can hold: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL"),
        BAD_SHAPE("shape dimensions must be non-negative integers no larger than 2^31-1"),
        BAD_OFFSETS("data_offsets must be two non-negative integers with begin <= end"),
        SIZE_OVERFLOW("the element count times the dtype size must fit in 64 bits"),
        SIZE_MISMATCH("end - begin must equal the element count times the dtype size"),
        OUT_OF_BOUNDS("data_offsets must lie inside the data area"),
        NOT_CONTIGUOUS("tensors must tile the data area in offset order: no gaps, no overlaps"),
        INCOMPLETE_DATA("the data area must end exactly where the last tensor ends"),
        UNSUPPORTED_PLATFORM("safetensors data is little-endian; this platform is not");

        private final String text;

        Rule(String text) { this.text = text; }

        public String text() { return text; }
    }

    private final String file;
    private final String tensor;
    private final Rule rule;

    public SafetensorsFormatException(String file, String tensor, Rule rule, String detail) {
        super(file + ": " + (tensor == null ? "" : "tensor \"" + printable(tensor) + "\": ") + detail + " (rule: " + rule.text() + ")");
        this.file = file;
        this.tensor = tensor;
        this.rule = rule;
    }

    /** The file, as given to the reader. */
    public String file() { return file; }

    /** The tensor whose entry breaks the rule, or null when the header as a whole does. */
    public String tensor() { return tensor; }

    public Rule rule() { return rule; }

    /** Names from hostile files may hold control characters or be huge; keep messages one readable line. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        if (sb.length() >= 200 && s.length() > 200) sb.append("...(").append(s.length()).append(" chars)");
        return sb.toString();
    }
}
