package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Linux-only parts of {@link LinuxKernel} on the real kernel: probe, counters, census, madvise errors, sysfs guards. */
class LinuxKernelTest {

    private LinuxKernel kernel;

    @BeforeEach
    void open() {
        RealKernel.assumeRoot();
        kernel = LinuxKernel.open();
    }

    @Test
    void theProbeReportsThisHost() {
        ProcessThpMode mode = kernel.currentProcess().thpMode();
        Capabilities c = kernel.probe();
        assertEquals(mode, kernel.currentProcess().thpMode(), "the prctl probe restores the mode");
        String report = c.report();
        for (String line : new String[] {"bpf(2) maps", "bpffs", "BTF", "BPF-THP hook", "PSI", "mTHP sizes", "prctl EXCEPT_ADVISED",
            "MADV_COLLAPSE", "memory controller"}) {
            assertTrue(report.contains(line), report);
        }
        assertTrue(c.bpfAllowed(), report);
        assertEquals(kernel.geometry().allAnonOrders(), c.mthpOrders() & kernel.geometry().allAnonOrders(), report);
        // What our machines are (linux-interfaces.md §1, §4, §5): Linux 6.18 with BTF, PSI on, EXCEPT_ADVISED and
        // MADV_COLLAPSE, and the memory controller on cgroup v1. Elsewhere these are facts the test cannot know.
        if (c.kernelRelease().startsWith("6.18")) {
            assertTrue(c.btfPresent(), report);
            assertTrue(c.psiAvailable(), report);
            assertTrue(c.prctlExceptAdvised(), report);
            assertTrue(c.madvCollapse(), report);
            assertEquals(Capabilities.MemoryController.CGROUP_V1, c.memoryController(), report);
            assertEquals(Path.of("/sys/fs/cgroup/memory"), c.memoryControllerAt(), report);
        }
    }

    @Test
    void geometryIsDetectedAndCheckedAgainstSysfs() {
        assertEquals(PageGeometry.X86_64_4K.pmdSize(), kernel.geometry().pmdSize());
        IllegalStateException wrong = assertThrows(IllegalStateException.class,
                () -> LinuxKernel.builder().geometry(new PageGeometry(12, 10, 18, 9)).build());
        assertTrue(wrong.getMessage().contains("hpage_pmd_size says 2097152"), wrong.getMessage());
        assertThrows(IllegalStateException.class, () -> LinuxKernel.builder().geometry(PageGeometry.ARM64_64K).build());
    }

    @Test
    void countersHaveVmstatAndPerSizeStats() {
        ThpCounters c = kernel.counters();
        assertTrue(c.values().containsKey("vmstat/thp_fault_alloc"), c.values().keySet().toString());
        assertTrue(c.values().containsKey("2M/anon_fault_alloc"));
        assertTrue(c.values().containsKey("64K/nr_anon"));
        assertEquals(java.util.Map.of(), c.since(c));
    }

    @Test
    void theVendorKnobIsNeverWritten() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernel.thp().writeFile("anon_beside_full", "0"));
        assertTrue(e.getMessage().contains("never writes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> kernel.thp().writeFile("../../kernel/x", "0"));
        KernelException missing = assertThrows(KernelException.class, () -> kernel.thp().writeFile("no_such_knob", "1"));
        assertEquals(Errno.ENOENT, missing.errno());
    }

    @Test
    void madviseErrorsNameTheRangeAndTheReason() {
        long page = kernel.geometry().pageSize();
        long addr;
        try (AnonMapping m = AnonMapping.map(4 * page, page)) {
            addr = m.address();
            KernelException unaligned = assertThrows(KernelException.class, () -> kernel.currentProcess().madvise(m.address() + 1, page, Madvice.HUGEPAGE));
            assertEquals(Errno.EINVAL, unaligned.errno());
            kernel.currentProcess().madvise(m.address(), 4 * page, Madvice.NOHUGEPAGE);
            m.touch(0, 4 * page, page);
            KernelException refused = assertThrows(KernelException.class, () -> kernel.currentProcess().madvise(m.address(), 4 * page, Madvice.COLLAPSE));
            assertEquals(Errno.EINVAL, refused.errno(), "MADV_COLLAPSE on a MADV_NOHUGEPAGE range");
            assertTrue(refused.getMessage().contains("MADV_NOHUGEPAGE"), refused.getMessage());
            FolioCensus census = kernel.census(m.address(), 4 * page);
            assertEquals(4, census.folios(0), census.toString());
        }
        KernelException unmapped = assertThrows(KernelException.class, () -> kernel.currentProcess().madvise(addr, page, Madvice.HUGEPAGE));
        assertEquals(Errno.ENOMEM, unmapped.errno());
        assertTrue(unmapped.getMessage().contains("not mapped"), unmapped.getMessage());
    }

    @Test
    void readFaultsMapTheZeroPage() {
        long page = kernel.geometry().pageSize();
        try (AnonMapping m = AnonMapping.map(8 * page, page)) {
            kernel.currentProcess().madvise(m.address(), 8 * page, Madvice.NOHUGEPAGE);
            assertEquals(0, m.read(0, 4 * page, page));
            FolioCensus c = kernel.census(m.address(), 8 * page);
            assertEquals(4, c.zeroPages(), c.toString());
            assertEquals(4, c.absentPages(), c.toString());
        }
    }

    @Test
    void bootTimeMovesForward() {
        long a = kernel.bootTimeNanos();
        long b = kernel.bootTimeNanos();
        assertTrue(b >= a && a > 0);
    }

    @Test
    void aWholeProcessCensusCoversTheHeap() {
        FolioCensus all = FolioCensus.ofProcess(ProcessHandle.current().pid(), kernel.geometry());
        assertTrue(all.folios(0) > 0, all.toString());
    }

    @Test
    void ownMemoryGrowsWithTouchedAnonymousMemory() {
        long len = 32L << 20;
        try (AnonMapping m = AnonMapping.map(len, kernel.geometry().pageSize())) {
            long before = kernel.currentProcess().anonShmemBytes();
            m.touch(0, len, kernel.geometry().pageSize());
            long after = kernel.currentProcess().anonShmemBytes();
            assertTrue(after - before >= len - (4L << 20), "RssAnon grew by " + (after - before) + " for " + len + " touched");
        }
    }

    @Test
    void ownCgroupIsTheV2LineOfProcSelfCgroup() throws Exception {
        String line = Files.readAllLines(Path.of("/proc/self/cgroup")).stream().filter(l -> l.startsWith("0::")).findFirst().orElseThrow();
        assertEquals(line.substring(3), kernel.currentProcess().cgroup().path());
        // the id is the inode of the cgroup's directory in the v2 hierarchy
        Path dir = kernel.linuxCgroups().v2Root().resolve(line.substring(3).substring(1));
        assertEquals(((Number) Files.getAttribute(dir, "unix:ino")).longValue(), kernel.currentProcess().cgroup().id());
    }
}
