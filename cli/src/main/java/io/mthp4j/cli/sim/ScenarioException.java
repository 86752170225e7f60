package io.mthp4j.cli.sim;

import io.mthp4j.cli.CliException;
import io.mthp4j.cli.ExitCode;

/** A scenario file that cannot be read or does not parse: {@code <file>:<line>: <what>; <what to do>}. */
public final class ScenarioException extends CliException {

    private static final long serialVersionUID = 1L;

    public ScenarioException(String message) {
        super(ExitCode.BAD_INPUT, message);
    }
}
