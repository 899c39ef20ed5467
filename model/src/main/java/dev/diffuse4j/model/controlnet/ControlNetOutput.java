package dev.diffuse4j.model.controlnet;

import dev.diffuse4j.runtime.Tensor;

import java.util.List;

/**
 * What a ControlNet adds to a UNet: one residual per down-path skip (in push order) and one for the
 * mid block's output, already multiplied by the conditioning scale. Pass them to
 * {@code UNetInput.withControl(down(), mid())}. Owns its tensors.
 */
public record ControlNetOutput(List<Tensor> down, Tensor mid) implements AutoCloseable {
    public ControlNetOutput {
        down = List.copyOf(down);
    }

    @Override
    public void close() {
        for (Tensor t : down) t.close();
        mid.close();
    }
}
