package io.mthp4j.cli;

/**
 * An error the user can fix, printed as one line ({@code mthp4j <command>: <message>}) with an exit code from
 * {@link ExitCode}. The message says what is wrong, where, and what to do.
 */
public class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** A bad command line (exit code {@value ExitCode#USAGE}). */
    public static CliException usage(String message) {
        return new CliException(ExitCode.USAGE, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
