package io.mthp4j.linux;

import com.sun.jna.Memory;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PSI memory triggers on {@code /proc/pressure/memory} and cgroup {@code memory.pressure}
 * (kernel-semantics.md §10.3, linux-interfaces.md §5.2): the trigger text is written with its NUL (the
 * kernel overwrites the last byte written), the descriptor is kept open (the trigger dies on close), and
 * events are {@code POLLPRI} from {@code poll(2)}.
 */
final class LinuxPsi implements Psi {

    private static final Logger LOG = LoggerFactory.getLogger(LinuxPsi.class);

    /** Without CAP_SYS_RESOURCE the window must be a multiple of this (§5.2). */
    static final long UNPRIVILEGED_WINDOW_STEP_MICROS = 2_000_000;
    static final long MAX_WINDOW_MICROS = 10_000_000;

    private final LinuxCgroups cgroups;
    private final boolean capSysResource;

    LinuxPsi(LinuxCgroups cgroups, boolean capSysResource) {
        this.cgroups = Objects.requireNonNull(cgroups, "cgroups");
        this.capSysResource = capSysResource;
    }

    boolean privileged() {
        return capSysResource;
    }

    @Override
    public PsiTrigger register(CgroupRef cgroup, Kind kind, long thresholdMicros, long windowMicros) {
        Sys.requireAvailable();
        Path file = cgroups.pressureFile(cgroup);
        String text = kind.word() + " " + thresholdMicros + " " + windowMicros;
        String op = "write \"" + text + "\"";
        int fd = Sys.open(file.toString(), Libc.O_RDWR | Libc.O_NONBLOCK, op);
        try {
            byte[] bytes = (text + "\0").getBytes(StandardCharsets.US_ASCII);
            Sys.writeOnce(fd, bytes, bytes.length, op, file.toString(), einvalHint(thresholdMicros, windowMicros));
            return new LinuxPsiTrigger(fd, file, text);
        } catch (RuntimeException | Error e) {
            Sys.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * As {@link #register}, after adapting the window to what this process may register: without
     * CAP_SYS_RESOURCE the window is rounded up to a multiple of 2 s (at most 10 s) and the threshold scaled by
     * the same factor, so a "150 ms in 1 s" request becomes "300 ms in 2 s".
     */
    PsiTrigger registerAdapted(CgroupRef cgroup, Kind kind, long thresholdMicros, long windowMicros) {
        long[] adapted = adapt(thresholdMicros, windowMicros, capSysResource);
        if (adapted[1] != windowMicros) {
            LOG.info("PSI trigger {} {} {} adapted to {} {} (no CAP_SYS_RESOURCE: windows are multiples of 2 s)",
                    kind.word(), thresholdMicros, windowMicros, adapted[0], adapted[1]);
        }
        return register(cgroup, kind, adapted[0], adapted[1]);
    }

    /** The threshold and window that an unprivileged (or privileged) trigger may use, scaled together. */
    static long[] adapt(long thresholdMicros, long windowMicros, boolean privileged) {
        if (thresholdMicros <= 0 || windowMicros <= 0 || thresholdMicros > windowMicros) {
            throw new IllegalArgumentException("need 0 < threshold <= window, were " + thresholdMicros + " and " + windowMicros);
        }
        if (privileged || windowMicros % UNPRIVILEGED_WINDOW_STEP_MICROS == 0 && windowMicros <= MAX_WINDOW_MICROS) {
            return new long[] {thresholdMicros, Math.min(windowMicros, MAX_WINDOW_MICROS)};
        }
        long step = UNPRIVILEGED_WINDOW_STEP_MICROS;
        long window = Math.min(MAX_WINDOW_MICROS, Math.max(step, (windowMicros + step - 1) / step * step));
        long threshold = Math.max(1, Math.min(window, Math.round(thresholdMicros * (double) window / windowMicros)));
        return new long[] {threshold, window};
    }

    private String einvalHint(long threshold, long window) {
        if (window <= 0 || window > MAX_WINDOW_MICROS) {
            return "the window must be in 1..10000000 us";
        }
        if (!capSysResource && window % UNPRIVILEGED_WINDOW_STEP_MICROS != 0) {
            return "without CAP_SYS_RESOURCE the window must be a multiple of 2 s (2000000 us); this process lacks it";
        }
        if (threshold <= 0 || threshold > window) {
            return "the threshold must be in 1..window";
        }
        return "the kernel rejected the trigger";
    }

    /** One trigger: an open pressure file descriptor. */
    static final class LinuxPsiTrigger implements PsiTrigger {
        private static final int SLICE_MILLIS = 100; // poll in slices so interrupts are seen

        private final Path file;
        private final String text;
        private final Memory pollfd = new Memory(8);
        private int fd;

        LinuxPsiTrigger(int fd, Path file, String text) {
            this.fd = fd;
            this.file = file;
            this.text = text;
        }

        synchronized int fd() {
            if (fd < 0) {
                throw new IllegalStateException("PSI trigger \"" + text + "\" on " + file + " is closed");
            }
            return fd;
        }

        Path file() {
            return file;
        }

        /** Writes a second trigger on the same descriptor: the kernel allows one per descriptor (EBUSY). */
        void writeAnother(String trigger) {
            byte[] bytes = (trigger + "\0").getBytes(StandardCharsets.US_ASCII);
            Sys.writeOnce(fd(), bytes, bytes.length, "write \"" + trigger + "\"", file.toString(), null);
        }

        @Override
        public boolean await(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException("waiting for PSI trigger \"" + text + "\" on " + file);
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                int slice = (int) Math.max(0, Math.min(SLICE_MILLIS, left));
                short revents;
                synchronized (this) {
                    pollfd.setInt(0, fd());
                    pollfd.setShort(4, Libc.POLLPRI);
                    pollfd.setShort(6, (short) 0);
                    int r = Libc.poll(Sys.address(pollfd), 1, slice);
                    if (r < 0) {
                        int e = Sys.errno();
                        if (Sys.is(e, Errno.EINTR)) {
                            continue;
                        }
                        throw Sys.failure("poll(POLLPRI)", file.toString(), e, null);
                    }
                    revents = pollfd.getShort(6);
                }
                if ((revents & (Libc.POLLERR | Libc.POLLNVAL)) != 0) {
                    throw new KernelException("poll(POLLPRI)", file.toString(), Errno.EBADF.value(),
                            "the descriptor has no live trigger (revents 0x" + Integer.toHexString(revents) + ")", null);
                }
                if ((revents & Libc.POLLPRI) != 0) {
                    return true;
                }
                if (left <= 0) {
                    return false;
                }
            }
        }

        @Override
        public synchronized void close() {
            if (fd >= 0) {
                Libc.close(fd);
                fd = -1;
                pollfd.close();
            }
        }

        @Override
        public String toString() {
            return "PSI trigger \"" + text + "\" on " + file;
        }
    }
}
