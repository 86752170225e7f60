package io.mthp4j.cli;

import io.mthp4j.api.KernelException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code mthp4j} command: {@code mthp4j <command> [options]}. Every command has {@code --help}; errors print
 * one line, {@code mthp4j <command>: <what>; <what to do>}, and exit with a code from {@link ExitCode}.
 */
public final class Main {

    static final String VERSION = "0.1.0-SNAPSHOT";

    private final Map<String, Command> commands = new LinkedHashMap<>();

    Main() {
        add(new SimulateCommand());
        add(new ProbeCommand());
        add(new StatusCommand());
        add(new RunCommand());
        add(new MapCommand());
        add(new RestoreCommand());
        add(new LaunchCommand());
    }

    private void add(Command c) {
        commands.put(c.name(), c);
    }

    public static void main(String[] args) {
        boolean terminal = System.console() != null;
        int code = new Main().run(Arrays.asList(args), new Command.Io(System.out, System.err, terminal));
        System.out.flush();
        System.exit(code);
    }

    /** Runs the command line; returns the exit code. */
    int run(List<String> args, Command.Io io) {
        if (args.isEmpty()) {
            io.err().print(help());
            return ExitCode.USAGE;
        }
        String first = args.get(0);
        switch (first) {
            case "-h", "--help" -> {
                io.out().print(help());
                return ExitCode.OK;
            }
            case "--version", "-V" -> {
                io.out().println("mthp4j " + VERSION);
                return ExitCode.OK;
            }
            case "help" -> {
                if (args.size() == 1) {
                    io.out().print(help());
                    return ExitCode.OK;
                }
                Command c = commands.get(args.get(1));
                if (c == null) {
                    return fail(io.err(), "mthp4j", unknownCommand(args.get(1)));
                }
                io.out().print(c.options().help());
                return ExitCode.OK;
            }
            default -> {
            }
        }
        Command c = commands.get(first);
        if (c == null) {
            return fail(io.err(), "mthp4j", unknownCommand(first));
        }
        String who = "mthp4j " + c.name();
        try {
            Options.Parsed parsed = c.options().parse(args.subList(1, args.size()));
            if (parsed.help()) {
                io.out().print(c.options().help());
                return ExitCode.OK;
            }
            return c.run(parsed, io);
        } catch (CliException e) {
            return fail(io.err(), who, e);
        } catch (KernelException e) {
            return fail(io.err(), who, Host.fromKernel(e));
        } catch (RuntimeException e) {
            io.err().println(who + ": internal error: " + e + "; please report it with the command line that caused it");
            if (System.getenv("MTHP4J_DEBUG") != null) {
                e.printStackTrace(io.err());
            }
            return ExitCode.FAILURE;
        }
    }

    private CliException unknownCommand(String name) {
        return CliException.usage((name.startsWith("-") ? "unknown option " : "unknown command ") + "'" + name
                + "'; the commands are: " + String.join(", ", commands.keySet()) + " (see 'mthp4j --help')");
    }

    private static int fail(PrintStream err, String who, CliException e) {
        err.println(who + ": " + e.getMessage());
        return e.exitCode();
    }

    String help() {
        StringBuilder b = new StringBuilder();
        b.append("Usage: mthp4j <command> [options]\n\n");
        b.append("Choose Linux multi-size THP (mTHP) sizes per workload. Commands:\n");
        int width = commands.keySet().stream().mapToInt(String::length).max().orElse(0);
        for (Command c : commands.values()) {
            b.append("  ").append(c.name()).append(" ".repeat(width - c.name().length() + 2)).append(c.summary()).append('\n');
        }
        b.append("\n'mthp4j <command> --help' describes a command. 'mthp4j --version' prints the version.\n");
        b.append("Exit codes: 0 done, 1 failed, 2 bad command line, 3 bad input file, 4 not possible on this host,\n");
        b.append("130 interrupted. Documentation: docs/cli.md.\n");
        return b.toString();
    }
}
