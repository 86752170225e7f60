package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.SysfsText;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.core.kernel.ThpSysfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * {@code /sys/kernel/mm/transparent_hugepage} (kernel-semantics.md §3). Writes go through {@code write(2)}
 * so the kernel's errno (EINVAL for a value a file rejects) reaches the caller unchanged. The vendor knob
 * {@code anon_beside_full} is never written (linux-interfaces.md §10.2).
 */
final class LinuxThpSysfs implements ThpSysfs {

    /** The vendor knob no mthp4j code may write. */
    static final String VENDOR_KNOB = "anon_beside_full";

    private final Path root;
    private final PageGeometry geometry;

    LinuxThpSysfs(Path root, PageGeometry geometry) {
        this.root = Objects.requireNonNull(root, "root");
        this.geometry = Objects.requireNonNull(geometry, "geometry");
    }

    @Override
    public PageGeometry geometry() {
        return geometry;
    }

    Path root() {
        return root;
    }

    @Override
    public String readFile(String relativePath) {
        Path file = resolve(relativePath);
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return null;
        } catch (AccessDeniedException e) {
            throw new KernelException("read", file.toString(), Errno.EACCES.value(), "reading it needs root", e);
        } catch (IOException e) {
            if (Files.isDirectory(file)) {
                throw new KernelException("read", file.toString(), Errno.EISDIR.value(), "it is a directory", e);
            }
            throw new KernelException("read", file.toString(), Errno.EIO.value(), e.toString(), e);
        }
    }

    @Override
    public void writeFile(String relativePath, String value) {
        Path file = resolve(relativePath);
        if (relativePath.equals(VENDOR_KNOB) || relativePath.endsWith("/" + VENDOR_KNOB)) {
            throw new IllegalArgumentException("mthp4j never writes the vendor knob " + file
                    + " (unknown semantics; linux-interfaces.md §10.2)");
        }
        Sys.requireAvailable();
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        int fd = Sys.open(file.toString(), Libc.O_WRONLY, SysfsText.writeOp(value));
        try {
            Sys.writeOnce(fd, bytes, bytes.length, SysfsText.writeOp(value), file.toString(), einvalHint(relativePath));
        } finally {
            Sys.closeQuietly(fd);
        }
    }

    private Path resolve(String relativePath) {
        if (relativePath.isEmpty() || relativePath.startsWith("/") || relativePath.contains("..")) {
            throw new IllegalArgumentException("a THP sysfs path relative to " + root + " without \"..\", was \"" + relativePath + "\"");
        }
        return root.resolve(relativePath);
    }

    private static String einvalHint(String relativePath) {
        String name = relativePath.substring(relativePath.lastIndexOf('/') + 1);
        return switch (name) {
            case "enabled" -> relativePath.contains("/") ? "accepted: always inherit madvise never" : "accepted: always madvise never";
            case "defrag" -> relativePath.contains("/") ? "accepted: 0 1" : "accepted: always defer defer+madvise madvise never";
            case "shmem_enabled" -> relativePath.contains("/")
                    ? "accepted: always inherit within_size advise never (inherit is refused for non-PMD sizes under top-level force)"
                    : "accepted: always within_size advise never deny force (force needs only the PMD size inherit)";
            case "max_ptes_none", "max_ptes_swap", "max_ptes_shared" -> "accepted: 0..HPAGE_PMD_NR-1";
            case "use_zero_page", "shrink_underused" -> "accepted: 0 1";
            default -> "the kernel rejected the value";
        };
    }

    /** The page geometry of this machine: its architecture and page size, checked against {@code hpage_pmd_size}. */
    static PageGeometry detectGeometry(Path root) {
        int pageSize = Libc.getpagesize();
        PageGeometry g = switch (Arch.current()) {
            case X86_64 -> PageGeometry.X86_64_4K;
            case AARCH64 -> switch (pageSize) {
                case 4096 -> PageGeometry.ARM64_4K;
                case 16384 -> PageGeometry.ARM64_16K;
                case 65536 -> PageGeometry.ARM64_64K;
                default -> throw new IllegalStateException("unknown arm64 page size " + pageSize);
            };
        };
        return checkGeometry(root, g);
    }

    /** {@code g} if its page size and PMD size are this machine's; otherwise a message saying what differs. */
    static PageGeometry checkGeometry(Path root, PageGeometry g) {
        int pageSize = Libc.getpagesize();
        if (g.pageSize() != pageSize) {
            throw new IllegalStateException("this machine's page size is " + pageSize + " but the geometry " + g + " has " + g.pageSize());
        }
        Path pmd = root.resolve("hpage_pmd_size");
        try {
            long pmdSize = SysfsText.parseNumber(pmd.toString(), Files.readString(pmd));
            if (pmdSize != g.pmdSize()) {
                throw new IllegalStateException(pmd + " says " + pmdSize + " but the geometry " + g + " has " + g.pmdSize()
                        + "; construct the backend with the right PageGeometry");
            }
        } catch (NoSuchFileException e) {
            throw new IllegalStateException(pmd + " is missing: this kernel has no transparent huge pages", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + pmd + ": " + e, e);
        }
        return g;
    }
}
