package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.Orders;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.core.kernel.SettingsGuard;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.kernel.ThpSysfs;
import io.mthp4j.linux.LinuxKernel;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Self-registration on this machine's kernel (Linux, root; disabled with the reason elsewhere). Registrations
 * run in child JVMs; the opt-out and launcher tests switch this JVM's own prctl mode and restore it.
 *
 * <p>The pressure test follows linux-interfaces.md §5.3: a fresh cgroup v2 (for {@code memory.pressure}) holds
 * the child JVM and a thrasher; the thrasher alone is also in a fresh v1 memcg limited to 64 MiB and reads a
 * 128 MiB file at random, so it stalls on reclaim and refault and the cgroup's pressure rises. No swap, no global
 * setting is touched; the cgroups, the file and the thrasher are removed afterwards.
 */
class SelfRegistrationRealKernelTest {

    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path WORK = MODULE.resolve("target/native-test");
    static final Path THRASH_SOURCE = MODULE.resolveSibling("linux-backend").resolve("src/test/c/thrash.c");
    static final long M = 1 << 20;

    @Test
    @DisplayName("mthp_ext in a JVM under real memory pressure: prctl switches to base pages while it lasts, and back")
    void pressureSwitchesTheRealProcess() throws Exception {
        ChildJvm.assumeRealKernel();
        Path gcc = tool("gcc");
        assumeTrue(Files.exists(THRASH_SOURCE), "needs " + THRASH_SOURCE + " (the repository's linux-backend module)");
        LinuxKernel kernel = LinuxKernel.open();
        ThpSysfs sysfs = kernel.thp();
        int pmd = kernel.geometry().pmdOrder();
        Path v1Root = Path.of("/sys/fs/cgroup/memory");
        Path v2Root = Path.of("/sys/fs/cgroup/unified");
        assumeTrue(Files.exists(v1Root.resolve("memory.limit_in_bytes")) && Files.exists(v2Root.resolve("cgroup.procs")),
                "this test limits memory through cgroup v1 and watches cgroup v2 at /sys/fs/cgroup/unified (our machines)");

        Files.createDirectories(WORK);
        Path thrash = WORK.resolve("thrash");
        Process cc = new ProcessBuilder(gcc.toString(), "-O2", "-o", thrash.toString(), THRASH_SOURCE.toString()).redirectErrorStream(true).start();
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0, new String(cc.getInputStream().readAllBytes()));

