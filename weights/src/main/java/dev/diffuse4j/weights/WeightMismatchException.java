package dev.diffuse4j.weights;

import java.util.List;

/** The checkpoint does not fit the model: every missing, unexpected and mis-shaped key, by name. */
public class WeightMismatchException extends WeightsException {
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> misshaped;

    public WeightMismatchException(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        super(message(source, missing, unexpected, misshaped));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.misshaped = List.copyOf(misshaped);
    }

    public List<String> missing() { return missing; }

    public List<String> unexpected() { return unexpected; }

    public List<String> misshaped() { return misshaped; }

    private static String message(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        StringBuilder sb = new StringBuilder("checkpoint ").append(source).append(" does not fit the model: ")
                .append(missing.size()).append(" missing, ").append(unexpected.size()).append(" unexpected, ")
                .append(misshaped.size()).append(" mis-shaped key(s)");
        list(sb, "missing", missing);
        list(sb, "unexpected", unexpected);
        list(sb, "mis-shaped", misshaped);
        return sb.toString();
    }

    private static void list(StringBuilder sb, String what, List<String> keys) {
        int shown = 0;
        for (String k : keys) {
            if (shown++ == 20) {
                sb.append("\n  ... and ").append(keys.size() - 20).append(" more ").append(what);
                break;
            }
            sb.append("\n  ").append(what).append(": ").append(k);
        }
    }
}
