package io.mthp4j.fake;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.Errno;
import io.mthp4j.api.Khugepaged;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ShmemSizeEnabled;
import io.mthp4j.api.SysfsText;
import io.mthp4j.api.ThpDefrag;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.core.kernel.ThpSysfs;
import java.util.List;
import java.util.Map;

/**
 * {@code /sys/kernel/mm/transparent_hugepage/} of the fake kernel: the files, formats and write rules of
 * kernel-semantics.md §3.2, and the per-size counters of §3.3.
 */
final class FakeThpSysfs implements ThpSysfs {

    /** §3.3, per group; the order of names within a group is the kernel's. */
    static final List<String> ANON_STATS = List.of("anon_fault_alloc", "anon_fault_fallback",
            "anon_fault_fallback_charge", "split_deferred", "nr_anon", "nr_anon_partially_mapped");
    static final List<String> FILE_STATS = List.of("shmem_alloc", "shmem_fallback", "shmem_fallback_charge");
    static final List<String> ANY_STATS = List.of("zswpout", "swpin", "swpin_fallback", "swpin_fallback_charge",
            "swpout", "swpout_fallback", "split", "split_failed");
    private static final List<String> ALL_STATS = concat(ANON_STATS, FILE_STATS, ANY_STATS);

    // Indices into ALL_STATS, for the fault path (no string lookups there).
    static final int ANON_FAULT_ALLOC = 0;
    static final int ANON_FAULT_FALLBACK = 1;
    static final int ANON_FAULT_FALLBACK_CHARGE = 2;
    static final int SPLIT_DEFERRED = 3;
    static final int NR_ANON = 4;
    static final int NR_ANON_PARTIALLY_MAPPED = 5;
    static final int SHMEM_ALLOC = 6;
    static final int SHMEM_FALLBACK = 7;
    static final int SHMEM_FALLBACK_CHARGE = 8;
    static final int ZSWPOUT = 9;
    static final int SWPIN = 10;
    static final int SWPIN_FALLBACK = 11;
    static final int SWPIN_FALLBACK_CHARGE = 12;
    static final int SWPOUT = 13;
    static final int SWPOUT_FALLBACK = 14;
    static final int SPLIT = 15;
    static final int SPLIT_FAILED = 16;
    private static final int STATS = 17;

    private final PageGeometry geometry;
    private volatile ThpSettings settings;
    private final long[] stats;
    private final long[] collapse = new long[2];
    private final FakeKernel kernel;

    FakeThpSysfs(FakeKernel kernel, ThpSettings initial) {
        this.kernel = kernel;
        this.geometry = initial.geometry();
        this.settings = initial;
        this.stats = new long[64 * STATS];
        if (ALL_STATS.size() != STATS || !ALL_STATS.get(SPLIT_FAILED).equals("split_failed")
                || !ALL_STATS.get(SHMEM_ALLOC).equals("shmem_alloc")) {
            throw new AssertionError("stat indices out of step with the names");
        }
    }

    @Override
    public PageGeometry geometry() {
        return geometry;
    }

    /** The settings in force, without going through text. */
    ThpSettings settings() {
        return settings;
    }

    /**
     * Adds {@code delta} to a per-size counter (gauges may go down). Order 0 has no directory, so its counts are
     * dropped, as the kernel's {@code count_mthp_stat} does. Called under the kernel lock.
     */
    void add(int order, int stat, long delta) {
        if (order > 0) {
            stats[order * STATS + stat] += delta;
        }
    }

    long stat(int order, String name) {
        synchronized (kernel.lock) {
            return stats[statIndex(order, name)];
        }
    }

    long stat(int order, int stat) {
        return stats[order * STATS + stat];
    }

    /** khugepaged/full_scans (0) and khugepaged/pages_collapsed (1). */
    void addKhugepaged(int which, long delta) {
        collapse[which] += delta;
    }

