package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.cli.MainTest.Result;
import io.mthp4j.linux.LinuxKernel;
import io.mthp4j.linux.PolicyMap;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * probe, status, run and map on this machine's kernel. Needs Linux, root, a cgroup2 mount and bpffs; each test
 * is skipped with the reason where one is missing. Everything created (a cgroup in each hierarchy, a process in
 * it, pins under bpffs) is removed afterwards.
 */
class LinuxCommandsTest {

    static final String NAME = "mthp4j-cli-test-" + ProcessHandle.current().pid();
    static Path v2;
    static Path v1Memory;
    /** A private bpffs mount for the pins of these tests (each bpffs mount is its own instance). */
    static Path bpffs;
    static Process sleeper;

    static List<String> mounts() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mounts"));
    }

    static Path mountOf(String type, String option) throws IOException {
        for (String line : mounts()) {
            String[] f = line.split(" ");
            if (f.length > 3 && f[2].equals(type) && (option == null || List.of(f[3].split(",")).contains(option))) {
                return Path.of(f[1]);
            }
        }
        return null;
    }

    @BeforeAll
    static void cgroupWithATask() throws IOException, InterruptedException {
        assumeTrue(LinuxKernel.unavailableReason() == null, "the Linux backend cannot run here: " + LinuxKernel.unavailableReason());
        assumeTrue(new com.sun.security.auth.module.UnixSystem().getUid() == 0, "needs root (bpf(2), cgroups, kpageflags)");
        Path v2Mount = mountOf("cgroup2", null);
        assumeTrue(v2Mount != null, "no cgroup2 mount");
        bpffs = Files.createTempDirectory("mthp4j-cli-bpffs-");
        if (new ProcessBuilder("mount", "-t", "bpf", "bpf", bpffs.toString()).inheritIO().start().waitFor() != 0) {
            Files.delete(bpffs);
            bpffs = null;
        }
        Path v1 = mountOf("cgroup", "memory");
        try {
            v2 = Files.createDirectory(v2Mount.resolve(NAME));
            v1Memory = v1 == null ? null : Files.createDirectory(v1.resolve(NAME));
            sleeper = new ProcessBuilder("sleep", "600").start();
            String pid = Long.toString(sleeper.pid());
            Files.writeString(v2.resolve("cgroup.procs"), pid);
            if (v1Memory != null) {
                Files.writeString(v1Memory.resolve("cgroup.procs"), pid);
            }
        } catch (IOException e) {
            assumeTrue(false, "cannot make a cgroup with a task here (" + e + "); the real-kernel tests need a writable cgroup2");
        }
    }

    @AfterAll
    static void removeIt() throws Exception {
        if (sleeper != null) {
            sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (bpffs != null) {
            new ProcessBuilder("umount", bpffs.toString()).inheritIO().start().waitFor();
            Files.delete(bpffs);
        }
        for (Path p : new Path[] {v2, v1Memory}) {
            if (p != null) {
                for (int i = 0; i < 50 && Files.exists(p); i++) { // rmdir fails until the killed task is gone
                    try {
                        Files.delete(p);
                    } catch (IOException e) {
                        Thread.sleep(100);
                    }
                }
            }
        }
    }

    @Test
    void probeReportsThisKernel() {
        Result r = MainTest.run("probe");
        assertEquals(ExitCode.OK, r.code(), r.err());
        assertTrue(r.out().startsWith("mthp4j capability probe: Linux "), r.out());
        assertTrue(r.out().contains("BPF-THP hook"));
        Result j = MainTest.run("probe", "--json");
        assertTrue(j.out().contains("\"kernel_release\": \"" + System.getProperty("os.version") + "\""), j.out());
        assertTrue(j.out().contains("\"mthp_sizes\": "));
    }

    @Test
    void statusShowsSettingsCountersAndAProcesssFolios() {
        Result r = MainTest.run("status", "--pid", Long.toString(ProcessHandle.current().pid()));
        assertEquals(ExitCode.OK, r.code(), r.err());
        assertTrue(r.out().startsWith("THP settings (/sys/kernel/mm/transparent_hugepage)\n  enabled "), r.out());
        assertTrue(r.out().contains("\n  2M "), "a row per size");
        assertTrue(r.out().contains("Folios of process " + ProcessHandle.current().pid()));
        assertTrue(r.out().lines().anyMatch(l -> l.matches("  4K\\s+\\d+\\s+\\S+")), "this JVM has base pages: " + r.out());
        Result j = MainTest.run("status", "-j");
        assertTrue(j.out().contains("\"sizes\": ["));
        assertTrue(!j.out().contains("\"census\""));
    }

    @Test
    void statusOfAProcessThatDoesNotExist() {
        Result r = MainTest.run("status", "--pid", "2147483647");
        assertEquals(ExitCode.FAILURE, r.code());
        assertTrue(r.oneErrorLine().startsWith("mthp4j status: "), r.err());
    }

    @Test
    void dryRunPrintsEachDecisionChangeAndWithdrawsAtTheEnd() {
        Result r = MainTest.run("run", "--root", v2.toString(), "--policy", "mthp-ext", "--dry-run", "--for", "1s");
        assertEquals(ExitCode.OK, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).matches(" *\\+\\d+\\.\\d{3}s  /" + NAME + ": no opinion -> order=9"), r.out());
        assertTrue(lines.get(lines.size() - 1).endsWith("/" + NAME + ": order=9 -> withdrawn"), r.out());
        assertTrue(r.err().contains("dry run: decisions printed, nothing published"));
        assertTrue(r.err().contains("every decision withdrawn"));
        Result j = MainTest.run("run", "-r", "/" + NAME, "-p", "allow-list", "-a", "/elsewhere", "-n", "-j", "--for", "1s");
        assertEquals(ExitCode.OK, j.code(), j.err());
        assertTrue(j.out().startsWith("{\"t_s\":"), j.out());
        assertTrue(j.out().contains("\"cgroup\":\"/" + NAME + "\",\"id\":"), j.out());
        assertTrue(j.out().contains("\"before\":\"no opinion\",\"after\":\"order=0\""), "not listed: base pages: " + j.out());
    }

    static void deleteTree(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** --enforce host with the headroom policy: starts, applies nothing while there is headroom, restores on stop. */
    @Test
    void enforceHostStopsLeavingTheKnobsAsFound() throws Exception {
        io.mthp4j.api.ThpSettings before;
        try (LinuxKernel k = LinuxKernel.open()) {
            before = k.thp().read();
        }
        Path state = Files.createTempDirectory("mthp4j-cli").resolve("host-thp.state");
        try {
            Result r = MainTest.run("run", "--root", "/" + NAME, "--policy", "headroom", "--enforce", "host", "--state",
                    state.toString(), "--relax-after", "1s", "--for", "2s");
            assertEquals(ExitCode.OK, r.code(), r.err());
            assertTrue(r.err().contains("enforcing /" + NAME + "'s decision on the THP knobs"), r.err());
            assertTrue(Files.notExists(state), "the state file goes with a clean stop");
            try (LinuxKernel k = LinuxKernel.open()) {
                assertEquals(before, k.thp().read(), "every knob as found");
            }
        } finally {
            deleteTree(state.getParent()); // the state file and the enforcer's lock file
        }
    }

    /** What a daemon killed with SIGKILL leaves behind, put back by 'mthp4j restore'. */
    @Test
    void restorePutsBackWhatAKilledDaemonLeft() throws Exception {
        Path state = Files.createTempDirectory("mthp4j-cli").resolve("host-thp.state");
        try (LinuxKernel k = LinuxKernel.open();
             io.mthp4j.core.kernel.SettingsGuard guard = io.mthp4j.core.kernel.SettingsGuard.record(k.thp())) {
            io.mthp4j.core.host.HostThpEnforcer enforcer = io.mthp4j.core.host.HostThpEnforcer
                    .builder(k.thp(), k::bootTimeNanos).follow(7).stateFile(state).shutdownHook(false).open();
            int pmd = k.geometry().pmdOrder();
            enforcer.publish(7, io.mthp4j.api.DecisionTable.uniform(io.mthp4j.api.Orders.upTo(pmd) & ~io.mthp4j.api.Orders.bit(pmd)),
                    1, Long.MAX_VALUE);
            String knob = k.geometry().sizeDirectory(pmd) + "/enabled";
            assertTrue(k.thp().readFile(knob).contains("[never]"), "the enforcer refused the PMD size");
            enforcer.abandon(); // as SIGKILL would
            assertTrue(Files.exists(state));
            Result r = MainTest.run("restore", "--state", state.toString());
            assertEquals(ExitCode.OK, r.code(), r.err());
            assertTrue(r.out().contains("restored " + knob), r.out());
            assertEquals(guard.original(), k.thp().read(), "every knob as found");
            Result again = MainTest.run("restore", "--state", state.toString());
            assertTrue(again.out().startsWith("nothing to restore"), again.out());
        } finally {
            deleteTree(state.getParent()); // the state file and the enforcer's lock file
        }
    }

    @Test
    void runPublishesToThePinnedMapAndMapDumpsAndClearsIt() throws Exception {
        assumeTrue(bpffs != null, "bpffs could not be mounted");
        Path dir = bpffs.resolve(NAME);
        Path pin = dir.resolve("policy");
        try {
            List<Result> run = new ArrayList<>();
            Thread t = new Thread(() -> run.add(MainTest.run("run", "-r", v2.toString(), "-p", "tva-aware", "--pin", pin.toString(),
                    "--for", "3s")));
            t.start();
            Result dump = null;
            for (int i = 0; i < 50; i++) {
                Thread.sleep(100);
                dump = MainTest.run("map", "dump", "--pin", pin.toString(), "--json");
                if (dump.code() == ExitCode.OK && dump.out().contains("\"cgroup\": \"/" + NAME + "\"")) {
                    break;
                }
            }
            assertTrue(dump.out().contains("\"cgroup\": \"/" + NAME + "\",\n      \"applies\": true"), dump.out() + dump.err());
            assertTrue(dump.out().contains("\"decision\": \"order=9\""), dump.out());
            Result text = MainTest.run("map", "dump", "--pin", pin.toString());
            assertTrue(text.out().startsWith("policy map " + pin + ": "), text.out());
            t.join(20_000);
            assertEquals(ExitCode.OK, run.get(0).code(), run.get(0).err());
            assertTrue(run.get(0).err().contains("publishing to " + pin));
            assertEquals("policy map " + pin + ": 0 entries\n", MainTest.run("map", "dump", "--pin", pin.toString()).out(),
                    "the controller withdrew its decisions");
            Result clear = MainTest.run("map", "clear", "--pin", pin.toString());
            assertEquals(ExitCode.OK, clear.code());
            assertEquals("removed 0 entries from " + pin + "\n", clear.out());
            assertEquals("{\n  \"pin\": \"" + pin + "\",\n  \"removed\": 0\n}\n",
                    MainTest.run("map", "clear", "--pin", pin.toString(), "--json").out());
        } finally {
            PolicyMap.unpin(pin);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void mapRefusesAMapOfAnotherLayout() throws Exception {
        assumeTrue(bpffs != null, "bpffs could not be mounted");
        Path pin = bpffs.resolve(NAME + "-other");
        Process p;
        try {
            p = new ProcessBuilder("bpftool", "map", "create", pin.toString(), "type", "hash", "key", "8", "value", "8",
                    "entries", "4", "name", "not_mthp4j").redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "bpftool is not installed (scripts/setup-ci installs it)");
            return;
        }
        try {
            assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            for (String action : new String[] {"dump", "clear"}) {
                Result r = MainTest.run("map", action, "--pin", pin.toString());
                assertEquals(ExitCode.BAD_INPUT, r.code(), r.err());
                assertTrue(r.oneErrorLine().contains("is not an mthp4j policy map of layout 1: "), r.err());
            }
            Result run = MainTest.run("run", "-r", "/" + NAME, "-p", "mthp-ext", "--pin", pin.toString(), "--for", "1s");
            assertEquals(ExitCode.BAD_INPUT, run.code(), run.err());
        } finally {
            Files.deleteIfExists(pin);
        }
    }

    @Test
    void nothingPinnedOrNoBpffs() {
        assumeTrue(bpffs != null, "bpffs could not be mounted");
        Result r = MainTest.run("map", "dump", "--pin", bpffs.resolve("none").toString());
        assertEquals(ExitCode.FAILURE, r.code());
        assertTrue(r.oneErrorLine().contains("nothing is pinned at"), r.err());
        Result none = MainTest.run("map", "dump", "--pin", "/tmp/" + NAME + "/policy");
        assertEquals(ExitCode.UNSUPPORTED, none.code());
        assertTrue(none.oneErrorLine().contains("no bpffs is mounted at or above /tmp/" + NAME + "/policy; mount one with:"));
        Result run = MainTest.run("run", "-r", "/", "-p", "mthp-ext", "--pin", "/tmp/" + NAME + "/policy", "--for", "1s");
        assertEquals(ExitCode.UNSUPPORTED, run.code());
    }

    @Test
    void sigtermStopsTheControllerCleanly() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "-r",
                v2.toString(), "-p", "mthp-ext", "--dry-run").start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String first = out.readLine();
            assertTrue(first != null && first.endsWith("/" + NAME + ": no opinion -> order=9"), first);
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor()); // not destroy(): it closes the pipes
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertEquals(143, p.exitValue(), "128 + SIGTERM");
            assertTrue(out.readLine().endsWith("/" + NAME + ": order=9 -> withdrawn"));
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(err.contains("every decision withdrawn"), err);
        } finally {
            p.destroyForcibly();
        }
    }
}
