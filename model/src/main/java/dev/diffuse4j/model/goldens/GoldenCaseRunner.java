package dev.diffuse4j.model.goldens;

import dev.diffuse4j.runtime.Device;

import java.util.List;
import java.util.Set;

/**
 * Runs the cases of one or more manifest kinds ("unet", "vae_decoder", "clip_text", "tokenizer", ...).
 * Implementations are listed in META-INF/services/dev.diffuse4j.model.goldens.GoldenCaseRunner.
 */
public interface GoldenCaseRunner {
    Set<String> kinds();

    /** Runs the case on the device and compares every output; throws with the reason if it cannot run. */
    List<Comparison> run(GoldenCase c, Device device) throws Exception;
}
