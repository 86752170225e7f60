package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import io.mthp4j.core.kernel.Pressure;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Pure parts of the backend, no kernel needed: architecture table, mountinfo, PSI adaptation, pressure text. */
class NativeUnitTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 1000);

    @Test
    void syscallNumbersComeFromAnArchitectureTable() {
        assertEquals(321, Arch.of("amd64").nrBpf);
        assertEquals(157, Arch.of("x86_64").nrPrctl);
        assertEquals(28, Arch.X86_64.nrMadvise);
        assertEquals(280, Arch.of("aarch64").nrBpf);
        assertEquals(167, Arch.AARCH64.nrPrctl);
        assertEquals(233, Arch.AARCH64.nrMadvise);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> Arch.of("arm"));
        assertTrue(e.getMessage().contains("\"arm\"") && e.getMessage().contains("x86-64 and aarch64"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> Arch.of("riscv64"));
        assertThrows(UnsupportedOperationException.class, () -> Arch.of(null));
    }

    static final String MOUNTINFO = """
            22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw
            30 22 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
            35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
            36 30 0:32 / /sys/fs/cgroup/unified rw,nosuid shared:15 - cgroup2 cgroup2 rw
            40 22 0:40 / /sys/fs/bpf rw,relatime - bpf bpf rw
            41 1 0:41 / /mnt/with\\040space rw - ext4 /dev/vda rw
            """;

    @Test
    void mountinfoFindsBpffsCgroup2AndTheV1MemoryHierarchy() {
        MountInfo m = MountInfo.parse(MOUNTINFO);
        assertEquals(Path.of("/sys/fs/cgroup/unified"), m.first("cgroup2").mountPoint());
        assertEquals(Path.of("/sys/fs/cgroup/memory"), m.cgroupV1("memory").mountPoint());
        assertNull(m.cgroupV1("cpu"));
        assertEquals("bpf", m.covering(Path.of("/sys/fs/bpf/mthp4j/policy")).fsType());
        assertEquals("sysfs", m.covering(Path.of("/sys/kernel/mm")).fsType());
        assertEquals(Path.of("/mnt/with space"), m.covering(Path.of("/mnt/with space/x")).mountPoint());
        assertNull(m.covering(Path.of("/tmp")), "no root mount in this sample");
    }

    @Test
    void unprivilegedPsiWindowsAreScaledToMultiplesOfTwoSeconds() {
        assertArrayEquals(new long[] {300_000, 2_000_000}, LinuxPsi.adapt(150_000, 1_000_000, false));
        assertArrayEquals(new long[] {150_000, 1_000_000}, LinuxPsi.adapt(150_000, 1_000_000, true));
        assertArrayEquals(new long[] {150_000, 4_000_000}, LinuxPsi.adapt(150_000, 4_000_000, false));
        assertThrows(IllegalArgumentException.class, () -> LinuxPsi.adapt(0, 2_000_000, false));
        assertThrows(IllegalArgumentException.class, () -> LinuxPsi.adapt(3, 2, false));
        qt().withExamples(EXAMPLES).forAll(longs().between(1, 10_000_000), longs().between(1, 10_000_000))
                .checkAssert((anyT, w) -> {
                    long t = 1 + (anyT - 1) % w; // any threshold in 1..window
                    long[] a = LinuxPsi.adapt(t, w, false);
                    assertEquals(0, a[1] % 2_000_000, "window multiple of 2 s");
                    assertTrue(a[1] >= 2_000_000 && a[1] <= 10_000_000 && a[1] >= Math.min(w, 10_000_000), "window not shorter than asked");
                    assertTrue(a[0] >= 1 && a[0] <= a[1], "threshold in 1..window");
                    double before = (double) t / w;
                    double after = (double) a[0] / a[1];
                    assertTrue(Math.abs(before - after) <= 1e-6 + 1.0 / a[1], "the stall share is kept: " + before + " vs " + after);
                });
    }

    @Test
    void pressureTextParses() {
        Pressure p = ProcText.pressure(Path.of("x"), "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n");
        assertEquals(1.5, p.some().avg10());
        assertEquals(12345, p.some().totalMicros());
        assertEquals(99, p.full().totalMicros());
        assertEquals(0, ProcText.pressure(Path.of("x"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n").full().totalMicros());
        assertThrows(io.mthp4j.api.KernelException.class, () -> ProcText.pressure(Path.of("x"), "full avg10=0 total=1\n"));
        assertThrows(io.mthp4j.api.KernelException.class, () -> ProcText.pressure(Path.of("x"), "some avg10=x total=1\n"));
    }

    @Test
    void btfStringSearchMatchesWholeNamesOnly() {
        byte[] table = "\0bpf_thp_ops_x\0xbpf_mthp_ops\0task_struct\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(Capabilities.containsCString(table, "task_struct"));
        assertTrue(!Capabilities.containsCString(table, "bpf_thp_ops"));
        assertTrue(!Capabilities.containsCString(table, "bpf_mthp_ops"));
    }

    @Test
    void procCgroupAndStatusAreParsed() {
        assertEquals("/a/b", LinuxProcess.v2Path("4:memory:/x\n0::/a/b\n", "/sys/fs/cgroup"));
        assertEquals("/", LinuxProcess.v2Path("0::/\n", "/sys/fs/cgroup"));
        io.mthp4j.api.KernelException none = assertThrows(io.mthp4j.api.KernelException.class,
                () -> LinuxProcess.v2Path("4:memory:/x\n", "/sys/fs/cgroup/unified"));
        assertTrue(none.getMessage().contains("0::") && none.getMessage().contains("/sys/fs/cgroup/unified"), none.getMessage());
        assertThrows(io.mthp4j.api.KernelException.class, () -> LinuxProcess.v2Path("0::/gone (deleted)\n", "/m"));
        var kb = LinuxProcess.statusKb("Name:\tjava\nRssAnon:\t  2048 kB\nRssShmem:\t       4 kB\nThreads:\t9\n");
        assertEquals(2048L, kb.get("RssAnon"));
        assertEquals(4L, kb.get("RssShmem"));
        assertNull(kb.get("Threads"));
    }
}
