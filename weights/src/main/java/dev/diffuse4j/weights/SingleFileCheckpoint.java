package dev.diffuse4j.weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A single-file LDM/SGM checkpoint (.safetensors): every component in one file, told apart by key
 * prefix (see {@link Component#singleFilePrefixes()}). Component sources keep the full original key
 * names; the models' single-file mappings translate them. Keys under no component prefix are either
 * known leftovers of training (EMA copies, noise-schedule buffers: {@link #ignoredKeys()}) or
 * {@link #unknownKeys()}.
 */
public final class SingleFileCheckpoint implements Checkpoint {
    /** Training leftovers at the top level of LDM/SGM checkpoints; never model parameters. */
    private static final Set<String> SCHEDULE_BUFFERS = Set.of(
            "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
            "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
            "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
            "logvar", "denoiser.sigmas", "denoiser.log_sigmas");

    private final SafetensorsFile file;
    private final Map<Component, String> prefixes = new EnumMap<>(Component.class);
    private final Map<Component, Set<String>> keysOf = new EnumMap<>(Component.class);
    private final List<String> ignored = new ArrayList<>();
    private final List<String> unknown = new ArrayList<>();
    private final ModelFamily.Detection family;

    private SingleFileCheckpoint(SafetensorsFile file) {
        this.file = file;
        for (Component c : Component.values()) {
            for (String p : c.singleFilePrefixes()) {
                Set<String> keys = new LinkedHashSet<>();
                for (String k : file.keys()) if (k.startsWith(p)) keys.add(k);
                if (!keys.isEmpty()) {
                    prefixes.put(c, p);
                    keysOf.put(c, keys);
                    break;
                }
            }
        }
        for (String k : file.keys()) {
            if (component(k) != null) continue;
            if (k.startsWith("model_ema.") || SCHEDULE_BUFFERS.contains(k)) ignored.add(k);
            else unknown.add(k);
        }
        this.family = FamilyDetector.fromSingleFile(file);
    }

    public static SingleFileCheckpoint open(Path path) {
        SafetensorsFile f = SafetensorsFile.open(path);
        try {
            return new SingleFileCheckpoint(f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    @Override
    public Path path() { return file.path(); }

    @Override
    public String format() { return "single-file checkpoint (LDM/SGM key names)"; }

    /** The whole file. */
    public SafetensorsFile file() { return file; }

    @Override
    public ModelFamily.Detection family() { return family; }

    @Override
    public Set<Component> components() { return Collections.unmodifiableSet(keysOf.keySet()); }

    /** The key prefix a component uses in this file (e.g. "conditioner.embedders.0.transformer." for SDXL's CLIP-L). */
    public String prefix(Component c) {
        requireComponent(c);
        return prefixes.get(c);
    }

    /** The component's tensors under their full original keys. */
    @Override
    public TensorSource weights(Component c) {
        requireComponent(c);
        return new KeySubset(file, keysOf.get(c), file.path() + " [" + c.folderName() + ": " + prefixes.get(c) + "*]");
    }

    /** The component a key belongs to in this file, or null. */
    public Component component(String key) {
        for (Map.Entry<Component, String> e : prefixes.entrySet()) if (key.startsWith(e.getValue())) return e.getKey();
        return null;
    }

    /** Keys outside every component that are known training leftovers (EMA weights, schedule buffers). */
    public List<String> ignoredKeys() { return Collections.unmodifiableList(ignored); }

    /** Keys outside every component prefix that are not known leftovers either. */
    public List<String> unknownKeys() { return Collections.unmodifiableList(unknown); }

    private void requireComponent(Component c) {
        if (!keysOf.containsKey(c))
            throw new WeightsException(file.path() + " has no " + c.folderName() + " weights (no keys starting with "
                    + String.join(" or ", c.singleFilePrefixes()) + "); it has " + components());
    }

    @Override
    public void close() { file.close(); }

    @Override
    public String toString() { return "SingleFileCheckpoint(" + file.path() + ")"; }
}
