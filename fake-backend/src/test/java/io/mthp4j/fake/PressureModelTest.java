package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Madvice;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** memory.high reclaim and throttling, memory.max, swap, and the stall they cause (docs/fidelity.md). */
class PressureModelTest {

    static final long M = 1 << 20;

    FakeKernel kernel(long swapBytes) {
        return FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().swapBytes(swapBytes).build());
    }

    /** The mthp_ext harness's shape: 128 MiB, random page writes, memory.high 64 MiB. */
    static void randomWrites(FakeProcess p, long base, long length, int writes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long pages = length / 4096;
        for (int i = 0; i < writes; i++) {
            p.write(base + r.nextLong(pages) * 4096, 1);
        }
    }

    @Test
    void aCgroupAboveMemoryHighReclaimsToSwapAndStalls() {
        FakeKernel kernel = kernel(1L << 30);
        CgroupRef cg = kernel.cgroups().mkdir("/mthp");
        CgroupRef sibling = kernel.cgroups().mkdir("/calm");
        kernel.writeFile("/sys/fs/cgroup/mthp/memory.high", "64M");
        FakeProcess p = kernel.spawn(cg);
        FakeProcess q = kernel.spawn(sibling);
        long a = p.mmapAnonymous(128 * M);
        randomWrites(p, a, 128 * M, 30_000, 7);
        CgroupMemory mem = kernel.cgroups().memory(cg);
        assertTrue(mem.current() <= 64 * M + 2 * M, "usage held near memory.high: " + mem.current());
        assertTrue(p.swapBytes() > 0);
        assertTrue(kernel.vmstat("pswpout") > 0);
        long stall = kernel.cgroups().pressure(cg).full().totalMicros();
        assertTrue(stall > 0);
        assertEquals(stall, kernel.cgroups().pressure(kernel.cgroups().root()).full().totalMicros(),
                "the root sees its descendants' stall");
        assertEquals(0, kernel.cgroups().pressure(sibling).some().totalMicros());
        assertTrue(kernel.readFile("/sys/fs/cgroup/mthp/memory.events").contains("high "));
        assertTrue(kernel.clock().nanos() >= stall * 1000, "stall time passes on the virtual clock");
        q.exit();
        kernel.checkInvariants();
    }

    @Test
    void hugeFoliesAboveMemoryHighAreSwappedOutWhole() {
        FakeKernel kernel = kernel(1L << 30);
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", "always");
        CgroupRef cg = kernel.cgroups().mkdir("/thp");
        kernel.writeFile("/sys/fs/cgroup/thp/memory.high", "32M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(64 * M);
        p.write(a, 64 * M);
        assertTrue(kernel.vmstat("thp_swpout") > 0);
        assertTrue(kernel.stat(9, "swpout") > 0);
        p.read(a, 1);
        assertTrue(kernel.vmstat("pswpin") >= 1, "the refault swaps in a base page");
        kernel.checkInvariants();
    }

    /** alloc_swap_folio: on zram, a folio swapped out whole comes back whole; on a swap file, page by page. */
    @Test
    void mthpFoliosSwapBackInWholeOnZramAndAsBasePagesOtherwise() {
        for (boolean zram : new boolean[] {true, false}) {
            FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().pressure(
                    FakeKernelConfig.PressureModel.DEFAULT.withSwapBytes(1L << 30).withMthpSwapIn(zram)).build());
            kernel.writeFile("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled", "always");
            CgroupRef cg = kernel.cgroups().mkdir("/z");
            kernel.writeFile("/sys/fs/cgroup/z/memory.high", "16M");
            FakeProcess p = kernel.spawn(cg);
            long a = p.mmapAnonymous(32 * M);
            p.write(a, 32 * M);
            assertTrue(kernel.stat(4, "swpout") > 0, "64K folios were swapped out whole");
            long swappedPage = -1;
            for (long x = a; x < a + 32 * M && swappedPage < 0; x += 64 * 1024) {
                if (p.folioSizeAt(x) == 0) {
                    swappedPage = x;
                }
            }
            assertTrue(swappedPage >= 0);
            long before = kernel.vmstat("pswpin");
            p.read(swappedPage + 4096, 1);
            if (zram) {
                assertEquals(64 * 1024, p.folioSizeAt(swappedPage), "the whole 64K folio is back");
                assertEquals(16, kernel.vmstat("pswpin") - before);
                assertTrue(kernel.stat(4, "swpin") >= 1);
            } else {
                assertEquals(4096, p.folioSizeAt(swappedPage + 4096));
                assertEquals(0, p.folioSizeAt(swappedPage), "only the touched page came back");
                assertEquals(1, kernel.vmstat("pswpin") - before);
                assertEquals(0, kernel.stat(4, "swpin"));
            }
            kernel.checkInvariants();
        }
    }

    @Test
    void withoutSwapMemoryHighThrottles() {
        FakeKernel kernel = kernel(0);
        CgroupRef cg = kernel.cgroups().mkdir("/noswap");
        kernel.writeFile("/sys/fs/cgroup/noswap/memory.high", "16M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(32 * M);
        p.write(a, 32 * M);
        assertEquals(32 * M, kernel.cgroups().memory(cg).current(), "nothing can be reclaimed");
        long stall = kernel.cgroups().pressure(cg).some().totalMicros();
        assertTrue(stall > 1_000_000, "the over-high penalty throttles (up to 2 s per return to user): " + stall);
    }

    @Test
    void memoryMaxOomKillsWhenNothingCanBeReclaimed() {
        FakeKernel kernel = kernel(0);
        CgroupRef cg = kernel.cgroups().mkdir("/capped");
        kernel.writeFile("/sys/fs/cgroup/capped/memory.max", "8M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(16 * M);
        try {
            p.write(a, 16 * M);
        } catch (io.mthp4j.api.KernelException e) {
            assertEquals(io.mthp4j.api.Errno.ENOMEM, e.errno());
        }
        assertTrue(p.oomKilled());
        assertTrue(kernel.readFile("/sys/fs/cgroup/capped/memory.events").contains("oom_kill 1\n"));
        assertEquals(0, kernel.cgroups().memory(cg).current(), "the killed process's memory is freed");
        kernel.checkInvariants();
    }

    @Test
    void aPsiTriggerFiresOnceAWindowWhenStallPassesItsThreshold() throws Exception {
        FakeKernel kernel = kernel(1L << 30);
        CgroupRef cg = kernel.cgroups().mkdir("/watched");
        kernel.writeFile("/sys/fs/cgroup/watched/memory.high", "8M");
        try (PsiTrigger trigger = kernel.psi().register(cg, Psi.Kind.SOME, 1000, 2_000_000)) {
            assertFalse(trigger.await(Duration.ZERO));
            FakeProcess p = kernel.spawn(cg);
            long a = p.mmapAnonymous(64 * M);
            p.madvise(a, 64 * M, Madvice.NOHUGEPAGE);
            randomWrites(p, a, 64 * M, 20_000, 3);
            kernel.clock().advance(Duration.ofSeconds(2));
            assertTrue(trigger.await(Duration.ZERO), "stall above 1 ms in the window");
            assertFalse(trigger.await(Duration.ZERO), "consumed");
        }
    }
}
