package io.mthp4j.core.kernel;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ThpSettings;

/**
 * The files under {@code /sys/kernel/mm/transparent_hugepage/} (kernel-semantics.md §3), by path relative
 * to that directory ({@code enabled}, {@code hugepages-64kB/enabled}, {@code khugepaged/max_ptes_none},
 * {@code hugepages-64kB/stats/anon_fault_alloc}). A backend implements the two file operations; settings
 * as a value come for free.
 */
public interface ThpSysfs {

    /** The geometry whose size directories exist. */
    PageGeometry geometry();

    /**
     * The text of a file, as the kernel shows it, or {@code null} if it does not exist.
     *
     * @throws io.mthp4j.api.KernelException if it exists but cannot be read
     */
    String readFile(String relativePath);

    /**
     * Writes {@code value} to a file, as {@code echo value > file} would (one write call).
     *
     * @throws io.mthp4j.api.KernelException with the kernel's errno (EINVAL for a value the file rejects)
     */
    void writeFile(String relativePath, String value);

    /** Every setting, read from the files. */
    default ThpSettings read() {
        return ThpSettings.read(geometry(), this::readFile);
    }

    /**
     * Makes the settings equal to {@code target} by writing only the files that differ, in an order the kernel
     * accepts. Stops at the first failing write and throws its exception; the writes before it stay done.
     */
    default void apply(ThpSettings target) {
        for (ThpSettings.Write write : read().writesTo(target)) {
            writeFile(write.path(), write.value());
        }
    }

    /** A per-size counter, {@code hugepages-<N>kB/stats/<name>}. */
    default long sizeStat(int order, String name) {
        String path = geometry().sizeDirectory(order) + "/stats/" + name;
        return io.mthp4j.api.SysfsText.parseNumber(ThpSettings.ROOT + "/" + path, readFile(path));
    }
}
