package io.mthp4j.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A tiny stand-in for {@code /sys/kernel/mm/transparent_hugepage} that accepts writes the way the kernel's store
 * functions do (kernel-semantics.md §3.2, §8), written independently of {@link ThpSettings}'s bitmaps: it keeps
 * only the shown text of each file. Rules enforced:
 * <ul>
 *   <li>choices compared with {@code sysfs_streq}, numbers parsed with {@code kstrtoul}; 0/1 files, the
 *       {@code max_ptes_*} limit and {@code pages_to_scan != 0};</li>
 *   <li>{@code shmem_enabled = force} is rejected unless the per-size shmem {@code inherit} sizes are exactly the
 *       PMD size (when the PMD size has a {@code shmem_enabled} file; otherwise the kernel's hidden PMD inherit bit
 *       is always set, so no visible size may inherit);</li>
 *   <li>writing {@code inherit} to a non-PMD size while the top level is {@code force} is rejected;</li>
 *   <li>read-only files, missing files and the vendor knob {@code anon_beside_full} cannot be written.</li>
 * </ul>
 */
final class SimulatedSysfs implements ThpSettings.FileReader {

    static final String VENDOR_KNOB = "anon_beside_full";

    private final PageGeometry geometry;
    private final String pmdDir;
    private final Map<String, String> files = new TreeMap<>();
    private final List<ThpSettings.Write> log = new ArrayList<>();

    SimulatedSysfs(PageGeometry geometry, Map<String, String> shown) {
        this.geometry = geometry;
        this.pmdDir = geometry.sizeDirectory(geometry.pmdOrder());
        files.putAll(shown);
        files.put(VENDOR_KNOB, "0\n");
        files.put("khugepaged/full_scans", "0\n");
        files.put("khugepaged/pages_collapsed", "0\n");
    }

    @Override
    public String read(String relativePath) {
        return files.get(relativePath);
    }

    /** The files {@link ThpSettings#render()} models (no vendor knob, no counters). */
    Map<String, String> settingsFiles() {
        Map<String, String> copy = new TreeMap<>(files);
        copy.remove(VENDOR_KNOB);
        copy.remove("khugepaged/full_scans");
        copy.remove("khugepaged/pages_collapsed");
        return copy;
    }

    List<ThpSettings.Write> log() {
        return log;
    }

    void apply(List<ThpSettings.Write> writes) {
        for (ThpSettings.Write w : writes) {
            write(w.path(), w.value());
        }
    }

    void write(String path, String value) {
        String full = ThpSettings.ROOT + "/" + path;
        if (path.equals(VENDOR_KNOB)) {
            throw new AssertionError("the vendor knob " + VENDOR_KNOB + " must never be written");
        }
        if (!files.containsKey(path)) {
            throw new KernelException(SysfsText.writeOp(value), full, Errno.ENOENT, "no such file");
        }
        switch (path) {
            case "enabled" -> files.put(path, SysfsText.showChoice(SysfsText.acceptChoice(full, value, ThpEnabled.class)));
            case "defrag" -> files.put(path, SysfsText.showChoice(SysfsText.acceptChoice(full, value, ThpDefrag.class)));
            case "shmem_enabled" -> {
                ShmemEnabled v = SysfsText.acceptChoice(full, value, ShmemEnabled.class);
                if (v == ShmemEnabled.FORCE && !inheritIsExactlyPmd()) {
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EINVAL,
                            "force needs the shmem inherit sizes to be exactly the PMD size");
                }
                files.put(path, SysfsText.showChoice(v));
            }
            case "use_zero_page", "shrink_underused", "khugepaged/defrag" -> {
                long n = SysfsText.acceptUnsigned(full, value, Long.MAX_VALUE);
                if (n > 1) {
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EINVAL, "0 or 1");
                }
                files.put(path, n + "\n");
            }
            case "khugepaged/pages_to_scan" -> {
                long n = SysfsText.acceptUnsigned(full, value, Khugepaged.UINT_MAX);
                if (n == 0) {
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EINVAL, "must not be 0");
                }
                files.put(path, n + "\n");
            }
            case "khugepaged/scan_sleep_millisecs", "khugepaged/alloc_sleep_millisecs" ->
                    files.put(path, SysfsText.acceptUnsigned(full, value, Khugepaged.UINT_MAX) + "\n");
            case "khugepaged/max_ptes_none", "khugepaged/max_ptes_swap", "khugepaged/max_ptes_shared" -> {
                long n = SysfsText.acceptUnsigned(full, value, Long.MAX_VALUE);
                if (n > geometry.pmdPages() - 1) {
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EINVAL, "above HPAGE_PMD_NR - 1");
                }
                files.put(path, n + "\n");
            }
            case "hpage_pmd_size", "khugepaged/full_scans", "khugepaged/pages_collapsed" ->
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EACCES, "read-only");
            default -> {
                if (path.startsWith("hugepages-") && path.endsWith("/enabled")) {
                    files.put(path, SysfsText.showChoice(SysfsText.acceptChoice(full, value, AnonSizeEnabled.class)));
                } else if (path.startsWith("hugepages-") && path.endsWith("/shmem_enabled")) {
                    ShmemSizeEnabled v = SysfsText.acceptChoice(full, value, ShmemSizeEnabled.class);
                    if (v == ShmemSizeEnabled.INHERIT && !path.startsWith(pmdDir + "/") && topIsForce()) {
                        throw new KernelException(SysfsText.writeOp(value), full, Errno.EINVAL,
                                "a non-PMD size cannot inherit under force");
                    }
                    files.put(path, SysfsText.showChoice(v));
                } else {
                    throw new KernelException(SysfsText.writeOp(value), full, Errno.EACCES, "not writable");
                }
            }
        }
        log.add(new ThpSettings.Write(path, value));
    }

    private boolean topIsForce() {
        return SysfsText.parseChoice("shmem_enabled", files.get("shmem_enabled"), ShmemEnabled.class) == ShmemEnabled.FORCE;
    }

    private boolean inheritIsExactlyPmd() {
        boolean pmdHasFile = files.containsKey(pmdDir + "/shmem_enabled");
        boolean pmdInherits = !pmdHasFile;
        for (Map.Entry<String, String> e : files.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("hugepages-") || !key.endsWith("/shmem_enabled")) {
                continue;
            }
            boolean inherit = SysfsText.parseChoice(key, e.getValue(), ShmemSizeEnabled.class) == ShmemSizeEnabled.INHERIT;
            if (key.startsWith(pmdDir + "/")) {
                pmdInherits = inherit;
            } else if (inherit) {
                return false;
            }
        }
        return pmdInherits;
    }
}
