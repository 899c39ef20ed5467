package dev.diffuse4j.cli;

import dev.diffuse4j.model.controlnet.ControlNetConfig;
import dev.diffuse4j.model.controlnet.ControlNetConfigInference;
import dev.diffuse4j.model.controlnet.LdmControlNetMapping;
import dev.diffuse4j.runtime.DType;
import dev.diffuse4j.weights.Checkpoint;
import dev.diffuse4j.weights.Checkpoints;
import dev.diffuse4j.weights.Component;
import dev.diffuse4j.weights.DiffusersFolder;
import dev.diffuse4j.weights.SingleFileCheckpoint;
import dev.diffuse4j.weights.TensorInfo;
import dev.diffuse4j.weights.TensorSource;
import dev.diffuse4j.weights.WeightsException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code d4j inspect PATH}: what a checkpoint holds, read from headers and configs only (no tensor data). */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's layout, model family, components, dtypes and parameter counts.")
public final class InspectCommand implements Callable<Integer> {
    private static final int SHOWN_UNKNOWN = 20;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "a single-file .safetensors checkpoint or a diffusers pipeline folder")
    Path path;

    @Option(names = "--variant", defaultValue = "prefer-fp32", converter = VariantConverter.class,
            description = "weights to read in diffusers folders: fp32, fp16, prefer-fp32 or prefer-fp16 (default: ${DEFAULT-VALUE})")
    DiffusersFolder.Variant variant;

    /** "fp16", "prefer-fp16", ... in any case. */
    static final class VariantConverter implements picocli.CommandLine.ITypeConverter<DiffusersFolder.Variant> {
        @Override
        public DiffusersFolder.Variant convert(String value) {
            String v = value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
            for (DiffusersFolder.Variant x : DiffusersFolder.Variant.values()) if (x.name().equals(v)) return x;
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not one of fp32, fp16, prefer-fp32, prefer-fp16");
        }
    }

    @Option(names = "--keys", description = "also list every tensor (key, dtype, shape)")
    boolean keys;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Checkpoint c = Checkpoints.open(path, variant)) {
            report(c, out);
            out.flush();
            return 0;
        } catch (WeightsException e) {
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.println("d4j inspect: " + e.getMessage());
            err.flush();
            return 1;
        }
    }

    private void report(Checkpoint c, PrintWriter out) {
        out.printf("checkpoint  %s%n", c.path());
        out.printf("format      %s%n", c.format());
        if (c instanceof DiffusersFolder f) {
            out.printf("pipeline    %s (variant %s)%n", f.pipelineClass(), f.variant());
            if (!f.missingComponents().isEmpty()) out.printf("missing     %s (listed in model_index.json, no folder)%n", f.missingComponents());
        }
        out.printf("family      %s%n", c.family());
        if (c instanceof SingleFileCheckpoint s && !s.file().metadata().isEmpty()) out.printf("metadata    %s%n", s.file().metadata());

        Map<Component, Stats> stats = new EnumMap<>(Component.class);
        for (Component comp : c.components()) stats.put(comp, Stats.of(c.weights(comp)));
        out.println();
        out.printf("%-15s %8s %15s %12s  %-22s %s%n", "component", "tensors", "parameters", "size", "dtypes", "from");
        Stats total = new Stats();
        for (Map.Entry<Component, Stats> e : stats.entrySet()) {
            Stats s = e.getValue();
            out.printf("%-15s %8d %,15d %12s  %-22s %s%n", e.getKey().folderName(), s.tensors, s.params, bytes(s.bytes), s.dtypes(), source(c, e.getKey()));
            total.add(s);
        }
        out.printf("%-15s %8d %,15d %12s%n", "total", total.tensors, total.params, bytes(total.bytes));

        if (c instanceof SingleFileCheckpoint s) {
            if (!s.ignoredKeys().isEmpty())
                out.printf("%nignored keys: %d (EMA copies and noise-schedule buffers left from training)%n", s.ignoredKeys().size());
            List<String> unknown = s.unknownKeys();
            Set<String> controlNet = controlNet(s, out);
            if (!controlNet.isEmpty()) unknown = unknown.stream().filter(k -> !controlNet.contains(k)).toList();
            out.printf("%nunknown keys: %d%s%n", unknown.size(), unknown.isEmpty() ? "" : " (outside every component prefix)");
            for (int i = 0; i < unknown.size() && (keys || i < SHOWN_UNKNOWN); i++) out.printf("  %s%n", describe(s.file().info(unknown.get(i))));
            if (!keys && unknown.size() > SHOWN_UNKNOWN) out.printf("  ... and %d more (--keys lists all)%n", unknown.size() - SHOWN_UNKNOWN);
        }
        if (keys) {
            for (Component comp : c.components()) {
                out.printf("%n%s:%n", comp.folderName());
                TensorSource src = c.weights(comp);
                for (String k : src.keys()) out.printf("  %s%n", describe(src.info(k)));
            }
        }
    }

    /** An original ControlNet (control_model.* or bare input_hint_block keys): reports it and returns its keys, else none. */
    private static Set<String> controlNet(SingleFileCheckpoint s, PrintWriter out) {
        String prefix = ControlNetConfigInference.prefix(s.file());
        if (prefix == null) return Set.of();
        ControlNetConfig config;
        try {
            config = ControlNetConfigInference.infer(s.file(), prefix);
        } catch (IllegalArgumentException e) {
            out.printf("%ncontrolnet  keys of a ControlNet under '%s', but not a complete one: %s%n", prefix, e.getMessage());
            return Set.of();
        }
        Set<String> keys = new java.util.HashSet<>();
        long params = 0;
        for (TensorInfo t : LdmControlNetMapping.checkpointTensors(config, prefix))
            if (s.file().contains(t.key())) {
                keys.add(t.key());
                params += t.numel();
            }
        out.printf("%ncontrolnet  %s ControlNet under '%s*': widths %s, %d-channel control images, %,d parameters (use it with --controlnet)%n",
                config.family().displayName(), prefix, config.unet().blockOutChannels(), config.conditioningChannels(), params);
        return keys;
    }

    private static String source(Checkpoint c, Component comp) {
        if (c instanceof SingleFileCheckpoint s) return s.prefix(comp) + "*";
        List<Path> files = ((DiffusersFolder) c).weightFiles(comp);
        Path root = c.path();
        return files.size() == 1 ? root.relativize(files.get(0)).toString()
                : root.relativize(files.get(0).getParent()) + "/ (" + files.size() + " shards)";
    }

    private static String describe(TensorInfo i) {
        return i.key() + " " + i.dtype() + java.util.Arrays.toString(i.shape());
    }

    private static String bytes(long b) {
        if (b < 1024) return b + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return String.format("%.2f %s", v, units[u]);
    }

    /** Counts over one component. */
    private static final class Stats {
        long tensors, params, bytes;
        final Map<DType, Integer> byDtype = new EnumMap<>(DType.class);

        static Stats of(TensorSource s) {
            Stats st = new Stats();
            for (String k : s.keys()) {
                TensorInfo i = s.info(k);
                st.tensors++;
                st.params += i.numel();
                st.bytes += i.numel() * i.dtype().byteSize();
                st.byDtype.merge(i.dtype(), 1, Integer::sum);
            }
            return st;
        }

        void add(Stats o) {
            tensors += o.tensors;
            params += o.params;
            bytes += o.bytes;
        }

        String dtypes() {
            if (byDtype.size() == 1) return byDtype.keySet().iterator().next().toString();
            List<String> parts = new ArrayList<>();
            byDtype.forEach((d, n) -> parts.add(d + " " + n));
            return String.join(", ", parts);
        }
    }
}
