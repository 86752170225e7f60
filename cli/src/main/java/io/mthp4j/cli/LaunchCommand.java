package io.mthp4j.cli;

import io.mthp4j.linux.LinuxKernel;
import io.mthp4j.runtime.Launch;
import io.mthp4j.runtime.MemoryThp;
import java.io.IOException;
import java.util.List;

/**
 * {@code mthp4j launch MODE -- COMMAND [ARGS...]}: runs a command with a THP mode, like systemd's
 * {@code MemoryTHP=} (runtime's {@link Launch}; docs/self-registration.md).
 */
final class LaunchCommand implements Command {

    private final Options options = Options.builder("mthp4j launch", "MODE -- COMMAND [ARGS...]", """
            Runs COMMAND with a THP mode set by prctl, which it inherits across fork and exec, like systemd's
            MemoryTHP=. MODE: inherit (keep this process's), disable (PR_SET_THP_DISABLE: no THP at all), madvise
            (THP only where MADV_HUGEPAGE was given; Linux 6.18+), system (clear it: the sysfs settings decide).
            COMMAND gets this terminal's streams; SIGTERM and SIGINT are passed on to it; the exit status is
            COMMAND's. Put -- before COMMAND so that its options are not read as launch's.""")
            .positionals(Integer.MAX_VALUE)
            .build();

    @Override
    public String name() {
        return "launch";
    }

    @Override
    public String summary() {
        return "run a command with a THP mode (inherit, disable, madvise, system), like systemd's MemoryTHP=";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        List<String> rest = args.positionals();
        if (rest.size() < 2) {
            throw CliException.usage("needs a mode and a command: mthp4j launch MODE -- COMMAND [ARGS...]");
        }
        MemoryThp mode;
        try {
            mode = MemoryThp.parse(rest.get(0));
        } catch (IllegalArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        String why = LinuxKernel.unavailableReason();
        if (why != null && mode != MemoryThp.INHERIT) {
            throw new CliException(ExitCode.UNSUPPORTED, "prctl needs Linux: " + why);
        }
        List<String> command = rest.subList(1, rest.size());
        try {
            return Launch.run(mode, command);
        } catch (IOException e) {
            throw new CliException(ExitCode.FAILURE, "could not start " + String.join(" ", command) + ": " + e.getMessage()
                    + "; check the command name and PATH");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ExitCode.INTERRUPTED;
        }
    }
}
