package io.mthp4j.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link KernelBackend} meets, run against the fake kernel and, where the host allows,
 * the real one (Jimfs style). A backend's test class extends this and supplies {@link #newBackend()}.
 * Every test that changes a THP knob restores it through {@link SettingsGuard}, also when it fails.
 */
public abstract class KernelBackendContract {

    protected KernelBackend backend;

    /** A backend for one test. */
    protected abstract KernelBackend newBackend();

    /** Releases what {@link #newBackend()} made; default nothing. */
    protected void release(KernelBackend backend) {
    }

    @BeforeEach
    void open() {
        backend = newBackend();
    }

    @AfterEach
    void close() {
        release(backend);
    }

    // ---- sysfs ----

    @Test
    void settingsReadMatchesTheFiles() {
        ThpSysfs thp = backend.thp();
        ThpSettings s = thp.read();
        assertEquals(s.geometry(), backend.geometry());
        assertEquals(s.geometry().pmdSize() + "\n", thp.readFile("hpage_pmd_size"));
        assertEquals(s.render().get("enabled"), thp.readFile("enabled"));
        int pmd = s.geometry().pmdOrder();
        assertEquals(s.render().get(s.geometry().sizeDirectory(pmd) + "/enabled"),
                thp.readFile(s.geometry().sizeDirectory(pmd) + "/enabled"));
    }

    @Test
    void absentFilesReadAsNull() {
        assertNull(backend.thp().readFile("no_such_knob"));
        assertNull(backend.thp().readFile(backend.geometry().sizeDirectory(1) + "/enabled"),
                "order 1 has shmem_enabled but no anon enabled file");
    }

    @Test
    void writesTakeEffectAndAreRestored() {
        ThpSysfs thp = backend.thp();
        ThpSettings before = thp.read();
        int order = 4;
        AnonSizeEnabled other = before.anonSizeEnabled(order) == AnonSizeEnabled.MADVISE
                ? AnonSizeEnabled.NEVER : AnonSizeEnabled.MADVISE;
        try (SettingsGuard guard = SettingsGuard.record(thp)) {
            thp.apply(before.withAnonSizeEnabled(order, other));
            assertEquals(other, thp.read().anonSizeEnabled(order));
            thp.writeFile("khugepaged/max_ptes_none", "100\n");
            assertEquals(100, thp.read().khugepaged().maxPtesNone());
        }
        assertEquals(before, thp.read());
    }

    @Test
    void badWritesFailWithEinvalAndChangeNothing() {
        ThpSysfs thp = backend.thp();
        ThpSettings before = thp.read();
        try (SettingsGuard guard = SettingsGuard.record(thp)) {
            KernelException e = assertThrows(KernelException.class, () -> thp.writeFile("enabled", "sometimes"));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("enabled"), e.getMessage());
            String pmdDir = backend.geometry().sizeDirectory(backend.geometry().pmdOrder());
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> thp.writeFile(pmdDir + "/enabled", "madvise ")).errno());
            int tooMany = backend.geometry().pmdPages();
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                    () -> thp.writeFile("khugepaged/max_ptes_none", Integer.toString(tooMany))).errno());
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> thp.writeFile("use_zero_page", "2")).errno());
        }
        assertEquals(before, thp.read());
    }

    @Test
    void sysfsStreqAcceptsOneTrailingNewline() {
        ThpSysfs thp = backend.thp();
        try (SettingsGuard guard = SettingsGuard.record(thp)) {
            ThpEnabled target = guard.original().enabled() == ThpEnabled.NEVER ? ThpEnabled.MADVISE : ThpEnabled.NEVER;
            thp.writeFile("enabled", target.sysfsName() + "\n");
            assertEquals(target, thp.read().enabled());
        }
    }

    @Test
    void perSizeCountersAreNumbers() {
        int pmd = backend.geometry().pmdOrder();
        assertTrue(backend.thp().sizeStat(pmd, "anon_fault_alloc") >= 0);
        assertTrue(backend.thp().sizeStat(pmd, "nr_anon") >= 0);
    }

    // ---- cgroups ----

    @Test
    void walkStartsAtTheRootAndVisitsParentsFirst() {
        CgroupTree tree = backend.cgroups();
        CgroupRef root = tree.root();
        assertTrue(root.isRoot());
        List<CgroupRef> all = tree.walk(root);
        assertEquals(root, all.get(0));
        for (int i = 1; i < all.size(); i++) {
            String path = all.get(i).path();
            String parent = path.substring(0, Math.max(1, path.lastIndexOf('/')));
            boolean seen = all.subList(0, i).stream().anyMatch(c -> c.path().equals(parent));
            assertTrue(seen, "parent of " + path + " comes first");
        }
    }

    @Test
    void pressureTotalsNeverDecrease() {
        CgroupRef root = backend.cgroups().root();
        Pressure first = backend.cgroups().pressure(root);
        Pressure second = backend.cgroups().pressure(root);
        assertTrue(second.some().totalMicros() >= first.some().totalMicros());
        assertTrue(second.full().totalMicros() >= first.full().totalMicros());
    }

    // ---- PSI triggers (kernel-semantics.md §10.3, linux-interfaces.md §5.2) ----

    @Test
    void psiRejectsBadTriggers() {
        Psi psi = backend.psi();
        CgroupRef root = backend.cgroups().root();
        for (long[] bad : new long[][] {{0, 2_000_000}, {2_000_001, 2_000_000}, {100_000, 0}, {100_000, 12_000_000}}) {
            KernelException e = assertThrows(KernelException.class, () -> psi.register(root, Psi.Kind.SOME, bad[0], bad[1]).close(),
                    "threshold " + bad[0] + " window " + bad[1]);
            assertEquals(Errno.EINVAL, e.errno());
        }
    }

    @Test
    void psiAcceptsTwoSecondWindows() throws Exception {
        try (PsiTrigger some = backend.psi().register(backend.cgroups().root(), Psi.Kind.SOME, 150_000, 2_000_000);
             PsiTrigger full = backend.psi().register(backend.cgroups().root(), Psi.Kind.FULL, 100_000, 2_000_000)) {
            assertNotNull(some);
            assertNotNull(full);
        }
    }

    // ---- prctl ----

    @Test
    void prctlRoundTripsAndIsRestored() {
        ThpProcess self = backend.currentProcess();
        ProcessThpMode original = self.thpMode();
        try {
            for (ProcessThpMode mode : ProcessThpMode.values()) {
                self.setThpMode(mode);
                assertEquals(mode, self.thpMode());
            }
        } finally {
            self.setThpMode(original);
        }
        assertEquals(original, self.thpMode());
    }

    @Test
    void theCurrentProcessIsInACgroupOfTheTreeThatHasTasks() {
        ThpProcess self = backend.currentProcess();
        CgroupRef own = self.cgroup();
        CgroupTree tree = backend.cgroups();
        assertTrue(tree.walk(tree.root()).contains(own), own + " is not in the walk of " + tree.root());
        assertTrue(tree.hasTasks(own), own + " holds this process, so it has tasks");
    }

    // ---- decisions ----

    @Test
    void decisionsCanBePublishedAndWithdrawn() {
        DecisionSink sink = backend.decisions();
        long later = backend.bootTimeNanos() + 60_000_000_000L;
        sink.publish(0, DecisionTable.uniform(0), 1, later);
        sink.publish(0, DecisionTable.uniform(-1L), 2, later);
        sink.withdraw(0);
        sink.withdraw(0);
        assertFalse(backend.bootTimeNanos() < 0);
    }
}
