package io.mthp4j.api;

import static io.mthp4j.api.ApiGens.EXAMPLES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ThpSettingsWritesTest {

    private static final PageGeometry X86 = PageGeometry.X86_64_4K;
    private static final ThpSettings DEFAULTS = ThpSettings.defaults(X86);

    private static ThpSettings.Write w(String path, String value) {
        return new ThpSettings.Write(path, value);
    }

    @Test
    void noChangeNoWrites() {
        assertEquals(List.of(), DEFAULTS.writesTo(DEFAULTS));
        ThpSettings odd = DEFAULTS.withEnabled(ThpEnabled.NEVER).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
        assertEquals(List.of(), odd.writesTo(odd));
    }

    @Test
    void onlyTheDifferingFilesAreWritten() {
        assertEquals(List.of(w("enabled", "always")), DEFAULTS.writesTo(DEFAULTS.withEnabled(ThpEnabled.ALWAYS)));
        assertEquals(List.of(w("defrag", "defer+madvise")), DEFAULTS.writesTo(DEFAULTS.withDefrag(ThpDefrag.DEFER_MADVISE)));
        assertEquals(List.of(w("use_zero_page", "0")), DEFAULTS.writesTo(DEFAULTS.withUseZeroPage(false)));
        assertEquals(List.of(w("hugepages-64kB/enabled", "always")),
                DEFAULTS.writesTo(DEFAULTS.withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS)));
        assertEquals(List.of(w("hugepages-8kB/shmem_enabled", "within_size")),
                DEFAULTS.writesTo(DEFAULTS.withShmemSizeEnabled(1, ShmemSizeEnabled.WITHIN_SIZE)));
        assertEquals(List.of(w("khugepaged/max_ptes_none", "0"), w("khugepaged/max_ptes_shared", "7")),
                DEFAULTS.writesTo(DEFAULTS.withKhugepaged(DEFAULTS.khugepaged().withMaxPtesNone(0).withMaxPtesShared(7))));
    }

    @Test
    void restoringTheOriginalWritesBackEachChangedFile() {
        ThpSettings changed = DEFAULTS.withEnabled(ThpEnabled.ALWAYS)
                .withAnonSizeEnabled(9, AnonSizeEnabled.NEVER)
                .withAnonSizeEnabled(4, AnonSizeEnabled.INHERIT)
                .withKhugepaged(DEFAULTS.khugepaged().withScanSleepMillis(100));
        List<ThpSettings.Write> restore = changed.writesTo(DEFAULTS);
        assertEquals(Set.of(w("enabled", "madvise"), w("hugepages-2048kB/enabled", "inherit"),
                w("hugepages-64kB/enabled", "never"), w("khugepaged/scan_sleep_millisecs", "10000")), new HashSet<>(restore));
        assertEquals(4, restore.size());
    }

    @Test
    void forceIsWrittenLastAndLeavingForceFirst() {
        ThpSettings force = DEFAULTS.withShmemEnabled(ShmemEnabled.FORCE).withShmemSizeEnabled(4, ShmemSizeEnabled.ALWAYS);
        List<ThpSettings.Write> in = DEFAULTS.withShmemSizeEnabled(4, ShmemSizeEnabled.INHERIT).writesTo(force);
        assertEquals(List.of(w("hugepages-64kB/shmem_enabled", "always"), w("shmem_enabled", "force")), in);

        ThpSettings inheritAll = DEFAULTS.withShmemSizeEnabled(4, ShmemSizeEnabled.INHERIT);
        List<ThpSettings.Write> out = force.writesTo(inheritAll);
        assertEquals(List.of(w("shmem_enabled", "never"), w("hugepages-64kB/shmem_enabled", "inherit")), out);
    }

    @Test
    void forceWithThePmdSizeNotInheritingIsReachable() {
        // Under force the PMD size may be set to never (the kernel only guards inherit writes and the force write),
        // so this is a state a machine can be in; restoring it must pass through PMD = inherit.
        ThpSettings target = DEFAULTS.withShmemEnabled(ShmemEnabled.FORCE).withShmemSizeEnabled(9, ShmemSizeEnabled.NEVER);
        SimulatedSysfs sysfs = new SimulatedSysfs(X86, DEFAULTS.withShmemSizeEnabled(9, ShmemSizeEnabled.ALWAYS).render());
        sysfs.apply(DEFAULTS.withShmemSizeEnabled(9, ShmemSizeEnabled.ALWAYS).writesTo(target));
        assertEquals(target.render(), sysfs.settingsFiles());
        assertEquals(target, ThpSettings.read(X86, sysfs));
    }

    @Test
    void theSimulatedSysfsEnforcesTheShmemRules() {
        // force is refused while a non-PMD size inherits ...
        SimulatedSysfs a = new SimulatedSysfs(X86, DEFAULTS.withShmemSizeEnabled(4, ShmemSizeEnabled.INHERIT).render());
        KernelException e = assertThrows(KernelException.class, () -> a.write("shmem_enabled", "force"));
        assertEquals(Errno.EINVAL, e.errno());
        // ... and while the PMD size does not
        SimulatedSysfs b = new SimulatedSysfs(X86, DEFAULTS.withShmemSizeEnabled(9, ShmemSizeEnabled.NEVER).render());
        assertThrows(KernelException.class, () -> b.write("shmem_enabled", "force"));
        // with exactly the PMD size inheriting it is accepted; then only the PMD size may become inherit
        SimulatedSysfs c = new SimulatedSysfs(X86, DEFAULTS.render());
        c.write("shmem_enabled", "force\n");
        KernelException f = assertThrows(KernelException.class, () -> c.write("hugepages-64kB/shmem_enabled", "inherit"));
        assertEquals(Errno.EINVAL, f.errno());
        c.write("hugepages-2048kB/shmem_enabled", "never");
        c.write("hugepages-2048kB/shmem_enabled", "inherit");
        c.write("hugepages-64kB/shmem_enabled", "always");
        // the naive order (force first) therefore fails where writesTo's order succeeds
        ThpSettings from = DEFAULTS.withShmemSizeEnabled(4, ShmemSizeEnabled.INHERIT);
        ThpSettings to = DEFAULTS.withShmemEnabled(ShmemEnabled.FORCE);
        SimulatedSysfs naive = new SimulatedSysfs(X86, from.render());
        assertThrows(KernelException.class, () -> naive.write("shmem_enabled", "force"));
        SimulatedSysfs ordered = new SimulatedSysfs(X86, from.render());
        ordered.apply(from.writesTo(to));
        assertEquals(to.render(), ordered.settingsFiles());
        // the vendor knob cannot be written, read-only files neither
        assertThrows(AssertionError.class, () -> ordered.write("anon_beside_full", "0"));
        assertThrows(KernelException.class, () -> ordered.write("hpage_pmd_size", "2097152"));
        assertThrows(KernelException.class, () -> ordered.write("hugepages-8kB/enabled", "always"));
    }

    @Test
    void applyingTheWritesAlwaysSucceedsAndYieldsTheTarget() {
        qt().withExamples(EXAMPLES).forAll(ApiGens.settingsPairs(ApiGens.presets())).checkAssert(pair -> {
            ThpSettings from = pair.from();
            ThpSettings to = pair.to();
            Map<String, String> before = from.render();
            Map<String, String> after = to.render();
            List<ThpSettings.Write> writes = from.writesTo(to);

            SimulatedSysfs sysfs = new SimulatedSysfs(from.geometry(), before);
            try {
                sysfs.apply(writes);
            } catch (KernelException e) {
                throw new AssertionError("writes " + writes + " failed from " + from + " to " + to + ": " + e.getMessage(), e);
            }
            assertEquals(after, sysfs.settingsFiles());
            assertEquals(to, ThpSettings.read(to.geometry(), sysfs));

            Set<String> written = new HashSet<>();
            for (ThpSettings.Write write : writes) {
                assertFalse(write.path().contains("anon_beside_full"), write.toString());
                assertFalse(write.toString().contains("anon_beside_full"), write.toString());
                assertNotEquals("hpage_pmd_size", write.path());
                assertFalse(write.value().contains("\n"), write.toString());
                assertFalse(write.value().contains("["), write.toString());
                written.add(write.path());
            }
            Set<String> differing = new HashSet<>();
            for (Map.Entry<String, String> e : after.entrySet()) {
                if (!e.getValue().equals(before.get(e.getKey()))) {
                    differing.add(e.getKey());
                }
            }
            // every differing file is written; nothing else is, except the PMD shmem_enabled file that must pass
            // through inherit while force is being set
            assertTrue(written.containsAll(differing), () -> "missing writes: " + differing + " vs " + written);
            Set<String> extra = new HashSet<>(written);
            extra.removeAll(differing);
            String pmdShmem = from.geometry().sizeDirectory(from.geometry().pmdOrder()) + "/shmem_enabled";
            assertTrue(extra.isEmpty() || (extra.equals(Set.of(pmdShmem)) && to.shmemEnabled() == ShmemEnabled.FORCE
                    && from.shmemEnabled() != ShmemEnabled.FORCE), () -> "unneeded writes " + extra + " in " + writes);
            int maxWrites = differing.size() + (to.shmemEnabled() == ShmemEnabled.FORCE ? 2 : 0);
            assertTrue(writes.size() <= maxWrites, writes::toString);
            if (from.shmemEnabled() == ShmemEnabled.FORCE && to.shmemEnabled() == ShmemEnabled.FORCE
                    || from.shmemEnabled() != ShmemEnabled.FORCE && to.shmemEnabled() != ShmemEnabled.FORCE) {
                assertEquals(differing.size(), writes.size(), writes::toString);
            }
        });
    }

    @Test
    void writesToAcrossGeometriesIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> DEFAULTS.writesTo(ThpSettings.defaults(PageGeometry.ARM64_16K)));
    }

    @Test
    void theWritesAreInTheSameOrderAsRenderApartFromShmemEnabled() {
        ThpSettings to = DEFAULTS.withEnabled(ThpEnabled.NEVER).withDefrag(ThpDefrag.NEVER)
                .withAnonSizeEnabled(2, AnonSizeEnabled.ALWAYS).withShmemSizeEnabled(1, ShmemSizeEnabled.ADVISE)
                .withKhugepaged(DEFAULTS.khugepaged().withDefrag(false)).withShmemEnabled(ShmemEnabled.ADVISE);
        List<String> paths = new ArrayList<>();
        for (ThpSettings.Write write : DEFAULTS.writesTo(to)) {
            paths.add(write.path());
        }
        assertEquals(List.of("shmem_enabled", "enabled", "defrag", "hugepages-8kB/shmem_enabled", "hugepages-16kB/enabled",
                "khugepaged/defrag"), paths);
    }
}
