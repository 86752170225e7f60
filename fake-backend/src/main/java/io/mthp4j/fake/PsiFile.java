package io.mthp4j.fake;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.nio.charset.StandardCharsets;

/**
 * One open file descriptor of a memory pressure file: {@code /proc/pressure/memory} (procfs, psi_write) or
 * a cgroup's {@code memory.pressure} (kernfs, pressure_write). A write registers a trigger with the
 * kernel's parsing and checks in the kernel's order (kernel-semantics.md §10.3, linux-interfaces.md §5.2,
 * and what the Linux 6.18 test machine answered, recorded in docs/fidelity.md):
 *
 * <ol>
 *   <li>fd not open for writing: EBADF;</li>
 *   <li>procfs: PSI disabled: EOPNOTSUPP; empty write: EINVAL; only the first 32 bytes are read and the last
 *       byte read is forced to NUL, so {@code "some 150000 2000000"} without a terminator reads as
 *       {@code "some 150000 200000"}. kernfs: an empty write returns 0; above 4096 bytes E2BIG; the whole
 *       write is NUL-terminated, so no terminator is needed; a removed cgroup: ENODEV;</li>
 *   <li>a trigger already on this fd: EBUSY (before the text is parsed);</li>
 *   <li>psi_trigger_create: PSI disabled: EOPNOTSUPP; {@code sscanf("some %u %u")} then {@code "full %u %u"}
 *       must convert two numbers, else EINVAL (kernel vsscanf: no sign, no leading blank, anything after
 *       the second number ignored, numbers wrap modulo 2^64 and are truncated to u32); window 0 or above
 *       10 s: EINVAL; without CAP_SYS_RESOURCE (when the file was opened) a window not a multiple of 2 s:
 *       EINVAL; threshold 0 or above the window: EINVAL.</li>
 * </ol>
 *
 * <p>A successful write returns the byte count. Closing destroys the trigger. Not thread-safe for
 * concurrent writes on the same fd (the kernel serialises them with the seq_file lock; so does this class).
 */
final class PsiFile {

    /** Which file system serves the file. */
    enum Kind {
        /** {@code /proc/pressure/memory}: psi_write with a 32-byte buffer. */
        PROC,
        /** {@code <cgroup>/memory.pressure}: kernfs, then cgroup's pressure_write. */
        CGROUP
    }

    static final int POLLPRI = 0x2;
    static final int POLLERR = 0x8;
    static final int POLLHUP = 0x10;
    /** DEFAULT_POLLMASK: EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM. */
    static final int DEFAULT_POLLMASK = 0x1 | 0x4 | 0x40 | 0x100;
    static final int PROC_BUFFER = 32;
    static final int PAGE_SIZE = 4096;
    static final long WINDOW_MAX_US = 10_000_000;
    static final long UNPRIVILEGED_WINDOW_STEP_US = 2_000_000;

    private final PsiGroup group;
    private final String path;
    private final Kind kind;
    private final boolean writable;
    private final boolean privileged;
    private final Clock clock;
    private PsiTriggerModel trigger;
    private boolean cgroupRemoved;
    private boolean closed;

    /** The time source writes use (the fake kernel's clock). */
    @FunctionalInterface
    interface Clock {
        long nanos();
    }

    /**
     * open(2) of a pressure file.
     *
     * @param privileged whether the opener has CAP_SYS_RESOURCE (checked on the opener's credentials)
     * @throws KernelException ENOENT for a cgroup pressure file when PSI is disabled (the file is absent)
     */
    PsiFile(PsiGroup group, String path, Kind kind, boolean writable, boolean privileged, Clock clock) {
        this.group = group;
        this.path = path;
        this.kind = kind;
        this.writable = writable;
        this.privileged = privileged;
        this.clock = clock;
        if (kind == Kind.CGROUP && !group.params().enabled()) {
            throw new KernelException("open", path, Errno.ENOENT, "cgroup pressure files exist only when PSI is on (psi=1)");
        }
    }

    /** The trigger registered on this fd, or null. */
    synchronized PsiTriggerModel trigger() {
        return trigger;
    }

    /** write(2) of a string's UTF-8 bytes, exactly those bytes (add "\0" or "\n" yourself for procfs). */
    int write(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return write(b, b.length);
    }

    /** write(2) of {@code nbytes} bytes of {@code data}; returns {@code nbytes} on success. */
    synchronized int write(byte[] data, int nbytes) {
        if (nbytes < 0 || nbytes > data.length) {
            throw new IllegalArgumentException("nbytes " + nbytes + " outside 0.." + data.length);
        }
        String op = "write " + quote(data, nbytes);
        if (closed || !writable) {
            throw new KernelException(op, path, Errno.EBADF, closed ? "the fd is closed" : "open the file O_RDWR or O_WRONLY");
        }
        byte[] buf;
        String note = "";
        if (kind == Kind.PROC) {
            if (!group.params().enabled()) {
                throw new KernelException(op, path, Errno.EOPNOTSUPP, "PSI is disabled (boot with psi=1)");
            }
            if (nbytes == 0) {
                throw new KernelException(op, path, Errno.EINVAL, "write \"some|full <threshold_us> <window_us>\" ending in NUL or newline");
            }
            int size = Math.min(nbytes, PROC_BUFFER);
            buf = new byte[size];
            System.arraycopy(data, 0, buf, 0, size);
            int last = data[size - 1] & 0xFF;
            if (last != 0 && last != '\n') {
                note = " (the kernel read only \"" + new String(data, 0, size - 1, StandardCharsets.ISO_8859_1)
                        + "\": it replaces the last byte read with NUL, so end the write with NUL or newline)";
            }
            buf[size - 1] = 0; // psi_write: buf[buf_size - 1] = '\0'
        } else {
            if (nbytes == 0) {
                return 0;
            }
            if (nbytes > PAGE_SIZE) {
                throw new KernelException(op, path, Errno.E2BIG, "kernfs takes at most " + PAGE_SIZE + " bytes in one write");
            }
            buf = new byte[nbytes + 1];
            System.arraycopy(data, 0, buf, 0, nbytes);
            if (cgroupRemoved) {
                throw new KernelException(op, path, Errno.ENODEV, "the cgroup was removed");
            }
        }
        if (trigger != null) {
            throw new KernelException(op, path, Errno.EBUSY, "one trigger per open file; open the file again for another");
        }
        trigger = create(op, buf, note);
        return nbytes;
    }

