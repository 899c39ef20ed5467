package dev.diffuse4j.runtime;

/** Where a tensor's storage lives. The CPU is always present; CUDA devices are numbered from 0. */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public static Device cpu() { return CPU; }

    public static Device cuda() { return cuda(0); }

    public static Device cuda(int index) { return new Device(Kind.CUDA, index); }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("cpu")) return CPU;
        if (n.equals("cuda")) return cuda(0);
        if (n.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(n.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + name + "': expected cpu, cuda or cuda:N");
            }
        }
        throw new IllegalArgumentException("bad device '" + name + "': expected cpu, cuda or cuda:N");
    }

    public boolean isCpu() { return kind == Kind.CPU; }

    @Override
    public String toString() { return kind == Kind.CPU ? "cpu" : "cuda:" + index; }
}
