package io.mthp4j.linux;

import com.sun.jna.Memory;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.MemoryHeadroom;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The headroom signal on the real kernel (issue 9):
 * <ul>
 *   <li>cgroup v2 with the memory controller: {@code memory.current} against the lower of {@code memory.high} and
 *       {@code memory.max}; watched with inotify on {@code memory.events} (the kernel notifies that file on high,
 *       max and OOM events) plus polling {@code memory.current}, which has no notification;</li>
 *   <li>cgroup v1 (the memory controller on our machines, linux-interfaces.md §4): {@code memory.usage_in_bytes}
 *       against {@code memory.limit_in_bytes} of the v1 cgroup at the same path; watched with the memory
 *       thresholds of cgroup-v1/memory.rst §9: an eventfd registered through {@code cgroup.event_control} as
 *       {@code "<eventfd> <usage fd> <threshold>"}, signalled when usage crosses a threshold in either direction.
 *       The kernel checks thresholds in batches of page events (memcontrol-v1.c, 128 events per CPU), so a
 *       crossing is seen within that many charges; the limit is re-read every poll interval and the thresholds
 *       re-armed when it changed;</li>
 *   <li>the root: {@code MemTotal - MemAvailable} of {@code /proc/meminfo} against {@code MemTotal}, polled.</li>
 * </ul>
 * The poll interval is a parameter ({@link LinuxKernel.Builder#headroomPollInterval}, default 250 ms).
 */
final class LinuxHeadroom implements MemoryHeadroom {

    private static final Logger LOG = LoggerFactory.getLogger(LinuxHeadroom.class);
    static final Path MEMINFO = Path.of("/proc/meminfo");

    private final LinuxCgroups cgroups;
    private final Duration pollInterval;

    LinuxHeadroom(LinuxCgroups cgroups, Duration pollInterval) {
        this.cgroups = Objects.requireNonNull(cgroups, "cgroups");
        this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    }

    @Override
    public Headroom sample(CgroupRef cgroup) {
        if (cgroup.isRoot()) {
            return host();
        }
        Path v2 = cgroups.dir(cgroup);
        if (Files.exists(v2.resolve("memory.current"))) {
            return v2(v2);
        }
        Path v1 = cgroups.v1Dir(cgroup);
        if (v1 != null && Files.exists(v1.resolve("memory.usage_in_bytes"))) {
            return v1(v1);
        }
        throw new KernelException("read memory.current", v2.toString(), Errno.ENOENT.value(), "no memory controller for this cgroup:"
                + " cgroup v2 has none here and " + (v1 == null ? "there is no v1 memory hierarchy"
                : "there is no v1 memory cgroup at " + v1 + " (create it at the same path and put the tasks in both)"), null);
    }

    /** The host: MemTotal − MemAvailable of MemTotal. */
    static Headroom host() {
        long total = -1;
        long available = -1;
        for (String line : ProcText.read(MEMINFO, null).split("\n")) {
            if (line.startsWith("MemTotal:")) {
                total = kib(line);
            } else if (line.startsWith("MemAvailable:")) {
                available = kib(line);
            }
        }
        if (total < 0 || available < 0) {
            throw new KernelException("parse", MEMINFO.toString(), Errno.EIO.value(), "no MemTotal or MemAvailable line", null);
        }
        return new Headroom(Math.max(0, total - available), total, Headroom.Limit.MEM_TOTAL);
    }

    private static long kib(String line) {
        String v = line.substring(line.indexOf(':') + 1).strip();
        if (v.endsWith(" kB")) {
            v = v.substring(0, v.length() - 3);
        }
        try {
            return Long.parseLong(v.strip()) * 1024;
        } catch (NumberFormatException e) {
            throw new KernelException("parse", MEMINFO.toString(), Errno.EIO.value(), "bad line \"" + line + "\"", e);
        }
    }

    static Headroom v2(Path dir) {
        long usage = LinuxCgroups.number(dir.resolve("memory.current"));
        long high = LinuxCgroups.limit(dir.resolve("memory.high"));
        long max = LinuxCgroups.limit(dir.resolve("memory.max"));
        if (high == CgroupMemory.NO_LIMIT && max == CgroupMemory.NO_LIMIT) {
            return Headroom.unlimited(usage);
        }
        return high < max ? new Headroom(usage, high, Headroom.Limit.MEMORY_HIGH) : new Headroom(usage, max, Headroom.Limit.MEMORY_MAX);
    }

    static Headroom v1(Path dir) {
        long usage = LinuxCgroups.number(dir.resolve("memory.usage_in_bytes"));
        long limit = LinuxCgroups.number(dir.resolve("memory.limit_in_bytes"));
        // v1 shows "no limit" as PAGE_COUNTER_MAX pages, a number near 2^63
        return limit >= (1L << 62) ? Headroom.unlimited(usage) : new Headroom(usage, limit, Headroom.Limit.V1_LIMIT);
    }

    @Override
    public HeadroomWatch watch(CgroupRef cgroup, double... shares) {
        double[] sorted = MemoryHeadroom.checkShares(shares);
        Sys.requireAvailable();
        if (cgroup.isRoot()) {
            return new Watch(HeadroomWatch.Mechanism.POLLING, LinuxHeadroom::host, sorted, null, null);
        }
        Path v2 = cgroups.dir(cgroup);
        if (Files.exists(v2.resolve("memory.current"))) {
            return new Watch(HeadroomWatch.Mechanism.V2_EVENTS_AND_POLLING, () -> v2(v2), sorted, v2.resolve("memory.events"), null);
        }
        Path v1 = cgroups.v1Dir(cgroup);
        if (v1 != null && Files.exists(v1.resolve("memory.usage_in_bytes"))) {
            return v1Watch(v1, sorted);
        }
        sample(cgroup); // throws the ENOENT with its hint
        throw new IllegalStateException("unreachable");
    }

    /** A v1 threshold watch on a v1 memory cgroup directory. */
    Watch v1Watch(Path v1, double... shares) {
        return new Watch(HeadroomWatch.Mechanism.V1_THRESHOLD_EVENTFD, () -> v1(v1), MemoryHeadroom.checkShares(shares), null, v1);
    }

    /**
     * One watch. Every mechanism keeps the band (how many thresholds usage is at or above) and reports a change
     * of it found by polling; the v1 eventfd and the v2 inotify descriptor wake it earlier.
     */
    final class Watch implements HeadroomWatch {
        private static final int SLICE_MILLIS = 100; // poll in slices so interrupts and close are seen

        private final Mechanism mechanism;
        private final Supplier<Headroom> sampler;
        private final double[] shares;
        private final Path v1Dir;
        private final Memory pollfd = new Memory(8);
        private final Memory buf = new Memory(4096);
        private long[] thresholds;
        private long limit;
        private int band;
        private int fd = -1;
        private long nextPollNanos;
        private boolean closed;

        Watch(Mechanism mechanism, Supplier<Headroom> sampler, double[] shares, Path eventsFile, Path v1Dir) {
            this.mechanism = mechanism;
            this.sampler = sampler;
            this.shares = shares;
            this.v1Dir = v1Dir;
            Headroom h = sampler.get();
            arm(h);
            if (eventsFile != null && Files.exists(eventsFile)) {
                fd = inotify(eventsFile);
            }
        }

        private void arm(Headroom h) {
            limit = h.limited() ? h.limitBytes() : CgroupMemory.NO_LIMIT;
            thresholds = MemoryHeadroom.thresholds(limit, shares);
            band = MemoryHeadroom.band(h.usageBytes(), thresholds);
            if (v1Dir != null) {
                Sys.closeQuietly(fd);
                fd = -1;
                if (thresholds.length > 0) {
                    fd = v1Thresholds(v1Dir, thresholds);
                }
            }
        }

        @Override
        public boolean await(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException("waiting for a headroom crossing");
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                int slice = (int) Math.max(0, Math.min(SLICE_MILLIS, left));
                synchronized (this) {
                    if (closed) {
                        return false;
                    }
                    if (fd >= 0) {
                        pollfd.setInt(0, fd);
                        pollfd.setShort(4, Libc.POLLIN);
                        pollfd.setShort(6, (short) 0);
                        int r = Libc.poll(Sys.address(pollfd), 1, slice);
                        if (r < 0) {
                            int e = Sys.errno();
                            if (!Sys.is(e, Errno.EINTR)) {
                                throw Sys.failure("poll(POLLIN)", describe(), e, null);
                            }
                        } else if (r > 0 && (pollfd.getShort(6) & Libc.POLLIN) != 0) {
                            Libc.read(fd, Sys.address(buf), buf.size()); // drain: the eventfd counter or inotify events
                            band = MemoryHeadroom.band(sampler.get().usageBytes(), thresholds);
                            return true;
                        }
                    } else if (slice > 0) {
                        wait(slice);
                    }
                    if (System.nanoTime() - nextPollNanos >= 0) {
                        nextPollNanos = System.nanoTime() + pollInterval.toNanos();
                        if (pollChanged()) {
                            return true;
                        }
                    }
                }
                if (left <= 0) {
                    return false;
                }
            }
        }

        /** Reads usage and limit; re-arms on a new limit. True if the band changed. */
        private boolean pollChanged() {
            Headroom h = sampler.get();
            long newLimit = h.limited() ? h.limitBytes() : CgroupMemory.NO_LIMIT;
            int before = band;
            if (newLimit != limit) {
                LOG.info("{}: the limit changed from {} to {} bytes; thresholds re-armed", describe(), limit, newLimit);
                arm(h);
                return true;
            }
            band = MemoryHeadroom.band(h.usageBytes(), thresholds);
            return band != before;
        }

        @Override
        public Mechanism mechanism() {
            return mechanism;
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                Sys.closeQuietly(fd); // closing the eventfd unregisters the v1 thresholds
                fd = -1;
                notifyAll();
                pollfd.close();
                buf.close();
            }
        }

        private String describe() {
            return "headroom watch (" + mechanism + ") at " + Arrays.toString(shares) + " of the limit"
                    + (v1Dir != null ? " of " + v1Dir : "");
        }

        @Override
        public String toString() {
            return describe();
        }
    }

    /**
     * An eventfd with one v1 memory threshold per entry of {@code thresholds} (cgroup-v1/memory.rst §9): write
     * {@code "<eventfd> <fd of memory.usage_in_bytes> <bytes>"} to {@code cgroup.event_control}. The usage file
     * descriptor is only needed for the registration; closing the eventfd removes the thresholds.
     */
    static int v1Thresholds(Path v1Dir, long[] thresholds) {
        int efd = Libc.eventfd(0, Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (efd < 0) {
            throw Sys.failure("eventfd", v1Dir.toString(), Sys.errno(), null);
        }
        String usagePath = v1Dir.resolve("memory.usage_in_bytes").toString();
        String controlPath = v1Dir.resolve("cgroup.event_control").toString();
        try {
            for (long t : thresholds) {
                int ufd = Sys.open(usagePath, Libc.O_RDONLY, "open for a threshold");
                try {
                    int cfd = Sys.open(controlPath, Libc.O_WRONLY, "open");
                    try {
                        String text = efd + " " + ufd + " " + t;
                        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
                        Sys.writeOnce(cfd, bytes, bytes.length, "write \"" + text + "\"", controlPath,
                                "cgroup.event_control takes \"<eventfd> <fd of memory.usage_in_bytes> <threshold bytes>\"");
                    } finally {
                        Sys.closeQuietly(cfd);
                    }
                } finally {
                    Sys.closeQuietly(ufd);
                }
            }
            return efd;
        } catch (RuntimeException | Error e) {
            Sys.closeQuietly(efd);
            throw e;
        }
    }

    private static int inotify(Path file) {
        int fd = Libc.inotify_init1(Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (fd < 0) {
            throw Sys.failure("inotify_init1", file.toString(), Sys.errno(), null);
        }
        if (Libc.inotify_add_watch(fd, file.toString(), Libc.IN_MODIFY) < 0) {
            int e = Sys.errno();
            Sys.closeQuietly(fd);
            throw Sys.failure("inotify_add_watch(IN_MODIFY)", file.toString(), e, null);
        }
        return fd;
    }
}
