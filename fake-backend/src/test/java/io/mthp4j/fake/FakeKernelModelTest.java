package io.mthp4j.fake;

import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.VmaInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Model-based test of the fake kernel: random sequences of operations (mmap, touch, madvise, prctl, fork, exit,
 * settings changes, munmap, cgroup moves, memory limits, time) with the invariants checked after every step:
 * per-size nr_anon equals the live folios of that size, memory.current equals what is allocated, memcg
 * counters are hierarchical, every mapped page is inside a VMA, RSS matches the page tables, and counters
 * never decrease. QuickTheories shrinks a failing sequence and prints it with its seed.
 */
class FakeKernelModelTest {

    /** A tenth of the configured property examples (each one runs up to 60 kernel operations). */
    static final int EXAMPLES = Math.max(50, Integer.getInteger("mthp4j.property.examples", 1000) / 20);

    static final String[] SIZES = {"16kB", "32kB", "64kB", "128kB", "256kB", "512kB", "1024kB", "2048kB"};
    static final String[] MODES = {"always", "madvise", "never", "inherit"};

    /** Per operation, how often it ran without a kernel error, so the test proves it exercised each one. */
    static final long[] SUCCEEDED = new long[17];
    static long folioPagesSeen;

    @Test
    void invariantsHoldAfterEveryStep() {
        java.util.Arrays.fill(SUCCEEDED, 0);
        folioPagesSeen = 0;
        qt().withExamples(EXAMPLES).forAll(lists().of(integers().all()).ofSizeBetween(1, 60))
                .checkAssert(FakeKernelModelTest::run);
        for (int op = 0; op < SUCCEEDED.length; op++) {
            if (SUCCEEDED[op] == 0) {
                throw new AssertionError("operation " + op + " never succeeded in " + EXAMPLES + " runs: the generator "
                        + "does not exercise it " + java.util.Arrays.toString(SUCCEEDED));
            }
        }
        if (folioPagesSeen == 0) {
            throw new AssertionError("no run ever mapped a large folio");
        }
    }

    /**
     * Sequences the property found, kept as regressions: a fork after a page was refaulted inside the span of a
     * partly unmapped large folio (a folio of another order in its block) left that page without a shared folio.
     */
    @Test
    void regressions() {
        run(List.of(3, 1, -1, -16, 4015, -8, -1, -10, 0, -1, -13, 0, 0, 0, 33611321));
    }

