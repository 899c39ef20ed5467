package dev.diffuse4j.weights;

import java.nio.file.Path;
import java.util.Set;

/**
 * An opened Stable Diffusion checkpoint in either layout. The checkpoint owns its files: the
 * component sources it hands out (and the tensors read from them) are valid until it is closed;
 * closing a component source is allowed and does nothing.
 */
public sealed interface Checkpoint extends AutoCloseable permits DiffusersFolder, SingleFileCheckpoint {
    /** The folder or file that was opened. */
    Path path();

    /** "diffusers folder" or "single-file checkpoint (LDM/SGM key names)". */
    String format();

    /** SD1.5, SDXL base or unknown, with the evidence. */
    ModelFamily.Detection family();

    /** The weight-bearing components present. */
    Set<Component> components();

    default boolean has(Component c) { return components().contains(c); }

    /**
     * A component's tensors. Diffusers folders use diffusers/transformers key names; single files keep
     * their full original keys (e.g. {@code model.diffusion_model.input_blocks.0.0.weight}).
     */
    TensorSource weights(Component c);

    @Override
    void close();
}
