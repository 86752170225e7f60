package io.mthp4j.core.host;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.SysfsText;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.ThpSysfs;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Host-wide enforcement on kernels without a BPF-THP hook (issue 9): a {@link DecisionSink} that applies the
 * decision for one cgroup (the host's, or the one main workload's) by writing the global THP knobs, the per-size
 * {@code hugepages-<N>kB/enabled} files (kernel-semantics.md §3.2, §3.4) and optionally the top-level
 * {@code enabled}. Measured on our machines (pressure-experiment.md), switching the per-size knobs to
 * {@code never} under pressure recovered the whole gap of {@code always} under reclaim pressure.
 *
 * <p>Mapping. The fault cell of the decision ({@link TvaType#PAGEFAULT}, no advice) says which orders may be
 * used: an allowed order's knob keeps its original value, a refused one is set to {@code never}; with
 * {@link Builder#topLevel(boolean) topLevel}, the top-level {@code enabled} becomes {@code never} when no order is
 * allowed. A global knob cannot express the other cells (khugepaged and MADV_COLLAPSE differ only in
 * tva-aware): the knobs gate faults and khugepaged alike, and MADV_COLLAPSE ignores them (§4.4).
 *
 * <p>Safe by construction:
 * <ul>
 *   <li>only the knobs it was asked to manage are ever written; {@code anon_beside_full} and every other file
 *       are never touched (linux-interfaces.md §10.2);</li>
 *   <li>before its first write it records the original values in a state file (default {@value #DEFAULT_STATE},
 *       mode 0600); {@link #close()}, a withdrawal of the decision and a JVM shutdown hook (SIGINT, SIGTERM,
 *       normal exit) write them back and delete the file;</li>
 *   <li>a later {@link #open()} finds a state file a killed daemon left and restores it before anything else;
 *       {@link #restore(ThpSysfs, Path)} does that alone ({@code mthp4j restore});</li>
 *   <li>one enforcer per state file: an exclusive lock on {@code <state>.lock}, released by the kernel when
 *       the process dies;</li>
 *   <li>hysteresis: a restriction is applied at once, a relaxation only after it has been asked for without
 *       interruption for {@link Builder#relaxAfter} (default 10 s, the measured watcher's quiet time), so a load
 *       at the edge does not flap; the policy's own hysteresis comes on top;</li>
 *   <li>each switch is logged once, with the knobs, their values and the controller's reason.</li>
 * </ul>
 * A decision past its expiry counts as no opinion (originals), like a stale map entry for the BPF program.
 * Thread-safe.
 */
public final class HostThpEnforcer implements DecisionSink, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HostThpEnforcer.class);

    /** The default state file. */
    public static final String DEFAULT_STATE = "/run/mthp4j/host-thp.state";

    private final ThpSysfs sysfs;
    private final LongSupplier bootClock;
    private final long followCgroupId;
    private final long managedOrders;
    private final boolean topLevel;
    private final Path stateFile;
    private final long relaxAfterNanos;
    private final Map<String, Integer> knobs; // knob -> order (-1 for the top level), in write order
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Thread hook;
    private Map<String, String> originals;
    private Map<String, String> written = new LinkedHashMap<>(); // knobs we set to never, with the value they had
    private boolean recorded;
    private long relaxSince = -1;
    private String lastReason;
    private long switches;
    private boolean closed;

    private HostThpEnforcer(Builder b) {
        this.sysfs = b.sysfs;
        this.bootClock = b.bootClock;
        this.followCgroupId = b.followCgroupId;
        this.topLevel = b.topLevel;
        this.stateFile = b.stateFile;
        this.relaxAfterNanos = b.relaxAfter.toNanos();
        PageGeometry g = sysfs.geometry();
        long orders = b.orders == null ? g.allAnonOrders() : b.orders;
        if ((orders & ~g.allAnonOrders()) != 0) {
            throw new IllegalArgumentException("orders " + Orders.format(orders & ~g.allAnonOrders(), g.pageSize())
                    + " have no per-size anon enabled knob; the sizes with one are " + Orders.format(g.allAnonOrders(), g.pageSize()));
        }
        Map<String, Integer> k = new LinkedHashMap<>();
        long managed = 0;
        for (long rest = orders; rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            String knob = g.sizeDirectory(order) + "/enabled";
            if (sysfs.readFile(knob) != null) { // a size this kernel does not offer is skipped
                k.put(knob, order);
                managed |= Orders.bit(order);
            }
        }
        if (topLevel) {
            k.put("enabled", -1);
        }
        if (k.isEmpty()) {
            throw new IllegalArgumentException("none of the requested sizes has an enabled knob on this kernel: nothing to manage");
        }
        this.managedOrders = managed;
        this.knobs = k;
        // one enforcer per state file; the kernel drops the lock when the process dies
        Path lockFile = stateFile.resolveSibling(stateFile.getFileName() + ".lock");
        FileChannel ch = null;
        FileLock l;
        try {
            Path dir = stateFile.toAbsolutePath().getParent();
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new IllegalStateException("cannot lock " + lockFile + " (" + e + "); host enforcement needs a writable state"
                    + " directory (root for /run)", e);
        }
        if (l == null) {
            closeQuietly(ch);
            long pid = HostStateFile.pid(stateFile);
            throw new IllegalStateException("another host enforcer holds " + lockFile + (pid > 0 ? " (pid " + pid + ")" : "")
                    + "; only one may manage the THP knobs: stop it first");
        }
        this.lockChannel = ch;
        this.lock = l;
        try {
            recoverLeftover();
            this.originals = readKnobs();
        } catch (RuntimeException e) {
            releaseLock();
            throw e;
        }
        if (b.shutdownHook) {
            hook = new Thread(this::onShutdown, "mthp4j-host-restore");
            Runtime.getRuntime().addShutdownHook(hook);
        } else {
            hook = null;
        }
        LOG.info("host THP enforcement on: following cgroup id {}, managing {} (originals {}), state file {}", followCgroupId,
                knobs.keySet(), originals, stateFile);
    }

    /**
     * Configures an enforcer over {@code sysfs}; {@code bootClock} is {@link io.mthp4j.core.kernel.KernelBackend#bootTimeNanos()}
     * (decision expiry and the relax delay are measured on it).
     */
    public static Builder builder(ThpSysfs sysfs, LongSupplier bootClock) {
        return new Builder(sysfs, bootClock);
    }

    /**
     * Puts back the settings a killed enforcer left in {@code stateFile} and deletes it ({@code mthp4j restore}).
     *
     * @return the knobs written back (knob → value), empty if there was no state file or nothing differed
     * @throws IllegalStateException if a live enforcer holds the state file's lock, or the file is damaged
     */
    public static Map<String, String> restore(ThpSysfs sysfs, Path stateFile) {
        Objects.requireNonNull(sysfs, "sysfs");
        Path lockFile = stateFile.resolveSibling(stateFile.getFileName() + ".lock");
        if (!Files.exists(stateFile)) {
            return Map.of();
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                throw new IllegalStateException("a running host enforcer (pid " + HostStateFile.pid(stateFile) + ") holds "
                        + lockFile + "; stop it (it restores on SIGTERM) instead of restoring behind its back");
            }
            try {
                return restoreFrom(sysfs, stateFile);
            } finally {
                l.release();
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot lock " + lockFile + ": " + e, e);
        }
    }

    private void recoverLeftover() {
        long pid = HostStateFile.pid(stateFile);
        Map<String, String> restored = restoreFrom(sysfs, stateFile);
        if (pid >= 0) {
            LOG.warn("host THP enforcement (pid {}) ended without restoring the knobs; restored from {}: {}", pid, stateFile,
                    restored.isEmpty() ? "nothing differed" : restored);
        }
    }

    /** Writes back what {@code stateFile} records (only knobs that differ), then deletes it. */
    private static Map<String, String> restoreFrom(ThpSysfs sysfs, Path stateFile) {
        Map<String, String> saved = HostStateFile.read(stateFile);
        if (saved == null) {
            return Map.of();
        }
        Map<String, String> done = new LinkedHashMap<>();
        List<RuntimeException> failures = new ArrayList<>();
        for (Map.Entry<String, String> e : saved.entrySet()) {
            try {
                if (!e.getValue().equals(current(sysfs, e.getKey()))) {
                    sysfs.writeFile(e.getKey(), e.getValue());
                    done.put(e.getKey(), e.getValue());
                }
            } catch (RuntimeException ex) {
                failures.add(ex);
            }
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw new IllegalStateException("could not restore every THP knob from " + stateFile + " (kept for another try): "
                    + first.getMessage(), first);
        }
        HostStateFile.delete(stateFile);
        return done;
    }

    private static String current(ThpSysfs sysfs, String knob) {
        String text = sysfs.readFile(knob);
        String file = io.mthp4j.api.ThpSettings.ROOT + "/" + knob;
        return knob.equals("enabled") ? SysfsText.parseChoice(file, text, ThpEnabled.class).sysfsName()
                : SysfsText.parseChoice(file, text, AnonSizeEnabled.class).sysfsName();
    }

    private Map<String, String> readKnobs() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String knob : knobs.keySet()) {
            out.put(knob, current(sysfs, knob));
        }
        return out;
    }

    // ---- the sink ----

    @Override
    public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
        publish(cgroupId, table, generation, expiresAtBootNanos, null);
    }

    @Override
    public synchronized void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos, String reason) {
        if (cgroupId != followCgroupId || closed) {
            return;
        }
        if (reason != null) {
            lastReason = reason;
        }
        long now = bootClock.getAsLong();
        if (now >= expiresAtBootNanos) {
            apply(originals, now, "the decision (generation " + generation + ") had expired: no opinion");
            return;
        }
        long allowed = Objects.requireNonNull(table, "table").allowed(TvaType.PAGEFAULT, VmaType.NONE);
        long anyOrder = sysfs.geometry().allAnonOrders();
        Map<String, String> target = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> k : knobs.entrySet()) {
            int order = k.getValue();
            boolean refused = order < 0 ? (allowed & anyOrder) == 0 : !Orders.contains(allowed, order);
            target.put(k.getKey(), refused ? "never" : originals.get(k.getKey()));
        }
        apply(target, now, lastReason);
    }

    @Override
    public synchronized void withdraw(long cgroupId) {
        if (cgroupId == followCgroupId && !closed) {
            restoreNow("the decision was withdrawn");
        }
    }

    /**
     * Moves the knobs towards {@code target}: restrictions (a knob to {@code never}) at once, relaxations only
     * after they have been asked for without interruption for the relax delay (§ hysteresis in the class comment).
     */
    private void apply(Map<String, String> target, long now, String reason) {
        Map<String, String> restrict = new LinkedHashMap<>();
        Map<String, String> relax = new LinkedHashMap<>();
        for (Map.Entry<String, String> t : target.entrySet()) {
            String knob = t.getKey();
            boolean ours = written.containsKey(knob);
            if (t.getValue().equals("never") && !ours && !originals.get(knob).equals("never")) {
                restrict.put(knob, "never");
            } else if (!t.getValue().equals("never") && ours) {
                relax.put(knob, t.getValue());
            }
        }
        boolean stillRestricted = target.entrySet().stream()
                .anyMatch(t -> t.getValue().equals("never") && !originals.get(t.getKey()).equals("never"));
        if (!restrict.isEmpty()) {
            write(restrict, reason);
        }
        if (relax.isEmpty()) {
            relaxSince = -1;
            return;
        }
        if (relaxSince < 0 || !restrict.isEmpty()) {
            relaxSince = now;
            LOG.debug("host THP: relaxing {} is wanted; waiting {} ms without restriction", relax.keySet(), relaxAfterNanos / 1_000_000);
        }
        if (now - relaxSince >= relaxAfterNanos) {
            write(relax, (reason == null ? "" : reason + "; ") + "relaxed after " + (now - relaxSince) / 1_000_000
                    + " ms without restriction" + (stillRestricted ? " (other sizes stay never)" : ""));
            relaxSince = -1;
        }
    }

    /** Writes {@code changes} (knob → value), recording the originals on disk before the first write. */
    private void write(Map<String, String> changes, String reason) {
        if (!recorded) {
            originals = readKnobs(); // what is there right before the first write
            HostStateFile.write(stateFile, originals, ProcessHandle.current().pid());
            recorded = true;
        }
        StringBuilder line = new StringBuilder();
        for (Map.Entry<String, String> c : changes.entrySet()) {
            String knob = c.getKey();
            if (!knobs.containsKey(knob)) {
                throw new IllegalStateException("host enforcement tried to write " + knob + ", which it does not manage");
            }
            String before = current(sysfs, knob);
            sysfs.writeFile(knob, c.getValue());
            if (c.getValue().equals("never")) {
                written.put(knob, before);
            } else {
                written.remove(knob);
            }
            line.append(line.length() == 0 ? "" : ", ").append(knob).append(' ').append(before).append(" -> ").append(c.getValue());
        }
        switches++;
        LOG.info("host THP: {} ({})", line, reason == null ? "no reason given" : reason);
    }

    // ---- restoring ----

    /** Writes back every managed knob that differs from its original and deletes the state file. */
    private void restoreNow(String why) {
        List<RuntimeException> failures = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (Map.Entry<String, String> o : originals.entrySet()) {
            try {
                String now = current(sysfs, o.getKey());
                if (!now.equals(o.getValue())) {
                    sysfs.writeFile(o.getKey(), o.getValue());
                    line.append(line.length() == 0 ? "" : ", ").append(o.getKey()).append(' ').append(now).append(" -> ")
                            .append(o.getValue());
                }
            } catch (RuntimeException e) {
                failures.add(e);
                LOG.error("host THP: could not restore {} to {}: {}", o.getKey(), o.getValue(), e.getMessage());
            }
        }
        written.clear();
        relaxSince = -1;
        if (line.length() > 0) {
            switches++;
            LOG.info("host THP: restored {} ({})", line, why);
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw new IllegalStateException("could not restore every THP knob; " + stateFile + " is kept, run `mthp4j restore`: "
                    + first.getMessage(), first);
        }
        if (recorded) {
            HostStateFile.delete(stateFile);
            recorded = false;
        }
    }

    /** Puts the original values back now (and keeps enforcing on later decisions). */
    public synchronized void restore() {
        restoreNow("asked to restore");
    }

    private void onShutdown() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                restoreNow("the JVM is shutting down");
            } catch (RuntimeException e) {
                LOG.error("host THP: restoring at shutdown failed: {}", e.getMessage());
            } finally {
                releaseLock();
            }
        }
    }

    /**
     * Restores the original values, deletes the state file, releases the lock and removes the shutdown hook.
     * Idempotent.
     *
     * @throws IllegalStateException if a knob could not be restored (the state file is kept for {@code mthp4j restore})
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeHook();
        try {
            restoreNow("enforcement stopped");
        } finally {
            releaseLock();
        }
    }

    /**
     * Gives up enforcing without restoring: the knobs and the state file stay as they are and the lock is released,
     * exactly what a crash leaves, so the next {@link Builder#open()} or {@link #restore(ThpSysfs, Path)} puts the
     * originals back. For a process that hands the host to its successor, and for crash tests.
     */
    public synchronized void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        removeHook();
        releaseLock();
        LOG.warn("host THP enforcement abandoned without restoring; {} keeps the originals", stateFile);
    }

    private void removeHook() {
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or will run; it sees closed and does nothing
            }
        }
    }

    private void releaseLock() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            LOG.debug("releasing {}: {}", lockChannel, e.toString());
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing left to do
            }
        }
    }

    // ---- what it did ----

    /** The knobs it manages, in write order. */
    public Set<String> managedKnobs() {
        return knobs.keySet();
    }

    /** The original value of each managed knob (as recorded before the first write). */
    public synchronized Map<String, String> originals() {
        return Map.copyOf(originals);
    }

    /** Switches made (each logged once). */
    public synchronized long switches() {
        return switches;
    }

    /** Whether the knobs are now restricted by this enforcer. */
    public synchronized boolean restricting() {
        return !written.isEmpty();
    }

    /** The state file. */
    public Path stateFile() {
        return stateFile;
    }

    /** The cgroup whose decisions apply. */
    public long followCgroupId() {
        return followCgroupId;
    }

    /** Configures a {@link HostThpEnforcer}. */
    public static final class Builder {
        private final ThpSysfs sysfs;
        private final LongSupplier bootClock;
        private long followCgroupId = -1;
        private Long orders;
        private boolean topLevel;
        private Path stateFile = Path.of(DEFAULT_STATE);
        private Duration relaxAfter = Duration.ofSeconds(10);
        private boolean shutdownHook = true;

        private Builder(ThpSysfs sysfs, LongSupplier bootClock) {
            this.sysfs = Objects.requireNonNull(sysfs, "sysfs");
            this.bootClock = Objects.requireNonNull(bootClock, "bootClock");
        }

        /** The cgroup whose decisions are applied: the controller's root (required). */
        public Builder follow(long cgroupId) {
            if (cgroupId < 0) {
                throw new IllegalArgumentException("cgroup id must not be negative, was " + cgroupId);
            }
            followCgroupId = cgroupId;
            return this;
        }

        /** The sizes whose {@code enabled} knob is managed (default every anon size with a knob). */
        public Builder orders(long mask) {
            if (mask == 0) {
                throw new IllegalArgumentException("manage at least one size");
            }
            orders = mask;
            return this;
        }

        /** Also manage the top-level {@code enabled} ({@code never} when no order is allowed). Default off. */
        public Builder topLevel(boolean value) {
            topLevel = value;
            return this;
        }

        /** Where the originals are recorded (default {@value HostThpEnforcer#DEFAULT_STATE}). */
        public Builder stateFile(Path value) {
            stateFile = Objects.requireNonNull(value, "stateFile");
            return this;
        }

        /** How long a relaxation must be asked for without interruption before it is applied (default 10 s). */
        public Builder relaxAfter(Duration value) {
            if (value.isNegative()) {
                throw new IllegalArgumentException("relaxAfter must not be negative, was " + value);
            }
            relaxAfter = value;
            return this;
        }

        /** Restore from a JVM shutdown hook (SIGINT, SIGTERM, exit). Default on. */
        public Builder shutdownHook(boolean value) {
            shutdownHook = value;
            return this;
        }

        /**
         * Takes the lock, restores what a killed enforcer left in the state file, records the current values and
         * registers the shutdown hook. Nothing is written until a decision restricts.
         *
         * @throws IllegalStateException if another enforcer holds the lock, or the state file is damaged or unwritable
         */
        public HostThpEnforcer open() {
            if (followCgroupId < 0) {
                throw new IllegalStateException("say whose decisions to apply: follow(controller root's cgroup id)");
            }
            return new HostThpEnforcer(this);
        }
    }
}