    /** psi_trigger_create: parse and check, then register on the group at the clock's time. */
    private PsiTriggerModel create(String op, byte[] buf, String note) {
        if (!group.params().enabled()) {
            throw new KernelException(op, path, Errno.EOPNOTSUPP, "PSI is disabled (boot with psi=1)");
        }
        long[] parsed = new long[2];
        boolean full;
        if (scan(buf, "some", parsed) == 2) {
            full = false;
        } else if (scan(buf, "full", parsed) == 2) {
            full = true;
        } else {
            throw new KernelException(op, path, Errno.EINVAL, kind == Kind.PROC
                    ? "expected \"some|full <threshold_us> <window_us>\" ending in NUL or newline (the last byte written is dropped)"
                    : "expected \"some|full <threshold_us> <window_us>\"" + note);
        }
        long thresholdUs = parsed[0];
        long windowUs = parsed[1];
        if (windowUs == 0 || windowUs > WINDOW_MAX_US) {
            throw new KernelException(op, path, Errno.EINVAL, "the window must be 1.." + WINDOW_MAX_US + " us, was " + windowUs + note);
        }
        if (!privileged && windowUs % UNPRIVILEGED_WINDOW_STEP_US != 0) {
            throw new KernelException(op, path, Errno.EINVAL, "without CAP_SYS_RESOURCE the window must be a multiple of 2 s "
                    + "(2000000, 4000000, ... 10000000 us), was " + windowUs + note);
        }
        if (thresholdUs == 0 || thresholdUs > windowUs) {
            throw new KernelException(op, path, Errno.EINVAL, "the threshold must be 1..window (" + windowUs + ") us, was " + thresholdUs + note);
        }
        return group.createTrigger(full, thresholdUs, windowUs, privileged, clock.nanos());
    }

    /**
     * The kernel's vsscanf for {@code "<word> %u %u"} on a NUL-terminated buffer: returns how many numbers
     * were converted and stores them (u32) in {@code out}.
     */
    static int scan(byte[] s, String word, long[] out) {
        int i = 0;
        for (int k = 0; k < word.length(); k++, i++) {
            if (at(s, i) != word.charAt(k)) {
                return 0;
            }
        }
        for (int n = 0; n < 2; n++) {
            i = skipSpaces(s, i); // the blank in the format matches any amount of white space, even none
            if (at(s, i) == 0) {
                return n;
            }
            i = skipSpaces(s, i);
            int c = at(s, i);
            if (c < '0' || c > '9') {
                return n;
            }
            long v = 0;
            while ((c = at(s, i)) >= '0' && c <= '9') {
                v = v * 10 + (c - '0'); // simple_strntoull wraps modulo 2^64
                i++;
            }
            out[n] = v & PsiGroup.U32_MASK; // stored through an unsigned int *
        }
        return 2;
    }

    private static int at(byte[] s, int i) {
        return i < s.length ? s[i] & 0xFF : 0;
    }

    /** lib/ctype.c isspace: \t \n \v \f \r, space, and 0xA0. */
    private static int skipSpaces(byte[] s, int i) {
        int c;
        while ((c = at(s, i)) == ' ' || (c >= 9 && c <= 13) || c == 0xA0) {
            i++;
        }
        return i;
    }

    /**
     * poll(2) with {@code events} requested: POLLPRI (and the default mask) while an event is pending,
     * consuming it; POLLERR | POLLPRI without a trigger or with PSI off. Returns the revents.
     */
    synchronized int poll(int events) {
        int ret = DEFAULT_POLLMASK;
        if (!group.params().enabled() || trigger == null) {
            ret |= POLLERR | POLLPRI;
        } else {
            group.advanceTo(clock.nanos());
            if (trigger.consumeEvent()) {
                ret |= POLLPRI;
            }
        }
        return ret & (events | POLLERR | POLLHUP);
    }

    /** The cgroup was removed (rmdir): later writes fail with ENODEV. Existing triggers stay until close. */
    synchronized void cgroupRemoved() {
        cgroupRemoved = true;
    }

    /** close(2): destroys the trigger. Idempotent. */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (trigger != null) {
            group.destroyTrigger(trigger);
        }
    }

    /** The written bytes as the message shows them: up to the first NUL, escapes for the rest. */
    private static String quote(byte[] data, int nbytes) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < nbytes && i < 64; i++) {
            int c = data[i] & 0xFF;
            if (c == 0) {
                sb.append("\\0");
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c < 32 || c >= 127) {
                sb.append(String.format("\\x%02x", c));
            } else {
                sb.append((char) c);
            }
        }
        return sb.append(nbytes > 64 ? "...\"" : "\"").toString();
    }
}
