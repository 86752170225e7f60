package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.core.host.HostThpEnforcer;
import io.mthp4j.core.kernel.SettingsGuard;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Host-wide enforcement on the real THP knobs (issue 9): the enforcer writes and restores them; a daemon (a child
 * JVM) killed with SIGKILL leaves them changed with its state file, and the next start puts them back; SIGTERM
 * restores through the shutdown hook. Every knob under {@code /sys/kernel/mm/transparent_hugepage} (counters
 * aside) is compared with its value before the test, and {@code anon_beside_full} is never written.
 */
class HostEnforcerRealKernelTest {

    static final String K64 = "hugepages-64kB/enabled";

    /**
     * The daemon: {@code restrict <state>} opens an enforcer for the 64 KiB knob, applies a base-pages decision,
     * prints READY and sleeps; {@code start <state>} opens one (restoring a leftover state file), prints the
     * knob and closes.
     */
    public static void main(String[] args) throws Exception {
        LinuxKernel k = LinuxKernel.open();
        HostThpEnforcer e = HostThpEnforcer.builder(k.thp(), k::bootTimeNanos).follow(0).orders(Orders.bit(4))
                .stateFile(Path.of(args[1])).open();
        if (args[0].equals("restrict")) {
            e.publish(0, DecisionTable.uniform(0), 1, Long.MAX_VALUE, "test: base pages");
            System.out.println("READY " + k.thp().readFile(K64).strip());
            Thread.sleep(60_000);
        } else {
            System.out.println("STARTED " + k.thp().readFile(K64).strip());
            e.close();
        }
    }

    /** Every THP settings file and its text, counters and the vendor knob's directory entries aside. */
    static Map<String, String> dump() throws IOException {
        Path root = Path.of("/sys/kernel/mm/transparent_hugepage");
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/stats/")).toList()) {
                out.put(root.relativize(p).toString(), Files.readString(p));
            }
        }
        return out;
    }

    @Test
    void theEnforcerWritesAndRestoresTheKnobsItManagesOnly() throws Exception {
        RealKernel.assumeRoot();
        LinuxKernel k = LinuxKernel.open();
        Map<String, String> before = dump();
        Path dir = Files.createTempDirectory("mthp4j-host");
        Path state = dir.resolve("host-thp.state");
        try (SettingsGuard guard = SettingsGuard.record(k.thp())) {
            k.thp().writeFile(K64, "always");
            Map<String, String> set = dump();
            try (HostThpEnforcer e = HostThpEnforcer.builder(k.thp(), k::bootTimeNanos).follow(0)
                    .orders(Orders.bit(4) | Orders.bit(9)).stateFile(state).open()) {
                e.publish(0, DecisionTable.uniform(Orders.bit(9)), 1, Long.MAX_VALUE, "test: 2M only");
                assertEquals("always inherit madvise [never]\n", k.thp().readFile(K64));
                assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(state));
                Map<String, String> during = dump();
                during.put(K64, set.get(K64));
                assertEquals(set, during, "only the 64K knob changed");
            }
            assertEquals(set, dump(), "restored on close");
            assertFalse(Files.exists(state));
        } finally {
            RealKernel.deleteTree(dir);
        }
        assertEquals(before, dump(), "every knob as found");
    }

    @Test
    void aDaemonKilledWithSigkillIsRestoredByTheNextStartAndSigtermRestoresAtOnce() throws Exception {
        RealKernel.assumeRoot();
        LinuxKernel k = LinuxKernel.open();
        Map<String, String> before = dump();
        Path dir = Files.createTempDirectory("mthp4j-host");
        Path state = dir.resolve("host-thp.state");
        try (SettingsGuard guard = SettingsGuard.record(k.thp())) {
            k.thp().writeFile(K64, "always");
            Map<String, String> set = dump();

            Process daemon = startDaemon("restrict", state);
            assertEquals("READY always inherit madvise [never]", firstLine(daemon));
            assertTrue(Files.exists(state));
            daemon.destroyForcibly(); // SIGKILL: no hook runs
            assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
            assertEquals(137, daemon.exitValue(), "killed by SIGKILL");
            assertEquals("always inherit madvise [never]\n", k.thp().readFile(K64), "a killed daemon leaves the knob");
            assertTrue(Files.readString(state).contains(K64 + " always\n"));

            Process next = startDaemon("start", state);
            assertEquals("STARTED [always] inherit madvise never", firstLine(next), "the next start restored it first");
            assertTrue(next.waitFor(20, TimeUnit.SECONDS));
            assertEquals(0, next.exitValue());
            assertFalse(Files.exists(state));
            assertEquals(set, dump());

            Process term = startDaemon("restrict", state);
            assertEquals("READY always inherit madvise [never]", firstLine(term));
            term.destroy(); // SIGTERM: the shutdown hook restores
            assertTrue(term.waitFor(20, TimeUnit.SECONDS));
            assertEquals(set, dump(), "restored by the shutdown hook");
            assertFalse(Files.exists(state));
        } finally {
            RealKernel.deleteTree(dir);
        }
        assertEquals(before, dump(), "every knob as found");
    }

    private static Process startDaemon(String mode, Path state) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(HostEnforcerRealKernelTest.class.getName());
        command.add(mode);
        command.add(state.toString());
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static String firstLine(Process p) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()));
        String line;
        while ((line = r.readLine()) != null) {
            if (line.startsWith("READY") || line.startsWith("STARTED")) {
                return line;
            }
        }
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new AssertionError("the daemon ended without a status line");
    }
}
