package dev.diffuse4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code d4j} command line. */
@Command(name = "d4j", mixinStandardHelpOptions = true, version = "diffuse4j 0.1.0",
        description = "Stable Diffusion 1.5 / SDXL on the JVM, with first-class attention control.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command tree; tests run commands through it without exiting the JVM. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        Commands.register(cl);
        cl.setExecutionExceptionHandler(Main::reportError);
        return cl;
    }

    /**
     * Errors a user can act on (bad arguments, bad files, missing models) print one clear line and exit 1;
     * set D4J_DEBUG=1 for the stack trace.
     */
    static int reportError(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        String msg = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
        cmd.getErr().println("d4j " + cmd.getCommandName() + ": " + msg);
        if (System.getenv("D4J_DEBUG") != null || !(ex instanceof IllegalArgumentException || ex instanceof IllegalStateException
                || ex instanceof java.io.IOException || ex instanceof RuntimeException && ex.getClass().getName().startsWith("dev.diffuse4j")))
            ex.printStackTrace(cmd.getErr());
        return 1;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
