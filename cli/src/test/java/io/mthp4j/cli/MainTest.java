package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: exit codes, one-line errors, help on every command. */
class MainTest {

    /** What one invocation printed and returned. */
    record Result(int code, String out, String err) {
        /** The error stream is exactly one line. */
        String oneErrorLine() {
            assertEquals(1, err.lines().count(), "one line on stderr: " + err);
            assertTrue(err.endsWith("\n"));
            return err.strip();
        }
    }

    static Result run(boolean terminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main().run(List.of(args), new Command.Io(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), terminal));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Result run(String... args) {
        return run(false, args);
    }

    @Test
    void noArgumentsPrintsTheUsageAndFails() {
        Result r = run();
        assertEquals(ExitCode.USAGE, r.code());
        assertTrue(r.err().startsWith("Usage: mthp4j <command> [options]"));
        assertEquals("", r.out());
    }

    @Test
    void hostEnforcementOptionsAreChecked() {
        assertTrue(run("run", "-r", "/", "-p", "mthp-ext", "--enforce", "elsewhere").oneErrorLine().contains("map or host"));
        assertTrue(run("run", "-r", "/", "-p", "headroom", "--enforce", "host", "--dry-run").oneErrorLine()
                .contains("choose one"));
        assertTrue(run("run", "-r", "/", "-p", "mthp-ext", "--state", "/tmp/x").oneErrorLine()
                .contains("belong to --enforce host"));
        assertTrue(run("run", "-r", "/", "-p", "headroom", "--headroom", "70,80", "-n").oneErrorLine()
                .contains("0 < LOW <= HIGH <= 100"));
        Result help = run("restore", "--help");
        assertEquals(ExitCode.OK, help.code());
        assertTrue(help.out().contains("--state FILE"), help.out());
    }

    @Test
    void helpAndVersion() {
        for (String[] args : new String[][] {{"--help"}, {"-h"}, {"help"}}) {
            Result r = run(args);
            assertEquals(ExitCode.OK, r.code());
            assertTrue(r.out().contains("  simulate  "), r.out());
            assertTrue(r.out().contains("Exit codes: 0 done, 1 failed, 2 bad command line, 3 bad input file"));
        }
        Result v = run("--version");
        assertEquals(ExitCode.OK, v.code());
        assertEquals("mthp4j " + Main.VERSION + "\n", v.out());
    }

    @Test
    void everyCommandHasHelp() {
        for (String name : new Main().help().lines().filter(l -> l.startsWith("  ")).map(l -> l.strip().split(" ")[0]).toList()) {
            for (String[] args : new String[][] {{name, "--help"}, {name, "-h"}, {"help", name}, {name, "--bogus", "--help"}}) {
                Result r = run(args);
                assertEquals(ExitCode.OK, r.code(), String.join(" ", args));
                assertTrue(r.out().startsWith("Usage: mthp4j " + name + " "), r.out());
                assertTrue(r.out().contains("-h, --help"));
                assertEquals("", r.err());
            }
        }
    }

    @Test
    void unknownCommandsAndOptions() {
        Result r = run("simulat");
        assertEquals(ExitCode.USAGE, r.code());
        assertEquals("mthp4j: unknown command 'simulat'; the commands are: simulate, probe, status, run, map, restore, launch (see 'mthp4j --help')",
                r.oneErrorLine());
        r = run("--frobnicate");
        assertEquals(ExitCode.USAGE, r.code());
        assertTrue(r.oneErrorLine().startsWith("mthp4j: unknown option '--frobnicate'"));
        r = run("help", "nothing");
        assertEquals(ExitCode.USAGE, r.code());
        r = run("simulate", "--colour");
        assertEquals(ExitCode.USAGE, r.code());
        assertEquals("mthp4j simulate: unknown option --colour; see 'mthp4j simulate --help'", r.oneErrorLine());
        assertEquals("", r.out());
    }

    @Test
    void badValuesAreUsageErrors() {
        Result r = run("simulate", "--configs", "always,sometimes");
        assertEquals(ExitCode.USAGE, r.code());
        assertEquals("mthp4j simulate: bad value 'always,sometimes' for --configs: expected a comma-separated list of"
                + " always, never, mthp-ext, tva-aware (got 'sometimes'); see 'mthp4j simulate --help'", r.oneErrorLine());
        r = run("simulate", "--seed", "x");
        assertEquals(ExitCode.USAGE, r.code());
        r = run("simulate", "--duration", "2h");
        assertEquals(ExitCode.USAGE, r.code());
        assertTrue(r.oneErrorLine().contains("expected a duration from one step (100ms) to 1h"), r.err());
        r = run("simulate", "--condition", "heatwave");
        assertEquals(ExitCode.USAGE, r.code());
        assertTrue(r.oneErrorLine().contains("expected one of the scenario's conditions: 'no pressure', 'memory.high', 'host memory'"));
        r = run("simulate", "a", "b");
        assertEquals(ExitCode.USAGE, r.code());
    }

    @Test
    void badScenarioFilesAreBadInput(@TempDir Path dir) throws IOException {
        Result r = run("simulate", dir.resolve("missing.scenario").toString());
        assertEquals(ExitCode.BAD_INPUT, r.code());
        assertTrue(r.oneErrorLine().endsWith("missing.scenario': no such file; give a scenario file (format: docs/cli.md) or"
                + " 'default'"), r.err());
        r = run("simulate", dir.toString());
        assertEquals(ExitCode.BAD_INPUT, r.code());
        assertTrue(r.oneErrorLine().contains("it is a directory"));
        Path bad = dir.resolve("bad.scenario");
        Files.writeString(bad, "workload w cgroup=/w\n  region r 4M access=zigzag\n");
        r = run("simulate", bad.toString());
        assertEquals(ExitCode.BAD_INPUT, r.code());
        assertEquals("mthp4j simulate: " + bad + ":2: bad access 'zigzag': expected one of sequential, random, hot,"
                + " hot:SHARE:PROBABILITY", r.oneErrorLine());
        assertEquals("", r.out());
    }

    @Test
    void printScenarioPrintsTheBuiltInOneWhichParses(@TempDir Path dir) throws IOException {
        Result r = run("simulate", "--print-scenario");
        assertEquals(ExitCode.OK, r.code());
        assertTrue(r.out().contains("workload kv cgroup=/kv"));
        Path copy = dir.resolve("copy.scenario");
        Files.writeString(copy, r.out());
        Result again = run("simulate", copy.toString(), "--print-scenario");
        assertEquals(r.out(), again.out());
    }

    @Test
    void badLinuxCommandLinesFailBeforeTouchingTheKernel() {
        String[][] cases = {
                {"run", "--policy", "mthp-ext"},
                {"run", "--root", "/"},
                {"run", "-r", "/", "-p", "sometimes"},
                {"run", "-r", "/", "-p", "mthp-ext", "--json"},
                {"run", "-r", "/", "-p", "mthp-ext", "-t", "2000", "-i", "1000"},
                {"run", "-r", "/", "-p", "mthp-ext", "-t", "soon"},
                {"run", "-r", "/", "-p", "allow-list", "-t", "100"},
                {"run", "-r", "/", "-p", "mthp-ext", "--allow", "/a"},
                {"map"},
                {"map", "frobnicate"},
                {"map", "dump", "extra"},
                {"status", "--pid", "me"},
                {"probe", "now"},
        };
        for (String[] c : cases) {
            Result r = run(c);
            assertEquals(ExitCode.USAGE, r.code(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.oneErrorLine().startsWith("mthp4j " + c[0] + ": "), r.err());
        }
    }
}
