package io.mthp4j.cli;

/** The exit codes of the {@code mthp4j} command (docs/cli.md lists them). */
public final class ExitCode {

    /** Done. */
    public static final int OK = 0;
    /** The command started but failed (a kernel error, an unexpected failure). */
    public static final int FAILURE = 1;
    /** Bad command line: unknown command or option, a missing or malformed value. */
    public static final int USAGE = 2;
    /** Bad input file: a scenario that cannot be read or does not parse. */
    public static final int BAD_INPUT = 3;
    /** This host cannot do it: no root, no cgroup v2, no bpffs, a kernel without the hook. */
    public static final int UNSUPPORTED = 4;
    /** Stopped by SIGINT before it finished (128 + 2, the shell's convention). */
    public static final int INTERRUPTED = 130;

    private ExitCode() {
    }
}
