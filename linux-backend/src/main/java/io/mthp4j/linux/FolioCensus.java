package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which folio sizes back a range of a process, from {@code /proc/<pid>/pagemap} and {@code /proc/kpageflags}
 * (linux-interfaces.md §6.5, what the kernel's {@code tools/mm/thpmaps} reports): smaps has no per-size mTHP
 * field. Needs root (without CAP_SYS_ADMIN pagemap shows PFN 0).
 *
 * <p>A folio is a run that starts at a present page whose flags have COMPOUND_HEAD and goes on while the next
 * page is present, its PFN is the previous + 1 and its flags have COMPOUND_TAIL; its order is
 * ceil(log2(run)). A page without HEAD is order 0. Tail pages at the start of the range (a folio that begins
 * before it) are counted as {@link #partialPages}. Zero-page mappings (read faults) are counted apart.
 *
 * @param foliosByOrder complete folios per order (order 0 = base pages), only non-zero counts
 * @param partialPages  pages of folios cut by the start of the range
 * @param zeroPages     pages mapping the (huge) zero page
 * @param absentPages   pages not present
 * @param pageSize      base page size
 */
public record FolioCensus(SortedMap<Integer, Long> foliosByOrder, long partialPages, long zeroPages, long absentPages,
                          long pageSize) {

    // kpageflags bits (§6.5)
    static final int KPF_ANON = 12;
    static final int KPF_COMPOUND_HEAD = 15;
    static final int KPF_COMPOUND_TAIL = 16;
    static final int KPF_THP = 22;
    static final int KPF_ZERO_PAGE = 24;

    static final long PFN_MASK = (1L << 55) - 1;
    static final Path KPAGEFLAGS = Path.of("/proc/kpageflags");

    public FolioCensus {
        foliosByOrder = Collections.unmodifiableSortedMap(new TreeMap<>(foliosByOrder));
    }

    /** Folios of {@code order}. */
    public long folios(int order) {
        return foliosByOrder.getOrDefault(order, 0L);
    }

    /** Bytes per folio size ({@code 65536 -> bytes in 64 KiB folios}), like thpmaps' per-size lines. */
    public SortedMap<Long, Long> bytesBySize() {
        SortedMap<Long, Long> out = new TreeMap<>();
        foliosByOrder.forEach((order, n) -> out.put(Orders.bytes(order, pageSize), n * Orders.bytes(order, pageSize)));
        return Collections.unmodifiableSortedMap(out);
    }

    /** Present bytes in complete folios of order 1 or more. */
    public long hugeBytes() {
        long sum = 0;
        for (Map.Entry<Integer, Long> e : foliosByOrder.entrySet()) {
            if (e.getKey() > 0) {
                sum += e.getValue() * Orders.bytes(e.getKey(), pageSize);
            }
        }
        return sum;
    }

    /** This census plus another (e.g. of another VMA). */
    public FolioCensus plus(FolioCensus o) {
        SortedMap<Integer, Long> sum = new TreeMap<>(foliosByOrder);
        o.foliosByOrder.forEach((k, v) -> sum.merge(k, v, Long::sum));
        return new FolioCensus(sum, partialPages + o.partialPages, zeroPages + o.zeroPages, absentPages + o.absentPages, pageSize);
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("FolioCensus[");
        foliosByOrder.forEach((order, n) -> out.append(n).append(" x ").append(Orders.formatSize(Orders.bytes(order, pageSize))).append(", "));
        return out.append("partial ").append(partialPages).append(" pages, zero ").append(zeroPages)
                .append(" pages, absent ").append(absentPages).append(" pages]").toString();
    }

    /** The census of {@code [start, start + length)} in process {@code pid}. */
    public static FolioCensus of(long pid, long start, long length, PageGeometry geometry) {
        long pageSize = geometry.pageSize();
        if (start % pageSize != 0 || length % pageSize != 0 || length < 0) {
            throw new IllegalArgumentException("range must be page-aligned, was 0x" + Long.toHexString(start) + " + " + length);
        }
        Path pagemap = Path.of("/proc", Long.toString(pid), "pagemap");
        int pages = Math.toIntExact(length / pageSize);
        long[] entries = new long[pages];
        try (FileChannel pm = open(pagemap, pid); FileChannel kf = open(KPAGEFLAGS, pid)) {
            ByteBuffer buf = ByteBuffer.allocate(pages * 8).order(ByteOrder.nativeOrder());
            readFully(pm, buf, (start / pageSize) * 8, pagemap);
            buf.flip();
            buf.asLongBuffer().get(entries);
            return count(entries, pfn -> flags(kf, pfn), pageSize);
        } catch (IOException e) {
            throw new KernelException("read", pagemap.toString(), Errno.EIO.value(), e.toString(), e);
        }
    }

    /** The census of every mapping of {@code pid} (from {@code /proc/<pid>/maps}). */
    public static FolioCensus ofProcess(long pid, PageGeometry geometry) {
        Path maps = Path.of("/proc", Long.toString(pid), "maps");
        FolioCensus total = new FolioCensus(new TreeMap<>(), 0, 0, 0, geometry.pageSize());
        for (String line : ProcText.read(maps, "the process exited").split("\n")) {
            if (line.isBlank() || line.endsWith("[vsyscall]")) {
                continue;
            }
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            total = total.plus(of(pid, start, end - start, geometry));
        }
        return total;
    }

    @FunctionalInterface
    interface Flags {
        long of(long pfn) throws IOException;
    }

    /** The run-length count over pagemap entries; {@code flags} reads kpageflags of a PFN. */
    static FolioCensus count(long[] pagemap, Flags flags, long pageSize) throws IOException {
        SortedMap<Integer, Long> folios = new TreeMap<>();
        long partial = 0;
        long zero = 0;
        long absent = 0;
        int i = 0;
        boolean atStart = true;
        while (i < pagemap.length) {
            long e = pagemap[i];
            if (e >= 0) { // bit 63 clear: not present
                absent++;
                i++;
                atStart = false;
                continue;
            }
            long pfn = e & PFN_MASK;
            long f = flags.of(pfn);
            if (bit(f, KPF_ZERO_PAGE)) {
                zero++;
                i++;
            } else if (bit(f, KPF_COMPOUND_HEAD)) {
                int run = 1;
                while (i + run < pagemap.length && pagemap[i + run] < 0 && (pagemap[i + run] & PFN_MASK) == pfn + run
                        && bit(flags.of(pfn + run), KPF_COMPOUND_TAIL)) {
                    run++;
                }
                int order = 64 - Long.numberOfLeadingZeros(run - 1L); // ceil(log2(run))
                folios.merge(order, 1L, Long::sum);
                i += run;
            } else if (bit(f, KPF_COMPOUND_TAIL) && atStart) {
                partial++;
                i++;
                continue; // still inside the folio cut by the start
            } else {
                folios.merge(0, 1L, Long::sum);
                i++;
            }
            atStart = false;
        }
        return new FolioCensus(folios, partial, zero, absent, pageSize);
    }

    private static boolean bit(long flags, int bit) {
        return (flags >>> bit & 1) != 0;
    }

    private static long flags(FileChannel kf, long pfn) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        readFully(kf, b, pfn * 8, KPAGEFLAGS);
        return b.getLong(0);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new KernelException("read", file.toString(), Errno.EIO.value(), "short read at offset " + pos, null);
            }
            pos += n;
        }
    }

    private static FileChannel open(Path file, long pid) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new KernelException("open", file.toString(), Errno.ENOENT.value(), "no process " + pid + " (exited?)", e);
        } catch (AccessDeniedException e) {
            throw new KernelException("open", file.toString(), Errno.EACCES.value(), "the folio census needs root (CAP_SYS_ADMIN)", e);
        }
    }

}
