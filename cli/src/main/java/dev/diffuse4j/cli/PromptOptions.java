package dev.diffuse4j.cli;

import picocli.CommandLine.Option;

/** The prompt options of single-prompt commands. */
final class PromptOptions {
    @Option(names = "--prompt", required = true, description = "what to draw")
    String prompt;

    @Option(names = "--negative", description = "what to avoid")
    String negative;
}
