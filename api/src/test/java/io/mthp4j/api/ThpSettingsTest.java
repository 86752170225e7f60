package io.mthp4j.api;

import static io.mthp4j.api.ApiGens.EXAMPLES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class ThpSettingsTest {

    private static final PageGeometry X86 = PageGeometry.X86_64_4K;
    private static final String ROOT = "/sys/kernel/mm/transparent_hugepage";
    private static final int HUGEPAGE = VmaFlag.HUGEPAGE.mask();

    /**
     * The original settings of the test machines exactly as sysfs shows them (linux-interfaces.md §6.1),
     * including files the settings do not model (vendor knob, counters, stats).
     */
    static Map<String, String> machineText() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("enabled", "always [madvise] never\n");
        m.put("defrag", "always defer defer+madvise [madvise] never\n");
        m.put("shmem_enabled", "always within_size advise [never] deny force\n");
        m.put("use_zero_page", "1\n");
        m.put("shrink_underused", "1\n");
        m.put("hpage_pmd_size", "2097152\n");
        m.put("anon_beside_full", "0\n");
        m.put("hugepages-8kB/shmem_enabled", "always inherit within_size advise [never]\n");
        for (String kb : new String[] {"16", "32", "64", "128", "256", "512", "1024"}) {
            m.put("hugepages-" + kb + "kB/enabled", "always inherit madvise [never]\n");
            m.put("hugepages-" + kb + "kB/shmem_enabled", "always inherit within_size advise [never]\n");
            m.put("hugepages-" + kb + "kB/stats/anon_fault_declined", "0\n");
        }
        m.put("hugepages-2048kB/enabled", "always [inherit] madvise never\n");
        m.put("hugepages-2048kB/shmem_enabled", "always [inherit] within_size advise never\n");
        m.put("khugepaged/alloc_sleep_millisecs", "60000\n");
        m.put("khugepaged/defrag", "1\n");
        m.put("khugepaged/max_ptes_none", "511\n");
        m.put("khugepaged/max_ptes_shared", "256\n");
        m.put("khugepaged/max_ptes_swap", "64\n");
        m.put("khugepaged/pages_to_scan", "4096\n");
        m.put("khugepaged/scan_sleep_millisecs", "10000\n");
        m.put("khugepaged/full_scans", "0\n");
        m.put("khugepaged/pages_collapsed", "0\n");
        return m;
    }

    /** The files {@link ThpSettings#render()} is expected to produce on x86-64: the machine text minus unmodelled files. */
    static Map<String, String> machineSettingsText() {
        Map<String, String> m = new TreeMap<>(machineText());
        m.remove("anon_beside_full");
        m.remove("khugepaged/full_scans");
        m.remove("khugepaged/pages_collapsed");
        m.keySet().removeIf(k -> k.contains("/stats/"));
        return m;
    }

    @Nested
    class Defaults {

        @Test
        void defaultsAreTheMachinesOriginalSettings() {
            ThpSettings d = ThpSettings.defaults(X86);
            assertEquals(ThpEnabled.MADVISE, d.enabled());
            assertEquals(ThpDefrag.MADVISE, d.defrag());
            assertEquals(ShmemEnabled.NEVER, d.shmemEnabled());
            assertTrue(d.useZeroPage());
            assertTrue(d.shrinkUnderused());
            assertEquals(0, d.anonAlways());
            assertEquals(0x200L, d.anonInherit());
            assertEquals(0, d.anonMadvise());
            assertEquals(0, d.shmemAlways());
            assertEquals(0x200L, d.shmemInherit());
            assertEquals(0, d.shmemWithinSize());
            assertEquals(0, d.shmemAdvise());
            assertEquals(new Khugepaged(true, 4096, 10_000, 60_000, 511, 64, 256), d.khugepaged());
        }

        @Test
        void renderIsExactlyTheMachineText() {
            Map<String, String> rendered = ThpSettings.defaults(X86).render();
            assertEquals(machineSettingsText(), new TreeMap<>(rendered));
            assertEquals(30, rendered.size());
        }

        @Test
        void renderSpotChecks() {
            Map<String, String> r = ThpSettings.defaults(X86).render();
            assertEquals("always [madvise] never\n", r.get("enabled"));
            assertEquals("always defer defer+madvise [madvise] never\n", r.get("defrag"));
            assertEquals("always within_size advise [never] deny force\n", r.get("shmem_enabled"));
            assertEquals("always [inherit] madvise never\n", r.get("hugepages-2048kB/enabled"));
            assertEquals("always [inherit] within_size advise never\n", r.get("hugepages-2048kB/shmem_enabled"));
            assertEquals("always inherit madvise [never]\n", r.get("hugepages-64kB/enabled"));
            assertEquals("always inherit within_size advise [never]\n", r.get("hugepages-8kB/shmem_enabled"));
            assertFalse(r.containsKey("hugepages-8kB/enabled"), "anon order 1 is unsupported: no enabled file");
            assertFalse(r.containsKey("hugepages-4kB/shmem_enabled"));
            assertFalse(r.containsKey("hugepages-4096kB/enabled"));
            assertEquals("2097152\n", r.get("hpage_pmd_size"));
            assertEquals("4096\n", r.get("khugepaged/pages_to_scan"));
            assertEquals("511\n", r.get("khugepaged/max_ptes_none"));
            assertEquals("64\n", r.get("khugepaged/max_ptes_swap"));
            assertEquals("256\n", r.get("khugepaged/max_ptes_shared"));
            assertEquals("10000\n", r.get("khugepaged/scan_sleep_millisecs"));
            assertEquals("60000\n", r.get("khugepaged/alloc_sleep_millisecs"));
            assertEquals("1\n", r.get("khugepaged/defrag"));
            assertEquals("1\n", r.get("use_zero_page"));
            assertFalse(r.containsKey("anon_beside_full"));
            assertFalse(r.keySet().stream().anyMatch(k -> k.contains("full_scans") || k.contains("pages_collapsed")));
        }

        @Test
        void renderOfEveryPresetHasOneFilePerSysfsSize() {
            for (PageGeometry g : ApiGens.PRESETS) {
                Map<String, String> r = ThpSettings.defaults(g).render();
                int anonFiles = 0;
                int shmemFiles = 0;
                for (String key : r.keySet()) {
                    if (key.startsWith("hugepages-")) {
                        if (key.endsWith("/enabled")) {
                            anonFiles++;
                        } else {
                            assertTrue(key.endsWith("/shmem_enabled"), key);
                            shmemFiles++;
                        }
                    }
                }
                assertEquals(Orders.count(g.allAnonOrders()), anonFiles, g.toString());
                assertEquals(Orders.count(g.allFileOrders()), shmemFiles, g.toString());
                String pmdDir = g.sizeDirectory(g.pmdOrder());
                assertEquals("always [inherit] madvise never\n", r.get(pmdDir + "/enabled"), g.toString());
                assertEquals(g.pmdSize() + "\n", r.get("hpage_pmd_size"));
                assertEquals(8L * g.pmdPages() + "\n", r.get("khugepaged/pages_to_scan"));
            }
        }

        @Test
        void arm64_64kHasNoShmemFilesAboveTheXarrayLimit() {
            PageGeometry g = PageGeometry.ARM64_64K;
            Map<String, String> r = ThpSettings.defaults(g).render();
            assertEquals("always [inherit] madvise never\n", r.get("hugepages-524288kB/enabled"));
            assertFalse(r.containsKey("hugepages-524288kB/shmem_enabled"));
            assertFalse(r.containsKey("hugepages-262144kB/shmem_enabled"));
            assertTrue(r.containsKey("hugepages-262144kB/enabled"));
            assertEquals("always inherit within_size advise [never]\n", r.get("hugepages-131072kB/shmem_enabled"));
            assertEquals("always inherit within_size advise [never]\n", r.get("hugepages-128kB/shmem_enabled"));
            assertFalse(r.containsKey("hugepages-128kB/enabled"));
            // the PMD size has no shmem file, so no visible size inherits the top-level shmem setting
            ThpSettings d = ThpSettings.defaults(g);
            assertEquals(0, d.shmemInherit());
            assertEquals(Orders.bit(13), d.anonInherit());
            assertEquals(d, ThpSettings.read(g, r::get));
        }
    }

    @Nested
    class Read {

        @Test
        void readsTheMachineText() {
            Map<String, String> machine = machineText();
            assertEquals(ThpSettings.defaults(X86), ThpSettings.read(X86, machine::get));
        }

        @Test
        void readsNonDefaultText() {
            Map<String, String> m = machineText();
            m.put("enabled", "[always] madvise never\n");
            m.put("defrag", "always defer [defer+madvise] madvise never\n");
            m.put("shmem_enabled", "always within_size advise never deny [force]\n");
            m.put("use_zero_page", "0\n");
            m.put("shrink_underused", "0\n");
            m.put("hugepages-64kB/enabled", "[always] inherit madvise never\n");
            m.put("hugepages-16kB/enabled", "always inherit [madvise] never\n");
            m.put("hugepages-2048kB/enabled", "always inherit madvise [never]\n");
            m.put("hugepages-32kB/enabled", "always [inherit] madvise never\n");
            m.put("hugepages-8kB/shmem_enabled", "[always] inherit within_size advise never\n");
            m.put("hugepages-16kB/shmem_enabled", "always inherit [within_size] advise never\n");
            m.put("hugepages-32kB/shmem_enabled", "always inherit within_size [advise] never\n");
            m.put("khugepaged/defrag", "0\n");
            m.put("khugepaged/pages_to_scan", "1\n");
            m.put("khugepaged/scan_sleep_millisecs", "0\n");
            m.put("khugepaged/alloc_sleep_millisecs", "4294967295\n");
            m.put("khugepaged/max_ptes_none", "0\n");
            m.put("khugepaged/max_ptes_swap", "511\n");
            m.put("khugepaged/max_ptes_shared", "1\n");
            ThpSettings s = ThpSettings.read(X86, m::get);
            assertEquals(ThpEnabled.ALWAYS, s.enabled());
            assertEquals(ThpDefrag.DEFER_MADVISE, s.defrag());
            assertEquals(ShmemEnabled.FORCE, s.shmemEnabled());
            assertFalse(s.useZeroPage());
            assertFalse(s.shrinkUnderused());
            assertEquals(Orders.bit(4), s.anonAlways());
            assertEquals(Orders.bit(2), s.anonMadvise());
            assertEquals(Orders.bit(3), s.anonInherit());
            assertEquals(AnonSizeEnabled.NEVER, s.anonSizeEnabled(9));
            assertEquals(Orders.bit(1), s.shmemAlways());
            assertEquals(Orders.bit(2), s.shmemWithinSize());
            assertEquals(Orders.bit(3), s.shmemAdvise());
            assertEquals(Orders.bit(9), s.shmemInherit());
            assertEquals(new Khugepaged(false, 1, 0, 4294967295L, 0, 511, 1), s.khugepaged());
        }

        @Test
        void missingShrinkUnderusedIsTakenAsOne() {
            Map<String, String> m = machineText();
            m.remove("shrink_underused");
            assertTrue(ThpSettings.read(X86, m::get).shrinkUnderused());
            m.put("shrink_underused", "0\n");
            assertFalse(ThpSettings.read(X86, m::get).shrinkUnderused());
        }

        @Test
        void malformedEnabledNamesTheFileAndQuotesTheText() {
            Map<String, String> m = machineText();
            m.put("enabled", "always madvise never\n");
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/enabled", e.file());
            assertEquals("always madvise never\n", e.text());
            assertTrue(e.getMessage().contains("/sys/kernel/mm/transparent_hugepage/enabled"), e.getMessage());
            assertTrue(e.getMessage().contains("\"always madvise never\\n\""), e.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"defrag", "shmem_enabled", "use_zero_page", "hugepages-16kB/enabled",
                "hugepages-2048kB/enabled", "hugepages-8kB/shmem_enabled", "hugepages-2048kB/shmem_enabled",
                "khugepaged/defrag", "khugepaged/pages_to_scan", "khugepaged/scan_sleep_millisecs",
                "khugepaged/alloc_sleep_millisecs", "khugepaged/max_ptes_none", "khugepaged/max_ptes_swap",
                "khugepaged/max_ptes_shared", "hpage_pmd_size", "enabled"})
        void everyFileIsRequired(String file) {
            Map<String, String> m = machineText();
            m.remove(file);
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/" + file, e.file());
            assertNull(e.text());
            assertTrue(e.getMessage().contains(ROOT + "/" + file), e.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"defrag", "shmem_enabled", "use_zero_page", "shrink_underused", "hugepages-64kB/enabled",
                "hugepages-8kB/shmem_enabled", "khugepaged/defrag", "khugepaged/pages_to_scan",
                "khugepaged/max_ptes_none"})
        void garbageInAnyFileNamesTheFile(String file) {
            Map<String, String> m = machineText();
            m.put(file, "garbage\n");
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/" + file, e.file());
            assertTrue(e.getMessage().contains(ROOT + "/" + file), e.getMessage());
            assertTrue(e.getMessage().contains("\"garbage\\n\""), e.getMessage());
        }

        @Test
        void perSizeValueThatOnlyTheTopLevelHasIsRejected() {
            Map<String, String> m = machineText();
            m.put("hugepages-64kB/shmem_enabled", "always within_size advise never deny [force]\n");
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/hugepages-64kB/shmem_enabled", e.file());
        }

        @Test
        void hpagePmdSizeMismatchIsReported() {
            Map<String, String> m = machineText();
            // x86-64 text read with the arm64 64 KiB geometry
            SysfsFormatException e = assertThrows(SysfsFormatException.class,
                    () -> ThpSettings.read(PageGeometry.ARM64_64K, m::get));
            assertEquals(ROOT + "/hpage_pmd_size", e.file());
            assertTrue(e.getMessage().contains("\"2097152\\n\""), e.getMessage());
            assertTrue(e.getMessage().contains(String.valueOf(512L << 20)), e.getMessage());
            m.put("hpage_pmd_size", "1048576\n");
            SysfsFormatException e2 = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertTrue(e2.getMessage().contains("2097152"), e2.getMessage());
            assertTrue(e2.getMessage().contains("\"1048576\\n\""), e2.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"use_zero_page", "shrink_underused", "khugepaged/defrag"})
        void booleansAreZeroOrOne(String file) {
            Map<String, String> m = machineText();
            m.put(file, "2\n");
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/" + file, e.file());
        }

        @ParameterizedTest
        @ValueSource(strings = {"khugepaged/max_ptes_none", "khugepaged/max_ptes_swap", "khugepaged/max_ptes_shared"})
        void ptesAboveHpagePmdNrMinusOneAreRejected(String file) {
            Map<String, String> m = machineText();
            m.put(file, "511\n");
            ThpSettings.read(X86, m::get);
            m.put(file, "512\n");
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/" + file, e.file());
            assertTrue(e.getMessage().contains("\"512\\n\""), e.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"khugepaged/pages_to_scan:0", "khugepaged/pages_to_scan:4294967296",
                "khugepaged/scan_sleep_millisecs:4294967296", "khugepaged/alloc_sleep_millisecs:99999999999"})
        void unsignedIntTunablesOutOfRangeAreSysfsFormatErrors(String fileAndValue) {
            String file = fileAndValue.substring(0, fileAndValue.indexOf(':'));
            String value = fileAndValue.substring(fileAndValue.indexOf(':') + 1) + "\n";
            Map<String, String> m = machineText();
            m.put(file, value);
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> ThpSettings.read(X86, m::get));
            assertEquals(ROOT + "/" + file, e.file());
            assertEquals(value, e.text());
        }

        @Test
        void readOfRenderRoundTrips() {
            qt().withExamples(EXAMPLES).forAll(ApiGens.presets().flatMap(ApiGens::settings)).checkAssert(s -> {
                Map<String, String> files = s.render();
                assertEquals(s, ThpSettings.read(s.geometry(), files::get));
            });
        }

        @Test
        void renderShowsEachPerSizeValue() {
            qt().withExamples(EXAMPLES).forAll(ApiGens.settings(X86)).checkAssert(s -> {
                Map<String, String> r = s.render();
                for (int order = 2; order <= 9; order++) {
                    assertEquals(SysfsText.showChoice(s.anonSizeEnabled(order)), r.get(X86.sizeDirectory(order) + "/enabled"));
                }
                for (int order = 1; order <= 9; order++) {
                    assertEquals(SysfsText.showChoice(s.shmemSizeEnabled(order)), r.get(X86.sizeDirectory(order) + "/shmem_enabled"));
                }
                assertEquals(SysfsText.showChoice(s.enabled()), r.get("enabled"));
                assertEquals(s.khugepaged().maxPtesSwap() + "\n", r.get("khugepaged/max_ptes_swap"));
            });
        }
    }

    @Nested
    class PerSize {

        @Test
        void withAnonSizeEnabledMovesTheSizeBetweenBitmaps() {
            ThpSettings s = ThpSettings.defaults(X86);
            s = s.withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
            assertEquals(Orders.bit(4), s.anonAlways());
            assertEquals(AnonSizeEnabled.ALWAYS, s.anonSizeEnabled(4));
            s = s.withAnonSizeEnabled(4, AnonSizeEnabled.MADVISE);
            assertEquals(0, s.anonAlways());
            assertEquals(Orders.bit(4), s.anonMadvise());
            s = s.withAnonSizeEnabled(4, AnonSizeEnabled.INHERIT);
            assertEquals(0, s.anonMadvise());
            assertEquals(Orders.bit(4) | Orders.bit(9), s.anonInherit());
            s = s.withAnonSizeEnabled(9, AnonSizeEnabled.NEVER);
            assertEquals(Orders.bit(4), s.anonInherit());
            assertEquals(AnonSizeEnabled.NEVER, s.anonSizeEnabled(9));
            s = s.withAnonSizeEnabled(4, AnonSizeEnabled.NEVER);
            assertEquals(0, s.anonAlways() | s.anonInherit() | s.anonMadvise());
        }

        @Test
        void withAnonSizeEnabledKeepsBitmapsDisjoint() {
            qt().withExamples(EXAMPLES).forAll(ApiGens.settings(X86), integers().between(2, 9),
                    arbitrary().enumValues(AnonSizeEnabled.class)).checkAssert((s, order, value) -> {
                ThpSettings t = s.withAnonSizeEnabled(order, value);
                assertEquals(0, t.anonAlways() & t.anonInherit());
                assertEquals(0, t.anonAlways() & t.anonMadvise());
                assertEquals(0, t.anonInherit() & t.anonMadvise());
                assertEquals(value, t.anonSizeEnabled(order));
                long others = ~Orders.bit(order);
                assertEquals(s.anonAlways() & others, t.anonAlways() & others);
                assertEquals(s.anonInherit() & others, t.anonInherit() & others);
                assertEquals(s.anonMadvise() & others, t.anonMadvise() & others);
                assertEquals(s.shmemInherit(), t.shmemInherit());
            });
        }

        @Test
        void withShmemSizeEnabledKeepsBitmapsDisjoint() {
            qt().withExamples(EXAMPLES).forAll(ApiGens.settings(X86), integers().between(1, 9),
                    arbitrary().enumValues(ShmemSizeEnabled.class)).checkAssert((s, order, value) -> {
                ThpSettings t = s.withShmemSizeEnabled(order, value);
                long[] maps = {t.shmemAlways(), t.shmemInherit(), t.shmemWithinSize(), t.shmemAdvise()};
                for (int i = 0; i < maps.length; i++) {
                    for (int j = i + 1; j < maps.length; j++) {
                        assertEquals(0, maps[i] & maps[j]);
                    }
                }
                assertEquals(value, t.shmemSizeEnabled(order));
                assertEquals(s.anonInherit(), t.anonInherit());
            });
        }

        @Test
        void withAnonSizesEnabledSetsEverySize() {
            ThpSettings s = ThpSettings.defaults(X86).withAnonSizesEnabled(X86.allAnonOrders(), AnonSizeEnabled.MADVISE);
            assertEquals(0x3FCL, s.anonMadvise());
            assertEquals(0, s.anonInherit());
            ThpSettings t = s.withAnonSizesEnabled(Orders.bit(4) | Orders.bit(2), AnonSizeEnabled.ALWAYS);
            assertEquals(0x14L, t.anonAlways());
            assertEquals(0x3FCL & ~0x14L, t.anonMadvise());
            assertEquals(s, s.withAnonSizesEnabled(0, AnonSizeEnabled.NEVER));
        }

        @ParameterizedTest
        @ValueSource(ints = {-1, 0, 1, 10, 63, 64})
        void anonSizesWithoutAnEnabledFileAreRejected(int order) {
            ThpSettings s = ThpSettings.defaults(X86);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.withAnonSizeEnabled(order, AnonSizeEnabled.ALWAYS));
            assertTrue(e.getMessage().contains("order " + order), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.anonSizeEnabled(order));
        }

        @ParameterizedTest
        @ValueSource(ints = {-1, 0, 10, 64})
        void shmemSizesWithoutAFileAreRejected(int order) {
            ThpSettings s = ThpSettings.defaults(X86);
            assertThrows(IllegalArgumentException.class, () -> s.withShmemSizeEnabled(order, ShmemSizeEnabled.ALWAYS));
            assertThrows(IllegalArgumentException.class, () -> s.shmemSizeEnabled(order));
        }

        @Test
        void shmemOrderOneExistsButAnonOrderOneDoesNot() {
            ThpSettings s = ThpSettings.defaults(X86).withShmemSizeEnabled(1, ShmemSizeEnabled.ALWAYS);
            assertEquals(ShmemSizeEnabled.ALWAYS, s.shmemSizeEnabled(1));
            assertThrows(IllegalArgumentException.class, () -> s.anonSizeEnabled(1));
        }

        @Test
        void withersChangeOneField() {
            ThpSettings d = ThpSettings.defaults(X86);
            assertEquals(ThpEnabled.NEVER, d.withEnabled(ThpEnabled.NEVER).enabled());
            assertEquals(d, d.withEnabled(ThpEnabled.NEVER).withEnabled(ThpEnabled.MADVISE));
            assertEquals(ThpDefrag.NEVER, d.withDefrag(ThpDefrag.NEVER).defrag());
            assertEquals(ShmemEnabled.DENY, d.withShmemEnabled(ShmemEnabled.DENY).shmemEnabled());
            assertFalse(d.withUseZeroPage(false).useZeroPage());
            assertFalse(d.withShrinkUnderused(false).shrinkUnderused());
            Khugepaged k = d.khugepaged().withPagesToScan(7);
            assertEquals(k, d.withKhugepaged(k).khugepaged());
            assertEquals(d.anonInherit(), d.withDefrag(ThpDefrag.NEVER).anonInherit());
        }
    }

    @Nested
    class Validation {

        private ThpSettings make(long anonAlways, long anonInherit, long anonMadvise, long shmemAlways, long shmemInherit,
                                 long shmemWithinSize, long shmemAdvise) {
            return new ThpSettings(X86, ThpEnabled.MADVISE, ThpDefrag.MADVISE, ShmemEnabled.NEVER, true, true,
                    anonAlways, anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise,
                    Khugepaged.defaults(X86));
        }

        @Test
        void overlappingBitmapsAreRejected() {
            assertThrows(IllegalArgumentException.class, () -> make(0x10, 0x10, 0, 0, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0x10, 0, 0x10, 0, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0x10, 0x10, 0, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 0x10, 0x10, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 0, 0, 0x10, 0x10));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 0x10, 0, 0, 0x10));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 0, 0x10, 0x10, 0));
            make(0x10, 0x20, 0x40, 0x10, 0x20, 0x40, 0x80);
        }

        @Test
        void sizesWithoutAFileAreRejected() {
            IllegalArgumentException anon = assertThrows(IllegalArgumentException.class, () -> make(0x2, 0, 0, 0, 0, 0, 0));
            assertTrue(anon.getMessage().contains("0x2"), anon.getMessage());
            assertThrows(IllegalArgumentException.class, () -> make(0, 0x400, 0, 0, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 1, 0, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 1, 0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> make(0, 0, 0, 0, 0x400, 0, 0));
            make(0, 0, 0, 0x2, 0, 0, 0);
        }

        @Test
        void ptesAreLimitedByThePmdSize() {
            ThpSettings d = ThpSettings.defaults(X86);
            assertThrows(IllegalArgumentException.class, () -> d.withKhugepaged(d.khugepaged().withMaxPtesNone(512)));
            assertThrows(IllegalArgumentException.class, () -> d.withKhugepaged(d.khugepaged().withMaxPtesSwap(512)));
            assertThrows(IllegalArgumentException.class, () -> d.withKhugepaged(d.khugepaged().withMaxPtesShared(512)));
            assertEquals(511, d.withKhugepaged(d.khugepaged().withMaxPtesShared(511)).khugepaged().maxPtesShared());
            ThpSettings arm = ThpSettings.defaults(PageGeometry.ARM64_64K);
            assertEquals(8191, arm.khugepaged().maxPtesNone());
            assertEquals(1024, arm.khugepaged().maxPtesSwap());
            assertEquals(4096, arm.khugepaged().maxPtesShared());
            assertEquals(65536, arm.khugepaged().pagesToScan());
        }

        @Test
        void nullsAreRejected() {
            ThpSettings d = ThpSettings.defaults(X86);
            assertThrows(NullPointerException.class, () -> d.withEnabled(null));
            assertThrows(NullPointerException.class, () -> d.withDefrag(null));
            assertThrows(NullPointerException.class, () -> d.withShmemEnabled(null));
            assertThrows(NullPointerException.class, () -> d.withKhugepaged(null));
            assertThrows(NullPointerException.class, () -> ThpSettings.defaults(null));
        }
    }

    @Nested
    class Khugepageds {

        @Test
        void defaultsFollowHpagePmdNr() {
            assertEquals(new Khugepaged(true, 4096, 10_000, 60_000, 511, 64, 256), Khugepaged.defaults(X86));
            assertEquals(new Khugepaged(true, 16384, 10_000, 60_000, 2047, 256, 1024), Khugepaged.defaults(PageGeometry.ARM64_16K));
        }

        @Test
        void rangeChecks() {
            Khugepaged k = Khugepaged.defaults(X86);
            IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> k.withPagesToScan(0));
            assertTrue(zero.getMessage().contains("pages_to_scan"), zero.getMessage());
            assertThrows(IllegalArgumentException.class, () -> k.withPagesToScan(Khugepaged.UINT_MAX + 1));
            assertEquals(Khugepaged.UINT_MAX, k.withPagesToScan(Khugepaged.UINT_MAX).pagesToScan());
            assertThrows(IllegalArgumentException.class, () -> k.withScanSleepMillis(-1));
            assertThrows(IllegalArgumentException.class, () -> k.withAllocSleepMillis(Khugepaged.UINT_MAX + 1));
            assertThrows(IllegalArgumentException.class, () -> k.withMaxPtesNone(-1));
            assertThrows(IllegalArgumentException.class, () -> k.withMaxPtesSwap(-1));
            assertThrows(IllegalArgumentException.class, () -> k.withMaxPtesShared(-1));
            assertEquals(0, k.withScanSleepMillis(0).scanSleepMillis());
            assertFalse(k.withDefrag(false).defrag());
            assertEquals(77, k.withAllocSleepMillis(77).allocSleepMillis());
            assertEquals(5, k.withMaxPtesNone(5).maxPtesNone());
            assertEquals(6, k.withMaxPtesSwap(6).maxPtesSwap());
            assertEquals(4294967295L, Khugepaged.UINT_MAX);
        }
    }

    /** The §3.4 table: top-level enabled x per-size value x MADV_HUGEPAGE. */
    @Nested
    class AnonMask {

        private boolean allowed(ThpEnabled top, AnonSizeEnabled size, boolean madvHugepage) {
            return switch (size) {
                case ALWAYS -> true;                                     // any / always
                case MADVISE -> madvHugepage;                            // any / madvise
                case INHERIT -> switch (top) {
                    case ALWAYS -> true;                                 // always / inherit
                    case MADVISE -> madvHugepage;                        // madvise / inherit
                    case NEVER -> false;                                 // never / inherit
                };
                case NEVER -> false;                                     // any / never
            };
        }

        @Test
        void everyRowOfTheInheritTable() {
            int rows = 0;
            for (ThpEnabled top : ThpEnabled.values()) {
                for (AnonSizeEnabled size : AnonSizeEnabled.values()) {
                    ThpSettings s = ThpSettings.defaults(X86).withEnabled(top)
                            .withAnonSizeEnabled(9, AnonSizeEnabled.NEVER).withAnonSizeEnabled(4, size);
                    for (boolean hugepage : new boolean[] {false, true}) {
                        long expected = allowed(top, size, hugepage) ? Orders.bit(4) : 0;
                        assertEquals(expected, s.anonMask(hugepage ? HUGEPAGE : 0),
                                top + " / " + size + (hugepage ? " with" : " without") + " MADV_HUGEPAGE");
                        rows++;
                    }
                }
            }
            assertEquals(24, rows);
        }

        @Test
        void explicitTableCells() {
            ThpSettings d = ThpSettings.defaults(X86);
            // the machine's original settings: 2M only with MADV_HUGEPAGE
            assertEquals(0, d.anonMask(0));
            assertEquals(Orders.bit(9), d.anonMask(HUGEPAGE));
            // always / inherit / never
            ThpSettings always = d.withEnabled(ThpEnabled.ALWAYS);
            assertEquals(Orders.bit(9), always.anonMask(0));
            assertEquals(Orders.bit(9), always.anonMask(HUGEPAGE));
            // never / inherit: nothing, even with MADV_HUGEPAGE
            ThpSettings never = d.withEnabled(ThpEnabled.NEVER);
            assertEquals(0, never.anonMask(0));
            assertEquals(0, never.anonMask(HUGEPAGE));
            // top-level never does not block a per-size always or madvise
            ThpSettings perSize = never.withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS).withAnonSizeEnabled(2, AnonSizeEnabled.MADVISE);
            assertEquals(Orders.bit(4), perSize.anonMask(0));
            assertEquals(Orders.bit(4) | Orders.bit(2), perSize.anonMask(HUGEPAGE));
            // madvise / inherit / always (linux-interfaces §6.2 last row)
            ThpSettings mixed = d.withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
            assertEquals(Orders.bit(4), mixed.anonMask(0));
            assertEquals(Orders.bit(9) | Orders.bit(4), mixed.anonMask(HUGEPAGE));
        }

        @ParameterizedTest
        @EnumSource(ThpEnabled.class)
        void maskMatchesTheFormulaForRandomSettings(ThpEnabled top) {
            qt().withExamples(EXAMPLES).forAll(ApiGens.settings(X86), integers().between(0, VmaFlag.allMask()))
                    .checkAssert((s0, flags) -> {
                        ThpSettings s = s0.withEnabled(top);
                        boolean hugepage = (flags & HUGEPAGE) != 0;
                        long expected = 0;
                        for (int order = 2; order <= 9; order++) {
                            if (allowed(top, s.anonSizeEnabled(order), hugepage)) {
                                expected |= Orders.bit(order);
                            }
                        }
                        assertEquals(expected, s.anonMask(flags));
                        assertTrue(Orders.isSubset(s.anonMask(flags), X86.allAnonOrders()));
                    });
        }

        @Test
        void globalEnabledAndAlways() {
            ThpSettings d = ThpSettings.defaults(X86);
            assertTrue(d.globalEnabled());
            assertFalse(d.globalAlways());
            assertTrue(d.withEnabled(ThpEnabled.ALWAYS).globalEnabled());
            assertTrue(d.withEnabled(ThpEnabled.ALWAYS).globalAlways());
            assertFalse(d.withEnabled(ThpEnabled.NEVER).globalEnabled());
            assertFalse(d.withEnabled(ThpEnabled.NEVER).globalAlways());
        }
    }

    @Test
    void writeToStringNamesTheFullPath() {
        assertEquals("write \"always\" to /sys/kernel/mm/transparent_hugepage/enabled",
                new ThpSettings.Write("enabled", "always").toString());
    }

    @Test
    void rootIsTheSysfsDirectory() {
        assertEquals(ROOT, ThpSettings.ROOT);
    }
}
