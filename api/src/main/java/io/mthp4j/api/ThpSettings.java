package io.mthp4j.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Every THP knob under {@code /sys/kernel/mm/transparent_hugepage/}, as one immutable value
 * (kernel-semantics.md §3; the selftests' {@code thp_settings} shape, §13.2).
 *
 * <p>Per-size modes are kept as the kernel keeps them: one bitmap per mode, each size in at most one
 * (a size in none is {@code never}). That makes the order gate's masks a few {@code long} operations.
 * Read with {@link #read}, render with {@link #render}, and turn a change into sysfs writes with
 * {@link #writesTo}. The vendor knob {@code anon_beside_full} is deliberately not modelled: nothing here
 * reads or writes it (linux-interfaces.md §10.2).
 *
 * @param geometry        page geometry: which sizes exist
 * @param enabled         top-level {@code enabled}
 * @param defrag          top-level {@code defrag}
 * @param shmemEnabled    top-level {@code shmem_enabled}
 * @param useZeroPage     {@code use_zero_page}
 * @param shrinkUnderused {@code shrink_underused}
 * @param anonAlways      sizes whose {@code enabled} is {@code always}
 * @param anonInherit     sizes whose {@code enabled} is {@code inherit}
 * @param anonMadvise     sizes whose {@code enabled} is {@code madvise}
 * @param shmemAlways     sizes whose {@code shmem_enabled} is {@code always}
 * @param shmemInherit    sizes whose {@code shmem_enabled} is {@code inherit}
 * @param shmemWithinSize sizes whose {@code shmem_enabled} is {@code within_size}
 * @param shmemAdvise     sizes whose {@code shmem_enabled} is {@code advise}
 * @param khugepaged      the khugepaged tunables
 */
public record ThpSettings(PageGeometry geometry, ThpEnabled enabled, ThpDefrag defrag, ShmemEnabled shmemEnabled,
                          boolean useZeroPage, boolean shrinkUnderused,
                          long anonAlways, long anonInherit, long anonMadvise,
                          long shmemAlways, long shmemInherit, long shmemWithinSize, long shmemAdvise,
                          Khugepaged khugepaged) {

    /** The directory every relative path here is under. */
    public static final String ROOT = "/sys/kernel/mm/transparent_hugepage";

    public ThpSettings {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(enabled, "enabled");
        Objects.requireNonNull(defrag, "defrag");
        Objects.requireNonNull(shmemEnabled, "shmemEnabled");
        Objects.requireNonNull(khugepaged, "khugepaged");
        checkBitmaps("enabled", geometry.allAnonOrders(), anonAlways, anonInherit, anonMadvise, 0);
        checkBitmaps("shmem_enabled", geometry.allFileOrders(), shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise);
        int maxPtes = geometry.pmdPages() - 1;
        Khugepaged.checkRange("max_ptes_none", khugepaged.maxPtesNone(), 0, maxPtes);
        Khugepaged.checkRange("max_ptes_swap", khugepaged.maxPtesSwap(), 0, maxPtes);
        Khugepaged.checkRange("max_ptes_shared", khugepaged.maxPtesShared(), 0, maxPtes);
    }

    /**
     * The kernel's boot defaults with {@code CONFIG_TRANSPARENT_HUGEPAGE_MADVISE} (our machines, §3.1,
     * linux-interfaces.md §6.1): {@code madvise}, defrag {@code madvise}, shmem {@code never}, only the PMD
     * size {@code inherit} (anon and shmem), default khugepaged tunables.
     */
    public static ThpSettings defaults(PageGeometry geometry) {
        long pmd = Orders.bit(geometry.pmdOrder());
        // Where the PMD order is above MAX_PAGECACHE_ORDER (arm64 64K) there is no PMD shmem file to set.
        long shmemPmd = pmd & geometry.allFileOrders();
        return new ThpSettings(geometry, ThpEnabled.MADVISE, ThpDefrag.MADVISE, ShmemEnabled.NEVER, true, true,
                0, pmd, 0, 0, shmemPmd, 0, 0, Khugepaged.defaults(geometry));
    }

    // ---- the order gate's view (§3.1, §3.4) ----

    /** {@code hugepage_global_enabled()}: top-level {@code always} or {@code madvise}. */
    public boolean globalEnabled() {
        return enabled != ThpEnabled.NEVER;
    }

    /** {@code hugepage_global_always()}: top-level {@code always}. */
    public boolean globalAlways() {
        return enabled == ThpEnabled.ALWAYS;
    }

    /**
     * The anon sysfs mask of §3.4: {@code always} sizes; {@code madvise} sizes for VM_HUGEPAGE; {@code inherit}
     * sizes if the top level is {@code always}, or {@code madvise} with VM_HUGEPAGE.
     */
    public long anonMask(int vmaFlags) {
        boolean hugepage = (vmaFlags & VmaFlag.HUGEPAGE.mask()) != 0;
        long mask = anonAlways;
        if (hugepage) {
            mask |= anonMadvise;
        }
        if (enabled == ThpEnabled.ALWAYS || (hugepage && enabled == ThpEnabled.MADVISE)) {
            mask |= anonInherit;
        }
        return mask;
    }

    // ---- per-size values ----

    /** The {@code hugepages-<N>kB/enabled} value of an anon order. */
    public AnonSizeEnabled anonSizeEnabled(int order) {
        checkOrder("enabled", order, geometry.allAnonOrders());
        long bit = 1L << order;
        if ((anonAlways & bit) != 0) {
            return AnonSizeEnabled.ALWAYS;
        }
        if ((anonInherit & bit) != 0) {
            return AnonSizeEnabled.INHERIT;
        }
        return (anonMadvise & bit) != 0 ? AnonSizeEnabled.MADVISE : AnonSizeEnabled.NEVER;
    }

    /** The {@code hugepages-<N>kB/shmem_enabled} value of a file order. */
    public ShmemSizeEnabled shmemSizeEnabled(int order) {
        checkOrder("shmem_enabled", order, geometry.allFileOrders());
        long bit = 1L << order;
        if ((shmemAlways & bit) != 0) {
            return ShmemSizeEnabled.ALWAYS;
        }
        if ((shmemInherit & bit) != 0) {
            return ShmemSizeEnabled.INHERIT;
        }
        if ((shmemWithinSize & bit) != 0) {
            return ShmemSizeEnabled.WITHIN_SIZE;
        }
        return (shmemAdvise & bit) != 0 ? ShmemSizeEnabled.ADVISE : ShmemSizeEnabled.NEVER;
    }

    // ---- withers ----

    public ThpSettings withEnabled(ThpEnabled value) {
        return new ThpSettings(geometry, value, defrag, shmemEnabled, useZeroPage, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    public ThpSettings withDefrag(ThpDefrag value) {
        return new ThpSettings(geometry, enabled, value, shmemEnabled, useZeroPage, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    public ThpSettings withShmemEnabled(ShmemEnabled value) {
        return new ThpSettings(geometry, enabled, defrag, value, useZeroPage, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    public ThpSettings withUseZeroPage(boolean value) {
        return new ThpSettings(geometry, enabled, defrag, shmemEnabled, value, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    public ThpSettings withShrinkUnderused(boolean value) {
        return new ThpSettings(geometry, enabled, defrag, shmemEnabled, useZeroPage, value, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    public ThpSettings withKhugepaged(Khugepaged value) {
        return new ThpSettings(geometry, enabled, defrag, shmemEnabled, useZeroPage, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, value);
    }

    /** Sets one anon size, as a write to its {@code enabled} file does: in one bitmap, out of the others. */
    public ThpSettings withAnonSizeEnabled(int order, AnonSizeEnabled value) {
        checkOrder("enabled", order, geometry.allAnonOrders());
        long bit = 1L << order;
        long always = anonAlways & ~bit;
        long inherit = anonInherit & ~bit;
        long madvise = anonMadvise & ~bit;
        switch (value) {
            case ALWAYS -> always |= bit;
            case INHERIT -> inherit |= bit;
            case MADVISE -> madvise |= bit;
            case NEVER -> { }
        }
        return new ThpSettings(geometry, enabled, defrag, shmemEnabled, useZeroPage, shrinkUnderused, always, inherit,
                madvise, shmemAlways, shmemInherit, shmemWithinSize, shmemAdvise, khugepaged);
    }

    /** Sets every anon size in {@code orders} to {@code value}. */
    public ThpSettings withAnonSizesEnabled(long orders, AnonSizeEnabled value) {
        ThpSettings result = this;
        for (long rest = orders; rest != 0; rest &= rest - 1) {
            result = result.withAnonSizeEnabled(Long.numberOfTrailingZeros(rest), value);
        }
        return result;
    }

    /** Sets one shmem size, as a write to its {@code shmem_enabled} file does. */
    public ThpSettings withShmemSizeEnabled(int order, ShmemSizeEnabled value) {
        checkOrder("shmem_enabled", order, geometry.allFileOrders());
        long bit = 1L << order;
        long always = shmemAlways & ~bit;
        long inherit = shmemInherit & ~bit;
        long withinSize = shmemWithinSize & ~bit;
        long advise = shmemAdvise & ~bit;
        switch (value) {
            case ALWAYS -> always |= bit;
            case INHERIT -> inherit |= bit;
            case WITHIN_SIZE -> withinSize |= bit;
            case ADVISE -> advise |= bit;
            case NEVER -> { }
        }
        return new ThpSettings(geometry, enabled, defrag, shmemEnabled, useZeroPage, shrinkUnderused, anonAlways,
                anonInherit, anonMadvise, always, inherit, withinSize, advise, khugepaged);
    }

    // ---- sysfs text, both ways ----

    /** Reads a file below {@link #ROOT} by its relative path; returns {@code null} if it does not exist. */
    @FunctionalInterface
    public interface FileReader {
        String read(String relativePath);
    }

    /** One write of {@code value} to the file {@code path} below {@link #ROOT}. */
    public record Write(String path, String value) {
        @Override
        public String toString() {
            return "write \"" + value + "\" to " + ROOT + "/" + path;
        }
    }

    /**
     * Reads every knob through {@code reader} (relative paths as in {@link #render()}). {@code shrink_underused}
     * may be absent (older kernels; taken as 1); everything else must be there.
     *
     * @throws SysfsFormatException naming the file and quoting its text, for missing or malformed files, or a
     *                              {@code hpage_pmd_size} that does not match {@code geometry}
     */
    public static ThpSettings read(PageGeometry geometry, FileReader reader) {
        String pmdSizeText = reader.read("hpage_pmd_size");
        long pmdSize = SysfsText.parseNumber(path("hpage_pmd_size"), pmdSizeText);
        if (pmdSize != geometry.pmdSize()) {
            throw new SysfsFormatException(path("hpage_pmd_size"), pmdSizeText, "the geometry expects "
                    + geometry.pmdSize() + "; read the settings with the geometry of this machine");
        }
        ThpSettings s = defaults(geometry)
                .withEnabled(choice(reader, "enabled", ThpEnabled.class))
                .withDefrag(choice(reader, "defrag", ThpDefrag.class))
                .withShmemEnabled(choice(reader, "shmem_enabled", ShmemEnabled.class))
                .withUseZeroPage(bool(reader, "use_zero_page"));
        String shrink = reader.read("shrink_underused");
        s = s.withShrinkUnderused(shrink == null || bool(reader, "shrink_underused"));
        for (long rest = geometry.sysfsOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            String dir = geometry.sizeDirectory(order);
            if (Orders.contains(geometry.allAnonOrders(), order)) {
                s = s.withAnonSizeEnabled(order, choice(reader, dir + "/enabled", AnonSizeEnabled.class));
            }
            if (Orders.contains(geometry.allFileOrders(), order)) {
                s = s.withShmemSizeEnabled(order, choice(reader, dir + "/shmem_enabled", ShmemSizeEnabled.class));
            }
        }
        Khugepaged k = new Khugepaged(bool(reader, "khugepaged/defrag"),
                uint(reader, "khugepaged/pages_to_scan", 1),
                uint(reader, "khugepaged/scan_sleep_millisecs", 0),
                uint(reader, "khugepaged/alloc_sleep_millisecs", 0),
                ptes(reader, "khugepaged/max_ptes_none", geometry),
                ptes(reader, "khugepaged/max_ptes_swap", geometry),
                ptes(reader, "khugepaged/max_ptes_shared", geometry));
        return s.withKhugepaged(k);
    }

    /**
     * Every settings file, by path relative to {@link #ROOT}, with the text the kernel shows for it
     * (including {@code hpage_pmd_size}, which is read-only). Insertion order is a valid write order.
     */
    public Map<String, String> render() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("enabled", SysfsText.showChoice(enabled));
        files.put("defrag", SysfsText.showChoice(defrag));
        files.put("use_zero_page", (useZeroPage ? 1 : 0) + "\n");
        files.put("shrink_underused", (shrinkUnderused ? 1 : 0) + "\n");
        files.put("hpage_pmd_size", geometry.pmdSize() + "\n");
        files.put("shmem_enabled", SysfsText.showChoice(shmemEnabled));
        for (long rest = geometry.sysfsOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            String dir = geometry.sizeDirectory(order);
            if (Orders.contains(geometry.allAnonOrders(), order)) {
                files.put(dir + "/enabled", SysfsText.showChoice(anonSizeEnabled(order)));
            }
            if (Orders.contains(geometry.allFileOrders(), order)) {
                files.put(dir + "/shmem_enabled", SysfsText.showChoice(shmemSizeEnabled(order)));
            }
        }
        files.put("khugepaged/defrag", (khugepaged.defrag() ? 1 : 0) + "\n");
        files.put("khugepaged/pages_to_scan", khugepaged.pagesToScan() + "\n");
        files.put("khugepaged/scan_sleep_millisecs", khugepaged.scanSleepMillis() + "\n");
        files.put("khugepaged/alloc_sleep_millisecs", khugepaged.allocSleepMillis() + "\n");
        files.put("khugepaged/max_ptes_none", khugepaged.maxPtesNone() + "\n");
        files.put("khugepaged/max_ptes_swap", khugepaged.maxPtesSwap() + "\n");
        files.put("khugepaged/max_ptes_shared", khugepaged.maxPtesShared() + "\n");
        return files;
    }

    /**
     * The writes that turn these settings into {@code target}: only files whose value differs, in an order
     * the kernel accepts. {@code shmem_enabled = force} requires the shmem {@code inherit} sizes to be exactly
     * the PMD size, and a non-PMD size cannot become {@code inherit} under {@code force}; so the top-level
     * {@code shmem_enabled} is written last when the target is {@code force} and first otherwise. A {@code force}
     * target whose PMD size does not inherit (reachable: the kernel lets the PMD size leave {@code inherit} under
     * {@code force}) is reached through the PMD size's {@code inherit}: its file is written {@code inherit}
     * before {@code force} and its own value after. A target no kernel can reach ({@code force} with a non-PMD
     * size {@code inherit}) gives writes the kernel refuses.
     */
    public List<Write> writesTo(ThpSettings target) {
        if (!geometry.equals(target.geometry)) {
            throw new IllegalArgumentException("cannot turn settings of " + geometry + " into settings of " + target.geometry);
        }
        Map<String, String> from = render();
        Map<String, String> to = target.render();
        List<Write> writes = new ArrayList<>();
        Write shmemTop = null;
        for (Map.Entry<String, String> e : to.entrySet()) {
            String file = e.getKey();
            if (file.equals("hpage_pmd_size") || e.getValue().equals(from.get(file))) {
                continue;
            }
            Write write = new Write(file, selected(e.getValue()));
            if (file.equals("shmem_enabled")) {
                shmemTop = write;
            } else {
                writes.add(write);
            }
        }
        if (shmemTop != null) {
            int pmd = geometry.pmdOrder();
            if (target.shmemEnabled == ShmemEnabled.FORCE && Orders.contains(geometry.allFileOrders(), pmd)
                    && !Orders.contains(target.shmemInherit, pmd)) {
                String pmdFile = geometry.sizeDirectory(pmd) + "/shmem_enabled";
                writes.removeIf(w -> w.path().equals(pmdFile));
                if (!Orders.contains(shmemInherit, pmd)) {
                    writes.add(new Write(pmdFile, ShmemSizeEnabled.INHERIT.sysfsName()));
                }
                writes.add(shmemTop);
                writes.add(new Write(pmdFile, target.shmemSizeEnabled(pmd).sysfsName()));
            } else if (target.shmemEnabled == ShmemEnabled.FORCE) {
                writes.add(shmemTop);
            } else {
                writes.add(0, shmemTop);
            }
        }
        return writes;
    }

    /** The value to write for a shown text: the bracketed word, or the number. */
    private static String selected(String shown) {
        int open = shown.indexOf('[');
        return open >= 0 ? shown.substring(open + 1, shown.indexOf(']')) : shown.strip();
    }

    private static String path(String relative) {
        return ROOT + "/" + relative;
    }

    private static <E extends Enum<E> & SysfsChoice> E choice(FileReader reader, String file, Class<E> type) {
        return SysfsText.parseChoice(path(file), reader.read(file), type);
    }

    /** An {@code unsigned int} tunable of at least {@code min}, as {@link Khugepaged} requires. */
    private static long uint(FileReader reader, String file, long min) {
        String text = reader.read(file);
        long value = SysfsText.parseNumber(path(file), text);
        if (value < min || value > Khugepaged.UINT_MAX) {
            throw new SysfsFormatException(path(file), text, "expected " + min + ".." + Khugepaged.UINT_MAX);
        }
        return value;
    }

    private static boolean bool(FileReader reader, String file) {
        String text = reader.read(file);
        long value = SysfsText.parseNumber(path(file), text);
        if (value > 1) {
            throw new SysfsFormatException(path(file), text, "expected 0 or 1");
        }
        return value == 1;
    }

    private static int ptes(FileReader reader, String file, PageGeometry geometry) {
        String text = reader.read(file);
        long value = SysfsText.parseNumber(path(file), text);
        if (value > geometry.pmdPages() - 1) {
            throw new SysfsFormatException(path(file), text, "above HPAGE_PMD_NR - 1 = " + (geometry.pmdPages() - 1));
        }
        return (int) value;
    }

    private static void checkBitmaps(String file, long allowed, long a, long b, long c, long d) {
        long all = a | b | c | d;
        if ((all & ~allowed) != 0) {
            throw new IllegalArgumentException("per-size " + file + " set for orders without such a file: 0x"
                    + Long.toHexString(all & ~allowed) + " (allowed orders 0x" + Long.toHexString(allowed) + ")");
        }
        if ((a & b) != 0 || (a & c) != 0 || (a & d) != 0 || (b & c) != 0 || (b & d) != 0 || (c & d) != 0) {
            throw new IllegalArgumentException("per-size " + file + " bitmaps overlap: a size has exactly one value");
        }
    }

    private static void checkOrder(String file, int order, long allowed) {
        if (!Orders.contains(allowed, order)) {
            throw new IllegalArgumentException("order " + order + " has no hugepages-<N>kB/" + file
                    + " file (orders with one: 0x" + Long.toHexString(allowed) + ")");
        }
    }
}
