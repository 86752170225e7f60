package io.mthp4j.cli;

import io.mthp4j.cli.sim.Configuration;
import io.mthp4j.cli.sim.Report;
import io.mthp4j.cli.sim.RunResult;
import io.mthp4j.cli.sim.Scenario;
import io.mthp4j.cli.sim.ScenarioException;
import io.mthp4j.cli.sim.ScenarioParser;
import io.mthp4j.cli.sim.Simulator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code mthp4j simulate [SCENARIO]}: runs a scenario on the fake kernel under each configuration and condition
 * and prints the tables (docs/cli.md). No root, nothing on this machine changes.
 */
final class SimulateCommand implements Command {

    static final String DEFAULT_SCENARIO = "default";
    private static final String DEFAULT_RESOURCE = "/io/mthp4j/cli/default.scenario";

    private final Options options = Options.builder("mthp4j simulate", "[options] [SCENARIO]", """
            Runs a host's workloads on mthp4j's fake Linux 6.18 kernel under 'always', 'never', 'always + mthp_ext'
            and 'always + tva-aware', with and without memory pressure, and prints what the model measures: folios
            by size, fallbacks, reclaim, modeled stall, memory in partly used folios. SCENARIO is a scenario file
            (format: docs/cli.md) or 'default', the built-in scenario in the shape of the seed's evaluation
            (print it with --print-scenario to start your own). No root needed; nothing on this machine changes.
            The figures are modeled, not measured (docs/fidelity.md).""")
            .positionals(1)
            .option("configs", 'c', "LIST", "configurations to run, comma-separated (default always,never,mthp-ext,tva-aware)")
            .option("condition", 'C', "NAME", "run only this condition of the scenario")
            .option("seed", 's', "N", "seed of every random choice (default: the scenario's)")
            .option("duration", 'D', "TIME", "virtual time per run, e.g. 5s (default: the scenario's)")
            .flag("json", 'j', "print the results as JSON")
            .flag("no-progress", (char) 0, "no progress bar, even on a terminal")
            .flag("print-scenario", (char) 0, "print the scenario file (the built-in one by default) and exit")
            .flag("verbose", 'v', "log the controller's decision changes to stderr")
            .build();

    @Override
    public String name() {
        return "simulate";
    }

    @Override
    public String summary() {
        return "run a host's workloads on the fake kernel under each THP configuration and print the tables";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        String source = args.positionals().isEmpty() ? DEFAULT_SCENARIO : args.positionals().get(0);
        String text = load(source);
        if (args.has("print-scenario")) {
            io.out().print(text);
            return ExitCode.OK;
        }
        Scenario scenario = ScenarioParser.parse(source, text);
        if (args.has("seed")) {
            scenario = scenario.withSeed(args.longValue("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE));
        }
        if (args.has("duration")) {
            var d = args.duration("duration", null, ChronoUnit.SECONDS);
            if (d.compareTo(scenario.step()) < 0 || d.compareTo(java.time.Duration.ofHours(1)) > 0) {
                throw args.bad("duration", args.value("duration", ""), "a duration from one step ("
                        + Units.formatDuration(scenario.step()) + ") to 1h");
            }
            scenario = scenario.withDuration(d);
        }
        if (args.has("condition")) {
            String wanted = args.value("condition", "");
            List<Scenario.Condition> only = scenario.conditions().stream().filter(c -> c.name().equals(wanted)).toList();
            if (only.isEmpty()) {
                throw args.bad("condition", wanted, "one of the scenario's conditions: "
                        + String.join(", ", scenario.conditions().stream().map(c -> "'" + c.name() + "'").toList()));
            }
            scenario = scenario.withConditions(only);
        }
        List<Configuration> configs = List.of(Configuration.values());
        if (args.has("configs")) {
            try {
                configs = Configuration.parseList(args.value("configs", ""));
            } catch (IllegalArgumentException e) {
                throw args.bad("configs", args.value("configs", ""), e.getMessage());
            }
        }
        if (args.has("verbose")) {
            System.setProperty("org.slf4j.simpleLogger.log.io.mthp4j", "info");
        }
        ProgressBar bar = io.terminal() && !args.has("no-progress") ? ProgressBar.on(io.err()) : ProgressBar.NONE;
        List<RunResult> results = new ArrayList<>();
        long steps = scenario.steps();
        long total = steps * configs.size() * scenario.conditions().size();
        long done = 0;
        try {
            for (Scenario.Condition c : scenario.conditions()) {
                for (Configuration config : configs) {
                    long before = done;
                    String what = c.name() + " / " + config.title();
                    bar.update(before, total, what);
                    results.add(Simulator.run(scenario, c, config, step -> bar.update(before + step, total, what)));
                    done += steps;
                }
            }
        } finally {
            bar.finish();
        }
        io.out().print(args.has("json") ? Report.json(scenario, configs, results) : Report.text(scenario, configs, results));
        return ExitCode.OK;
    }

    /** The scenario text: the built-in one, or a file. */
    static String load(String source) {
        if (source.equals(DEFAULT_SCENARIO)) {
            try (InputStream in = SimulateCommand.class.getResourceAsStream(DEFAULT_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("the built-in scenario " + DEFAULT_RESOURCE + " is missing from the jar");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the built-in scenario", e);
            }
        }
        Path path = Path.of(source);
        try {
            if (Files.isDirectory(path)) {
                throw new ScenarioException("cannot read scenario file '" + source + "': it is a directory; give a scenario"
                        + " file or 'default'");
            }
            return Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ScenarioException("cannot read scenario file '" + source + "': no such file; give a scenario file"
                    + " (format: docs/cli.md) or 'default'");
        } catch (IOException e) {
            throw new ScenarioException("cannot read scenario file '" + source + "': " + e.getMessage());
        }
    }
}
