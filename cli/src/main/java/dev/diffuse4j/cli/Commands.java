package dev.diffuse4j.cli;

import picocli.CommandLine;

/** Registers every subcommand; one line per command keeps merges of parallel work trivial. */
final class Commands {
    private Commands() {}

    static void register(CommandLine cl) {
        // subcommands are added here, one per line
        cl.addSubcommand(new InspectCommand());
        cl.addSubcommand(new GoldensCommand());
        cl.addSubcommand(new GenerateCommand());
        cl.addSubcommand(new StyleAlignedCommand());
        cl.addSubcommand(new AttentionMapsCommand());
        cl.addSubcommand(new ImagePromptCommand());
        cl.addSubcommand(new BalanceCommand());
        cl.addSubcommand(new AnalyzeLayersCommand());
        cl.addSubcommand(new SelfCrossCommand());
        cl.addSubcommand(new DevicesCommand());
    }
}