        String name = "mthp4j-selfreg-" + ProcessHandle.current().pid();
        Path v1 = v1Root.resolve(name);
        Path v2 = v2Root.resolve(name);
        Path file = WORK.resolve("thrash.bin");
        Process thrasher = null;
        // The test machines' boot settings (linux-interfaces.md §6.1): madvise, 2048kB inherit, other sizes never;
        // put back whatever was there afterwards.
        try {
            try (SettingsGuard guard = SettingsGuard.record(sysfs)) {
                ThpSettings boot = guard.original().withEnabled(ThpEnabled.MADVISE)
                        .withAnonSizesEnabled(kernel.geometry().allAnonOrders(), AnonSizeEnabled.NEVER)
                        .withAnonSizeEnabled(pmd, AnonSizeEnabled.INHERIT);
                sysfs.apply(boot);
                assertTrue(Orders.contains(sysfs.read().anonMask(VmaFlag.HUGEPAGE.mask()), pmd));
                writeFile(file, 128);
                Files.createDirectory(v2);
                Files.createDirectory(v1);
                Files.writeString(v1.resolve("memory.limit_in_bytes"), Long.toString(64 * M));
                List<String> java = ChildJvm.java(List.of("-Xmx64m", "-XX:+UseSerialGC"), SelfRegChild.class, "pressure",
                        "mthp-ext:threshold=100ms,min=1M");
                try (ChildJvm child = ChildJvm.start(List.of("sh", "-c", "echo $$ > " + v2.resolve("cgroup.procs") + " && exec "
                        + String.join(" ", java.stream().map(a -> "'" + a + "'").toList())))) {
                    assertEquals("ready /" + name + " IN_PROCESS", child.await("ready", 20));
                    child.await("mode NONE", 10);
                    child.send("touch before");
                    String before = child.await("census before", 10);
                    assumeSettingsStill(sysfs, boot);
                    assertEquals("census before NONE {2097152=" + 64 * M + "}", before);

                    long start = System.nanoTime();
                    thrasher = new ProcessBuilder("sh", "-c", "echo $$ > " + v1.resolve("cgroup.procs") + " && echo $$ > "
                            + v2.resolve("cgroup.procs") + " && exec " + thrash + " " + file + " 25").redirectErrorStream(true)
                            .redirectOutput(WORK.resolve("thrash.out").toFile()).start();
                    child.await("mode DISABLED", 15);
                    long toBase = System.nanoTime() - start;
                    child.send("touch under");
                    assertEquals("census under DISABLED {4096=" + 64 * M + "}", child.await("census under", 10), "base pages while it lasts");

                    thrasher.destroy();
                    thrasher.waitFor(10, TimeUnit.SECONDS);
                    long stop = System.nanoTime();
                    child.await("mode NONE", 15);
                    long back = System.nanoTime() - stop;
                    child.send("touch after");
                    String after = child.await("census after", 10);
                    assumeSettingsStill(sysfs, boot);
                    assertEquals("census after NONE {2097152=" + 64 * M + "}", after);
                    child.send("quit");
                    assertEquals("closed mode NONE", child.await("closed mode", 10));
                    assertEquals(0, child.waitFor(10), child.output());
                    System.out.printf("real kernel: pressure -> base pages after %d ms, back %d ms after the pressure stopped%n",
                            toBase / 1_000_000, back / 1_000_000);
                    assertTrue(child.output().contains("THP allowed (no prctl) -> THP disabled (prctl PR_SET_THP_DISABLE): mthp_ext decided base pages (full stall +"),
                            child.output());
                }
            }
        } finally {
            if (thrasher != null && thrasher.isAlive()) {
                thrasher.destroyForcibly();
                thrasher.waitFor(10, TimeUnit.SECONDS);
            }
            removeWhenEmpty(v1);
            removeWhenEmpty(v2);
            Files.deleteIfExists(file);
            Files.deleteIfExists(WORK.resolve("thrash.out"));
            Files.deleteIfExists(thrash);
        }
    }

    @Test
    @DisplayName("the shutdown hook restores the original mode when the JVM exits without close")
    void shutdownHookInARealJvm() throws Exception {
        ChildJvm.assumeRealKernel();
        try (ChildJvm child = ChildJvm.start(ChildJvm.java(List.of(), SelfRegChild.class, "exit"))) {
            assertEquals("before exit DISABLED", child.await("before exit", 20));
            assertEquals(0, child.waitFor(20));
            assertTrue(child.output().contains("mthp4j registration closed at JVM shutdown; prctl mode now THP allowed (no prctl)"),
                    child.output());
        }
    }

    @Test
    @DisplayName("close restores the original mode after an exception in the body")
    void exceptionInARealJvm() throws Exception {
        ChildJvm.assumeRealKernel();
        try (ChildJvm child = ChildJvm.start(ChildJvm.java(List.of(), SelfRegChild.class, "throw"))) {
            assertEquals("in body DISABLED", child.await("in body", 20));
            assertEquals("after boom NONE", child.await("after", 10));
            assertEquals(0, child.waitFor(20));
        }
    }

    @Test
    @DisplayName("the launcher starts a child in each MemoryTHP= mode; prctl is inherited across fork and exec")
    void launcherModes() throws Exception {
        ChildJvm.assumeRealKernel();
        ThpProcess self = LinuxKernel.open().currentProcess();
        ProcessThpMode own = self.thpMode();
        for (MemoryThp m : MemoryThp.values()) {
            Process p = Launch.start(m, new ProcessBuilder(ChildJvm.java(List.of(), SelfRegChild.class, "mode")).redirectErrorStream(true));
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(own, self.thpMode(), "this JVM's mode is back after the fork");
            ProcessThpMode expected = m == MemoryThp.INHERIT ? own : m.mode();
            assertTrue(out.contains("mode " + expected), m + ": " + out);
        }
    }

    @Test
    @DisplayName("the dedicated launcher JVM: java Launch disable <command>, and a bad mode is one clear error")
    void launcherMain() throws Exception {
        ChildJvm.assumeRealKernel();
        try (ChildJvm launch = ChildJvm.start(ChildJvm.java(List.of(), Launch.class, "disable", "sh", "-c",
                "grep THP_enabled /proc/self/status; exit 7"))) {
            assertEquals(7, launch.waitFor(30), "the child's exit status");
            assertTrue(launch.output().matches("(?s).*THP_enabled:\\s+0.*"), launch.output());
        }
        try (ChildJvm bad = ChildJvm.start(ChildJvm.java(List.of(), Launch.class, "never", "true"))) {
            assertEquals(2, bad.waitFor(30));
            assertTrue(bad.output().contains("unknown THP mode \"never\"; use one of inherit, disable, madvise, system"), bad.output());
        }
    }

    @Test
    @DisplayName("opt-out on this JVM: disable, disableExceptAdvised, restore")
    void optOutOnThisJvm() {
        ChildJvm.assumeRealKernel();
        ThpProcess self = LinuxKernel.open().currentProcess();
        ProcessThpMode own = self.thpMode();
        try {
            Mthp.disable();
            assertEquals(ProcessThpMode.DISABLED, self.thpMode());
            Mthp.disableExceptAdvised();
            assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode());
            Mthp.restore();
            assertEquals(own, self.thpMode());
        } finally {
            self.setThpMode(own);
        }
    }

    @Test
    @DisplayName("the agent: -Dmthp4j.policy=disable sets the mode; a bad value is one error and the service runs on")
    void agent() throws Exception {
        ChildJvm.assumeRealKernel();
        try (ChildJvm child = ChildJvm.start(ChildJvm.java(List.of("-Dmthp4j.policy=disable"), SelfRegChild.class, "agent"))) {
            assertEquals("agent did disable", child.await("agent did", 20));
            assertEquals("mode DISABLED", child.await("mode", 10));
            assertEquals(0, child.waitFor(20));
        }
        try (ChildJvm child = ChildJvm.start(ChildJvm.java(List.of(), SelfRegChild.class, "agent", "mthp-ext:treshold=5ms"))) {
            assertTrue(child.await("agent did", 20).startsWith("agent did error: unknown parameter \"treshold\" of mthp-ext"));
            assertEquals("mode NONE", child.await("mode", 10));
            assertEquals(0, child.waitFor(20));
            assertEquals(1, child.output().lines().filter(l -> l.contains("ERROR")).count(), child.output());
        }
    }

    // ---- helpers ----

    /** THP settings are global: another process (a parallel build on the same machine) may change them under us. */
    static void assumeSettingsStill(ThpSysfs sysfs, ThpSettings expected) {
        ThpSettings now = sysfs.read();
        assumeTrue(now.equals(expected), () -> "another process changed the THP settings during the test: " + now.writesTo(expected));
    }

    static Path tool(String name) {
        for (String dir : (System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        assumeTrue(false, name + " is not installed (run scripts/setup-ci)");
        return null;
    }

    static void writeFile(Path file, int mib) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < mib; i++) {
                chunk[0] = (byte) i;
                f.write(chunk);
            }
            f.getFD().sync();
        }
    }

    /** rmdir, retrying briefly while exited tasks are still leaving the cgroup. */
    static void removeWhenEmpty(Path dir) throws IOException, InterruptedException {
        for (int i = 0; i < 50 && Files.exists(dir); i++) {
            try {
                Files.delete(dir);
            } catch (IOException busy) {
                Thread.sleep(100);
            }
        }
        if (Files.exists(dir)) {
            throw new IOException("could not remove the test cgroup " + dir);
        }
    }
}
