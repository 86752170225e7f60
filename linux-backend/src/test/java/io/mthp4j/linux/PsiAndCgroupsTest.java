package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * cgroups and PSI triggers on the real kernel (linux-interfaces.md §4, §5). The cgroups a test makes (v2, and v1
 * memory with the same name) are removed afterwards.
 */
class PsiAndCgroupsTest {

    private LinuxKernel kernel;
    private String name;

    @BeforeEach
    void open() {
        RealKernel.assumeRoot();
        kernel = LinuxKernel.open();
        name = "/mthp4j-test-" + ProcessHandle.current().pid();
    }

    @AfterEach
    void removeCgroups() throws Exception {
        if (kernel == null) {
            return;
        }
        Files.deleteIfExists(kernel.linuxCgroups().v2Root().resolve(name.substring(1) + "/child"));
        Files.deleteIfExists(kernel.linuxCgroups().v2Root().resolve(name.substring(1)));
        if (kernel.linuxCgroups().v1MemoryRoot() != null) {
            Files.deleteIfExists(kernel.linuxCgroups().v1MemoryRoot().resolve(name.substring(1)));
        }
    }

    @Test
    void newAndRemovedCgroupsAreSeenAndIdsAreInodes() throws Exception {
        LinuxCgroups tree = kernel.linuxCgroups();
        CgroupRef cg = tree.mkdir(name);
        CgroupRef child = tree.mkdir(name + "/child");
        assertEquals(Files.getAttribute(tree.v2Root().resolve(name.substring(1)), "unix:ino"), cg.id());
        List<CgroupRef> walk = tree.walk(tree.root());
        assertTrue(walk.indexOf(cg) >= 0 && walk.indexOf(cg) < walk.indexOf(child), walk.toString());
        assertEquals(List.of(cg, child), tree.walk(cg));
        assertFalse(tree.hasTasks(cg));
        assertEquals(0, tree.pressure(cg).some().totalMicros(), "no tasks, no stall");

        tree.rmdir(child);
        assertFalse(tree.walk(tree.root()).contains(child));
        KernelException gone = assertThrows(KernelException.class, () -> tree.pressure(child));
        assertEquals(Errno.ENOENT, gone.errno());

        CgroupRef again = tree.mkdir(name + "/child");
        assertNotEquals(child.id(), again.id(), "ids are not reused");
        KernelException stale = assertThrows(KernelException.class, () -> tree.walk(child));
        assertEquals(Errno.ENOENT, stale.errno(), "a path that now holds a new cgroup is not the old one");
        tree.rmdir(again);
    }

    @Test
    void memoryComesFromWhereTheControllerIs() throws Exception {
        LinuxCgroups tree = kernel.linuxCgroups();
        CgroupMemory root = tree.memory(tree.root());
        assertTrue(root.current() > 0, root.toString());
        CgroupRef cg = tree.mkdir(name);
        if (tree.memoryOnV2() || tree.v1MemoryRoot() == null) {
            return; // covered by the root read above
        }
        KernelException none = assertThrows(KernelException.class, () -> tree.memory(cg));
        assertEquals(Errno.ENOENT, none.errno());
        assertTrue(none.getMessage().contains("no memory controller"), none.getMessage());
        Path v1 = tree.v1MemoryRoot().resolve(name.substring(1));
        Files.createDirectory(v1);
        Files.writeString(v1.resolve("memory.limit_in_bytes"), "67108864");
        CgroupMemory m = tree.memory(cg);
        assertEquals(64L << 20, m.max());
        assertEquals(CgroupMemory.NO_LIMIT, m.high(), "v1 has no memory.high");
        assertEquals(0, m.anonAndShmem());
    }

    @Test
    void triggersFollowTheKernelsRules() throws Exception {
        LinuxPsi psi = kernel.linuxPsi();
        assumeTrue(Files.isReadable(LinuxCgroups.SYSTEM_PRESSURE), "PSI is off (boot with psi=1)");
        CgroupRef cg = kernel.linuxCgroups().mkdir(name);
        for (CgroupRef target : List.of(kernel.cgroups().root(), cg)) {
            if (!psi.privileged()) {
                KernelException oneSecond = assertThrows(KernelException.class, () -> psi.register(target, Psi.Kind.SOME, 150_000, 1_000_000));
                assertEquals(Errno.EINVAL, oneSecond.errno());
                assertTrue(oneSecond.getMessage().contains("multiple of 2 s"), oneSecond.getMessage());
            }
            try (PsiTrigger adapted = psi.registerAdapted(target, Psi.Kind.SOME, 150_000, 1_000_000)) {
                String expected = psi.privileged() ? "some 150000 1000000" : "some 300000 2000000";
                assertTrue(adapted.toString().contains(expected), adapted + " registered as " + expected);
            }
            try (LinuxPsi.LinuxPsiTrigger t = (LinuxPsi.LinuxPsiTrigger) psi.register(target, Psi.Kind.FULL, 2_000_000, 2_000_000)) {
                KernelException busy = assertThrows(KernelException.class, () -> t.writeAnother("some 150000 2000000"));
                assertEquals(Errno.EBUSY, busy.errno(), "one trigger per descriptor");
            }
        }
        int fds = RealKernel.openFds();
        assertThrows(KernelException.class, () -> psi.register(cg, Psi.Kind.SOME, 0, 2_000_000));
        assertEquals(fds, RealKernel.openFds(), "a refused trigger's descriptor is closed");
    }

    @Test
    void theWatcherStopsCleanlyAndAClosedTriggerIsNotASpin() throws Exception {
        assumeTrue(Files.isReadable(LinuxCgroups.SYSTEM_PRESSURE), "PSI is off (boot with psi=1)");
        CgroupRef cg = kernel.linuxCgroups().mkdir(name);
        AtomicInteger events = new AtomicInteger();
        // 2 s of full stall in a 2 s window of an empty cgroup cannot happen: no events while we watch
        PsiTrigger trigger = kernel.psi().register(cg, Psi.Kind.FULL, 2_000_000, 2_000_000);
        PsiWatcher watcher = PsiWatcher.start(List.of(trigger), t -> events.incrementAndGet());
        assertTrue(watcher.isRunning());
        assertFalse(trigger.await(Duration.ofMillis(50)));
        watcher.close();
        watcher.close();
        assertFalse(watcher.isRunning());
        assertEquals(null, watcher.failure());
        assertEquals(0, events.get());
        trigger.close();
        assertThrows(IllegalStateException.class, () -> trigger.await(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> PsiWatcher.start(List.of(new PsiTrigger() {
            @Override
            public boolean await(Duration timeout) {
                return false;
            }

            @Override
            public void close() {
            }
        }), t -> { }));
    }

    @Test
    void interruptsEndAWait() throws Exception {
        assumeTrue(Files.isReadable(LinuxCgroups.SYSTEM_PRESSURE), "PSI is off (boot with psi=1)");
        try (PsiTrigger t = kernel.psi().register(kernel.cgroups().root(), Psi.Kind.FULL, 2_000_000, 2_000_000)) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> t.await(Duration.ofSeconds(30)));
            assertFalse(Thread.interrupted());
        }
    }
}
