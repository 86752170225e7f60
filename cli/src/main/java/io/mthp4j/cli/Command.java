package io.mthp4j.cli;

import java.io.PrintStream;

/** One command of {@code mthp4j}. */
interface Command {

    /** Where a command writes: results to {@code out}, errors and progress to {@code err}. */
    record Io(PrintStream out, PrintStream err, boolean terminal) {
    }

    /** Its name on the command line. */
    String name();

    /** One line for the list of commands. */
    String summary();

    /** Its options (with {@code --help}). */
    Options options();

    /**
     * Runs it.
     *
     * @return the exit code ({@link ExitCode})
     * @throws CliException for an error the user can fix
     */
    int run(Options.Parsed args, Io io);
}
