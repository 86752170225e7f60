package io.mthp4j.linux;

import com.sun.jna.Pointer;
import io.mthp4j.api.Errno;

/**
 * An anonymous private mapping of this process, aligned to {@code alignment} (over-mapped, then trimmed),
 * for tests and the scenario harness. Closing unmaps it.
 */
final class AnonMapping implements AutoCloseable {

    private final long address;
    private final long length;
    private boolean closed;

    private AnonMapping(long address, long length) {
        this.address = address;
        this.length = length;
    }

    /** Maps {@code length} bytes read-write at an address aligned to {@code alignment} (a power of two). */
    static AnonMapping map(long length, long alignment) {
        Sys.requireAvailable();
        if (length <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("length must be positive and alignment a power of two, were " + length + ", " + alignment);
        }
        long span = length + alignment;
        long raw = Libc.mmap(0, span, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (raw == Libc.MAP_FAILED) {
            throw Sys.failure("mmap", length + " bytes, anonymous private", Sys.errno(), null);
        }
        long start = (raw + alignment - 1) & -alignment;
        // trim the slack on both sides so the mapping is exactly [start, start + length)
        if (start > raw) {
            unmap(raw, start - raw);
        }
        long end = start + length;
        if (raw + span > end) {
            unmap(end, raw + span - end);
        }
        return new AnonMapping(start, length);
    }

    private static void unmap(long addr, long len) {
        if (Libc.munmap(addr, len) != 0) {
            throw Sys.failure("munmap", String.format("[0x%x, 0x%x)", addr, addr + len), Sys.errno(), null);
        }
    }

    long address() {
        return address;
    }

    long length() {
        return length;
    }

    /** Writes one byte in every page of {@code [address + offset, + len)}: a write fault per page. */
    void touch(long offset, long len, long pageSize) {
        check();
        Pointer p = new Pointer(address);
        for (long o = offset; o < offset + len; o += pageSize) {
            p.setByte(o, (byte) 1);
        }
    }

    /** Reads one byte in every page: read faults (the zero page, no allocation). */
    long read(long offset, long len, long pageSize) {
        check();
        Pointer p = new Pointer(address);
        long sum = 0;
        for (long o = offset; o < offset + len; o += pageSize) {
            sum += p.getByte(o);
        }
        return sum;
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("mapping at 0x" + Long.toHexString(address) + " is unmapped");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (Libc.munmap(address, length) != 0) {
                int e = Sys.errno();
                throw Sys.failure("munmap", String.format("[0x%x, 0x%x)", address, address + length), e,
                        Sys.is(e, Errno.EINVAL) ? "bad range" : null);
            }
        }
    }
}