    static void run(List<Integer> steps) {
        FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder()
                .totalMemoryBytes(1L << 30).swapBytes(64L << 20).build());
        List<FakeProcess> procs = new ArrayList<>();
        procs.add(kernel.spawn(kernel.cgroups().root()));
        List<CgroupRef> cgroups = new ArrayList<>(List.of(kernel.cgroups().root()));
        Map<String, Long> before = monotonic(kernel);
        long page = kernel.geometry().pageSize();
        for (int step = 0; step < steps.size(); step++) {
            int x = steps.get(step);
            int op = Math.floorMod(x, 17);
            int a = (x >>> 5) & 0x3FF;
            int b = (x >>> 15) & 0x3FF;
            int c = (x >>> 25) & 0x7F;
            procs.removeIf(FakeProcess::exited);
            if (procs.isEmpty()) {
                procs.add(kernel.spawn(cgroups.get(0)));
            }
            FakeProcess p = procs.get(c % procs.size());
            List<VmaInfo> vmas = p.vmas();
            VmaInfo vma = vmas.isEmpty() ? null : vmas.get(a % vmas.size());
            long off = vma == null ? 0 : (a * 37L % Math.max(1, vma.length() / page)) * page;
            long len = vma == null ? 0 : Math.max(page, Math.min(vma.length() - off, (b + 1L) * page * 4));
            try {
                switch (op) {
                    case 0 -> procs.add(kernel.spawn(cgroups.get(a % cgroups.size())));
                    case 1 -> p.mmapAnonymous((b + 1L) * page * 8);
                    case 2 -> p.mmapSharedAnonymous((b + 1L) * page * 4);
                    case 3, 4 -> {
                        if (vma != null) {
                            p.write(vma.start() + off, len);
                        }
                    }
                    case 5 -> {
                        if (vma != null) {
                            p.read(vma.start() + off, len);
                        }
                    }
                    case 6 -> {
                        if (vma != null) {
                            p.madvise(vma.start() + off, len, b % 2 == 0 ? Madvice.HUGEPAGE : Madvice.NOHUGEPAGE);
                        }
                    }
                    case 7 -> {
                        if (vma != null) {
                            p.madvise(vma.start(), vma.length(), Madvice.COLLAPSE);
                        }
                    }
                    case 8 -> p.setThpMode(ProcessThpMode.values()[b % 3]);
                    case 9 -> {
                        if (procs.size() < 8) {
                            procs.add(p.fork());
                        }
                    }
                    case 10 -> p.exit();
                    case 11 -> {
                        String file = b % 5 == 0 ? "enabled" : b % 5 == 1 ? "shmem_enabled"
                                : "hugepages-" + SIZES[a % SIZES.length] + (b % 5 == 2 ? "/shmem_enabled" : "/enabled");
                        String value = file.equals("enabled") ? MODES[a % 3]
                                : file.equals("shmem_enabled") ? new String[] {"always", "never", "advise", "within_size"}[a % 4]
                                : file.endsWith("shmem_enabled") ? new String[] {"always", "never", "advise", "inherit"}[a % 4]
                                : MODES[a % 4];
                        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/" + file, value);
                    }
                    case 12 -> {
                        if (vma != null) {
                            p.munmap(vma.start() + off, len);
                        }
                    }
                    case 13 -> {
                        if (cgroups.size() < 6) {
                            cgroups.add(kernel.cgroups().mkdir("/g" + step));
                        } else {
                            p.moveTo(cgroups.get(a % cgroups.size()));
                        }
                    }
                    case 14 -> kernel.clock().advance(Duration.ofMillis(b * 50L));
                    case 15 -> {
                        CgroupRef cg = cgroups.get(a % cgroups.size());
                        if (!cg.isRoot()) {
                            kernel.writeFile("/sys/fs/cgroup" + cg.path() + (b % 2 == 0 ? "/memory.high" : "/memory.max"),
                                    b % 3 == 0 ? "max" : ((b % 64) + 1) + "M");
                        }
                    }
                    default -> {
                        if (vma != null) {
                            p.dontneed(vma.start() + off, len);
                        }
                    }
                }
                SUCCEEDED[op]++;
            } catch (KernelException e) {
                // Errors the kernel would give (EINVAL, ENOMEM, ESRCH after an OOM kill) are part of the model.
            }
            try {
                kernel.checkInvariants();
            } catch (AssertionError e) {
                throw new AssertionError("after step " + step + " (op " + op + ") of " + steps + ": " + e.getMessage(), e);
            }
            Map<String, Long> now = monotonic(kernel);
            for (Map.Entry<String, Long> e : now.entrySet()) {
                if (e.getValue() < before.getOrDefault(e.getKey(), 0L)) {
                    throw new AssertionError("counter " + e.getKey() + " went down from " + before.get(e.getKey()) + " to "
                            + e.getValue() + " at step " + step + " of " + steps);
                }
            }
            before = now;
        }
        for (int o = 2; o <= 9; o++) {
            folioPagesSeen += kernel.stat(o, "anon_fault_alloc");
        }
    }

    /** Every counter that must never decrease: vmstat events and the per-size event counters. */
    static Map<String, Long> monotonic(FakeKernel kernel) {
        Map<String, Long> out = new HashMap<>();
        for (String line : kernel.readFile("/proc/vmstat").split("\n")) {
            String[] kv = line.split(" ");
            if (!kv[0].startsWith("nr_")) {
                out.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        for (int o = 2; o <= 9; o++) {
            for (String name : new String[] {"anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
                    "split_deferred", "shmem_alloc", "shmem_fallback", "swpout", "split"}) {
                out.put(o + "/" + name, kernel.stat(o, name));
            }
        }
        return out;
    }
}
