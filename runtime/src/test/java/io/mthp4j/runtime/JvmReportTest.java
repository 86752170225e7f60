package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What the JVM gets, with the reason (linux-interfaces.md §9.1-9.3). */
class JvmReportTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    /** Our machines: enabled=madvise, 2048kB=inherit, every other size never, shmem_enabled=never (§6.1). */
    static final ThpSettings OURS = ThpSettings.defaults(G);
    static final long PMD = Orders.bit(9);

    static JvmFlags flags(boolean zgc, boolean thp, long stackKb, boolean fix) {
        return new JvmFlags(true, zgc, thp, stackKb, fix, false);
    }

    static JvmReport.Finding heap(JvmReport r) {
        return r.findings().get(0);
    }

    @Test
    @DisplayName("our machines: the heap gets 2M only with -XX:+UseTransparentHugePages; stacks get nothing")
    void ourMachines() {
        assertEquals(ThpEnabled.MADVISE, OURS.enabled());
        JvmReport without = JvmReport.assess(flags(false, false, 1024, true), OURS, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        assertFalse(heap(without).gets());
        assertTrue(heap(without).reason().contains("start with -XX:+UseTransparentHugePages"), heap(without).reason());
        JvmReport with = JvmReport.assess(flags(false, true, 1024, true), OURS, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        assertEquals(PMD, heap(with).sizes());
        assertTrue(heap(with).reason().contains("matches enabled=madvise"), heap(with).reason());
        assertFalse(with.about("thread stacks").gets());
        assertTrue(with.about("policy").reason().contains("prctl cannot choose sizes"));
    }

    @Test
    @DisplayName("-XX:+UseTransparentHugePages with enabled=never: the JVM turns the flag off")
    void flagWithNever() {
        JvmReport r = JvmReport.assess(flags(false, true, 1024, true), OURS.withEnabled(ThpEnabled.NEVER), ProcessThpMode.NONE,
                Enforcement.IN_PROCESS);
        assertFalse(heap(r).gets());
        assertTrue(heap(r).reason().contains("turns the flag off"), heap(r).reason());
    }

    @Test
    @DisplayName("ZGC: THP follows shmem_enabled; never gives none, advise needs the flag, always gives it")
    void zgc() {
        JvmReport never = JvmReport.assess(flags(true, true, 1024, true), OURS, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        assertFalse(never.about("ZGC heap").gets());
        assertTrue(never.about("ZGC heap").reason().contains("shmem_enabled=never: ZGC silently gets no THP"));
        ThpSettings advise = OURS.withShmemEnabled(ShmemEnabled.ADVISE);
        assertTrue(JvmReport.assess(flags(true, true, 1024, true), advise, ProcessThpMode.NONE, Enforcement.IN_PROCESS).about("ZGC heap").gets());
        assertFalse(JvmReport.assess(flags(true, false, 1024, true), advise, ProcessThpMode.NONE, Enforcement.IN_PROCESS).about("ZGC heap").gets());
        assertTrue(JvmReport.assess(flags(true, false, 1024, true), OURS.withShmemEnabled(ShmemEnabled.ALWAYS), ProcessThpMode.NONE,
                Enforcement.IN_PROCESS).about("ZGC heap").gets());
        assertFalse(JvmReport.assess(flags(true, true, 1024, true), advise, ProcessThpMode.DISABLED, Enforcement.IN_PROCESS)
                .about("ZGC heap").gets(), "prctl DISABLED blocks shmem THP too");
    }

    @Test
    @DisplayName("enabled=always: stacks of 2M are fully huge (JDK-8303215); without the fix stacks merge (JDK-8312182)")
    void stacksWithAlways() {
        ThpSettings always = OURS.withEnabled(ThpEnabled.ALWAYS);
        JvmReport big = JvmReport.assess(flags(false, false, 2048, false), always, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        JvmReport.Finding s = big.about("thread stacks");
        assertTrue(s.gets());
        assertTrue(s.reason().contains("JDK-8303215") && s.reason().contains("JDK-8312182: no fix"), s.reason());
        assertTrue(s.reason().contains("caps a stack's folios at 1M (removes 2M)"), s.reason());
        assertTrue(heap(big).reason().contains("without -XX:+UseTransparentHugePages, but the host gives unadvised memory 2M (enabled=always)"), heap(big).reason());
        JvmReport fixed = JvmReport.assess(flags(false, false, 1024, true), always, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        assertTrue(fixed.about("thread stacks").reason().contains("keeps a guard page"), fixed.about("thread stacks").reason());
        assertFalse(fixed.about("thread stacks").reason().contains("JDK-8303215"));
    }

    @Test
    @DisplayName("a 64K size set to always: stacks get 64K, HotSpot does not know, fit-to-VMA removes nothing for 1M stacks")
    void mthpAlways() {
        ThpSettings s64 = OURS.withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
        JvmReport r = JvmReport.assess(flags(false, true, 1024, true), s64, ProcessThpMode.NONE, Enforcement.IN_PROCESS);
        assertEquals(Orders.bit(4), r.about("thread stacks").sizes());
        assertTrue(r.about("thread stacks").reason().contains("removes nothing here"));
        assertEquals(PMD | Orders.bit(4), heap(r).sizes());
        assertTrue(heap(r).reason().contains("does not read per-size mTHP settings"), heap(r).reason());
    }

    @Test
    @DisplayName("a process started with THP disabled gets nothing, whatever the flags")
    void startedDisabled() {
        JvmReport r = JvmReport.assess(flags(true, true, 1024, true), OURS.withEnabled(ThpEnabled.ALWAYS)
                .withShmemEnabled(ShmemEnabled.ALWAYS), ProcessThpMode.DISABLED, Enforcement.PUBLISH);
        r.findings().forEach(f -> assertFalse(f.gets(), f.toString()));
        assertTrue(heap(r).reason().contains("MemoryTHP=disable"));
        assertTrue(r.toString().startsWith("mthp4j: what this JVM gets from THP\n"));
    }
}