    private static int statIndex(int order, String name) {
        int i = ALL_STATS.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no per-size counter named " + name + "; known: " + ALL_STATS);
        }
        return order * STATS + i;
    }

    @Override
    public String readFile(String path) {
        kernel.faults().beforeCall("read", ThpSettings.ROOT + "/" + path);
        String shown = settings.render().get(path);
        if (shown != null) {
            return shown;
        }
        if (path.equals("khugepaged/full_scans")) {
            synchronized (kernel.lock) {
                return collapse[0] + "\n";
            }
        }
        if (path.equals("khugepaged/pages_collapsed")) {
            synchronized (kernel.lock) {
                return collapse[1] + "\n";
            }
        }
        int slash = path.indexOf("/stats/");
        if (slash > 0) {
            Integer order = orderOfDirectory(path.substring(0, slash));
            String name = path.substring(slash + "/stats/".length());
            if (order != null && statsOf(order).contains(name)) {
                return stat(order, name) + "\n";
            }
        }
        return null;
    }

    private List<String> statsOf(int order) {
        boolean anon = Orders.contains(geometry.allAnonOrders(), order);
        boolean file = Orders.contains(geometry.allFileOrders(), order);
        return concat(anon ? ANON_STATS : List.of(), file ? FILE_STATS : List.of(), ANY_STATS);
    }

    @Override
    public synchronized void writeFile(String path, String value) {
        String file = ThpSettings.ROOT + "/" + path;
        kernel.faults().beforeCall("write", file);
        String existing = readFile(path);
        if (existing == null) {
            throw new KernelException(SysfsText.writeOp(value), file, Errno.ENOENT, "no such file");
        }
        ThpSettings s = settings;
        ThpSettings next = switch (path) {
            case "enabled" -> s.withEnabled(SysfsText.acceptChoice(file, value, ThpEnabled.class));
            case "defrag" -> s.withDefrag(SysfsText.acceptChoice(file, value, ThpDefrag.class));
            case "shmem_enabled" -> writeShmemTop(s, file, value);
            case "use_zero_page" -> s.withUseZeroPage(flag(file, value));
            case "shrink_underused" -> s.withShrinkUnderused(flag(file, value));
            case "khugepaged/defrag" -> s.withKhugepaged(s.khugepaged().withDefrag(flag(file, value)));
            case "khugepaged/pages_to_scan" -> {
                long pages = SysfsText.acceptUnsigned(file, value, Khugepaged.UINT_MAX);
                if (pages == 0) {
                    throw new KernelException(SysfsText.writeOp(value), file, Errno.EINVAL, "must be at least 1");
                }
                yield s.withKhugepaged(s.khugepaged().withPagesToScan(pages));
            }
            case "khugepaged/scan_sleep_millisecs" ->
                    s.withKhugepaged(s.khugepaged().withScanSleepMillis(SysfsText.acceptUnsigned(file, value, Khugepaged.UINT_MAX)));
            case "khugepaged/alloc_sleep_millisecs" ->
                    s.withKhugepaged(s.khugepaged().withAllocSleepMillis(SysfsText.acceptUnsigned(file, value, Khugepaged.UINT_MAX)));
            case "khugepaged/max_ptes_none" -> s.withKhugepaged(s.khugepaged().withMaxPtesNone(ptes(file, value)));
            case "khugepaged/max_ptes_swap" -> s.withKhugepaged(s.khugepaged().withMaxPtesSwap(ptes(file, value)));
            case "khugepaged/max_ptes_shared" -> s.withKhugepaged(s.khugepaged().withMaxPtesShared(ptes(file, value)));
            default -> writePerSize(s, path, file, value);
        };
        settings = next;
    }

    private ThpSettings writeShmemTop(ThpSettings s, String file, String value) {
        ShmemEnabled mode = SysfsText.acceptChoice(file, value, ShmemEnabled.class);
        // §8: force is rejected unless the shmem inherit sizes are exactly the PMD size.
        // Where PMD is above MAX_PAGECACHE_ORDER (arm64 64K) the kernel's PMD inherit bit has no file and is
        // not modelled, so "exactly the PMD size" reads as "no size".
        if (mode == ShmemEnabled.FORCE && s.shmemInherit() != (Orders.bit(geometry.pmdOrder()) & geometry.allFileOrders())) {
            throw new KernelException(SysfsText.writeOp(value), file, Errno.EINVAL,
                    "force needs every non-PMD size's shmem_enabled to be other than inherit");
        }
        return s.withShmemEnabled(mode);
    }

    private ThpSettings writePerSize(ThpSettings s, String path, String file, String value) {
        int slash = path.indexOf('/');
        Integer order = slash > 0 ? orderOfDirectory(path.substring(0, slash)) : null;
        String leaf = slash > 0 ? path.substring(slash + 1) : path;
        if (order != null && leaf.equals("enabled")) {
            return s.withAnonSizeEnabled(order, SysfsText.acceptChoice(file, value, AnonSizeEnabled.class));
        }
        if (order != null && leaf.equals("shmem_enabled")) {
            ShmemSizeEnabled mode = SysfsText.acceptChoice(file, value, ShmemSizeEnabled.class);
            // §3.2: inherit for a non-PMD size while the top level is force is rejected.
            if (mode == ShmemSizeEnabled.INHERIT && order != geometry.pmdOrder() && s.shmemEnabled() == ShmemEnabled.FORCE) {
                throw new KernelException(SysfsText.writeOp(value), file, Errno.EINVAL,
                        "a non-PMD size cannot inherit while shmem_enabled is force");
            }
            return s.withShmemSizeEnabled(order, mode);
        }
        // Read-only files (hpage_pmd_size, counters): kernfs refuses to open them for writing.
        throw new KernelException(SysfsText.writeOp(value), file, Errno.EACCES, "read-only file");
    }

    private Integer orderOfDirectory(String dir) {
        for (long rest = geometry.sysfsOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            if (geometry.sizeDirectory(order).equals(dir)) {
                return order;
            }
        }
        return null;
    }

    /** {@code single_hugepage_flag_store}: kstrtoul, then anything above 1 is EINVAL. */
    private static boolean flag(String file, String value) {
        long v = SysfsText.acceptUnsigned(file, value, Long.MAX_VALUE);
        if (v > 1) {
            throw new KernelException(SysfsText.writeOp(value), file, Errno.EINVAL, "accepted: 0 or 1");
        }
        return v == 1;
    }

    /** {@code max_ptes_*}: kstrtoul, then above HPAGE_PMD_NR - 1 is EINVAL. */
    private int ptes(String file, String value) {
        long v = SysfsText.acceptUnsigned(file, value, Long.MAX_VALUE);
        if (v > geometry.pmdPages() - 1) {
            throw new KernelException(SysfsText.writeOp(value), file, Errno.EINVAL, "accepted: 0.." + (geometry.pmdPages() - 1));
        }
        return (int) v;
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        return java.util.Arrays.stream(lists).flatMap(List::stream).toList();
    }

}
