package io.mthp4j.runtime;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.Orders;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mthp_ext for one process on a stock kernel (kernel-semantics.md §15.5, §15.6): it watches the memory pressure
 * of the process's own cgroup (cgroup v2 {@code memory.pressure}; the root's is {@code /proc/pressure/memory},
 * and it falls back to that when the own cgroup's file cannot be read) and the process's own anon + shmem,
 * asks the policy as if the process were its cgroup, and applies the answer with what the kernel offers: the
 * prctl mode (§9) and MADV_HUGEPAGE / MADV_NOHUGEPAGE on the ranges it was told about (§7), chosen by
 * {@link ModeChoice}. Each switch is logged once with its reason.
 *
 * <p>Cadence as the sample's loop (§15.6): a PSI {@code some} trigger with the policy's threshold and interval
 * wakes it, and it checks at least every 2 × interval. A 1 s window needs CAP_SYS_RESOURCE (§10.3,
 * linux-interfaces.md §5.2); when the kernel refuses it, the window is rounded up to a multiple of 2 s (at most
 * 10 s), the threshold scaled with it, and that is logged once. With a trigger the wait runs on the backend's
 * clock, so the fake kernel's virtual clock drives it; without one (PSI unavailable) it sleeps in real time.
 * Tests call {@link #checkOnce()}.
 */
final class SelfEnforcer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SelfEnforcer.class);
    private static final long STEP_MICROS = 2_000_000;
    private static final long MAX_WINDOW_MICROS = 10_000_000;

    /** A range the process told about: it wants MADV_HUGEPAGE while the policy allows THP there. */
    private record Range(long start, long length) {
        @Override
        public String toString() {
            return String.format("[0x%x, 0x%x)", start, start + length);
        }
    }

    private final KernelBackend backend;
    private final ThpProcess process;
    private final CgroupPolicy policy;
    private final CgroupRef own;
    private final ProcessThpMode original;
    private final Duration threshold;
    private final Duration interval;
    private final List<Range> ranges = new ArrayList<>();
    private CgroupRef pressureSource;
    private ProcessThpMode mode;
    private boolean rangesHuge = true;
    private long lastStallMicros = -1;
    private boolean readFailing;
    private long checks;
    private long switches;
    private long errors;
    private boolean closed;
    private volatile PsiTrigger trigger;
    private volatile Thread thread;
    private volatile HeadroomWatch headroomWatch;
    private volatile Thread headroomThread;
    private long headroomEvents;

    SelfEnforcer(KernelBackend backend, CgroupPolicy policy) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.process = backend.currentProcess();
        this.own = process.cgroup();
        this.pressureSource = own;
        this.original = process.thpMode();
        this.mode = original;
        if (policy instanceof PressurePolicy p) {
            threshold = p.threshold();
            interval = p.interval();
        } else {
            threshold = Duration.ofMillis(100);
            interval = Duration.ofMillis(1000);
        }
    }

    CgroupRef cgroup() {
        return own;
    }

    synchronized CgroupRef pressureSource() {
        return pressureSource;
    }

    ProcessThpMode original() {
        return original;
    }

    synchronized ProcessThpMode mode() {
        return mode;
    }

    synchronized boolean rangesHuge() {
        return rangesHuge;
    }

    synchronized long checks() {
        return checks;
    }

    synchronized long switches() {
        return switches;
    }

    synchronized long errors() {
        return errors;
    }

    // ---- one check ----

    /** The own cgroup's headroom, or "not read" when the backend cannot say (the policy then ignores it). */
    private io.mthp4j.core.kernel.Headroom readHeadroom() {
        try {
            return backend.headroom().sample(own);
        } catch (KernelException e) {
            return CgroupSample.NOT_READ;
        }
    }

    /** Reads pressure and memory, asks the policy, applies the answer. Thread-safe. */
    synchronized void checkOnce() {
        if (closed) {
            return;
        }
        long stall;
        try {
            stall = readFullStall();
            if (readFailing) {
                readFailing = false;
                LOG.info("memory pressure of {} is readable again", pressureSource);
            }
        } catch (KernelException e) {
            errors++;
            if (!readFailing) {
                readFailing = true;
                LOG.warn("check skipped: cannot read the memory pressure of {} ({}); the next check tries again", pressureSource,
                        e.getMessage());
            }
            return;
        }
        long memory;
        try {
            memory = process.anonShmemBytes();
        } catch (KernelException e) {
            memory = 0; // unknown: never "small" (§15.5: mem != 0)
        }
        DecisionTable table;
        try {
            CgroupSample sample = new CgroupSample(own, 0, true, stall, memory);
            if (policy.headroomShares().length > 0) {
                sample = sample.withHeadroom(readHeadroom()); // issue 9: usage against the own cgroup's hard limit
            }
            table = policy.decide(sample);
        } catch (RuntimeException e) {
            errors++;
            LOG.error("policy {} failed; the process keeps {}", policy, ModeChoice.describe(mode), e);
            return;
        }
        long delta = lastStallMicros < 0 ? 0 : Math.max(0, stall - lastStallMicros);
        boolean first = lastStallMicros < 0;
        lastStallMicros = stall;
        checks++;
        ProcessThpMode target = table == null ? original : ModeChoice.choose(table, original);
        boolean huge = table == null || ModeChoice.rangesHuge(table);
        if (target != mode || huge != rangesHuge) { // the reason is only built for a change
            apply(target, huge, reason(table, delta, memory, first));
        }
    }

    private long readFullStall() {
        CgroupTree tree = backend.cgroups();
        try {
            return tree.pressure(pressureSource).full().totalMicros();
        } catch (KernelException e) {
            if (pressureSource.isRoot()) {
                throw e;
            }
            CgroupRef root = tree.root();
            long total = tree.pressure(root).full().totalMicros();
            LOG.warn("cannot read the memory pressure of this process's cgroup {} ({}); watching the system-wide"
                    + " /proc/pressure/memory instead", pressureSource, e.getMessage());
            pressureSource = root;
            lastStallMicros = -1; // another counter: no delta yet
            return total;
        }
    }

    private String reason(DecisionTable table, long deltaMicros, long memory, boolean first) {
        String numbers = (first ? "first check" : "full stall +" + deltaMicros / 1000 + " ms since the last check")
                + " on " + pressureSource.path() + ", anon+shmem " + (memory == 0 ? "unknown" : Orders.formatSize(memory));
        String verdict = table == null ? "no opinion" : describe(table);
        if (policy instanceof PressurePolicy p) {
            return (p.flavor() == PressurePolicy.Flavor.MTHP_EXT ? "mthp_ext" : "tva-aware") + " decided " + verdict + " (" + numbers + "; threshold " + p.threshold().toMillis() + " ms, minimum "
                    + Orders.formatSize(p.minMemoryBytes()) + ")";
        }
        return policy + " decided " + verdict + " (" + numbers + ")";
    }

    private static String describe(DecisionTable t) {
        long fault = t.allowed(TvaType.PAGEFAULT, VmaType.NONE);
        return Orders.highest(fault & ~1L) < 0 ? "base pages" : "orders up to " + Orders.highest(fault);
    }

    /** Applies a decision; a change is logged once, in one line, with its reason. */
    private void apply(ProcessThpMode target, boolean huge, String reason) {
        StringBuilder change = new StringBuilder();
        if (target != mode) {
            try {
                process.setThpMode(target);
            } catch (KernelException e) {
                errors++;
                if (target == ProcessThpMode.DISABLED_EXCEPT_ADVISED && e.errno() == Errno.EINVAL) {
                    LOG.warn("this kernel has no PR_THP_DISABLE_EXCEPT_ADVISED (Linux 6.18+); disabling THP completely instead");
                    target = ProcessThpMode.DISABLED;
                    process.setThpMode(target);
                } else {
                    LOG.error("could not switch to {}: {}; the process keeps {}", ModeChoice.describe(target), e.getMessage(),
                            ModeChoice.describe(mode));
                    return;
                }
            }
            change.append(ModeChoice.describe(mode)).append(" -> ").append(ModeChoice.describe(target));
            mode = target;
            switches++;
        }
        if (huge != rangesHuge) {
            rangesHuge = huge;
            if (!ranges.isEmpty()) {
                adviseAll(huge ? Madvice.HUGEPAGE : Madvice.NOHUGEPAGE);
                change.append(change.length() == 0 ? "" : ", ").append(ranges.size()).append(" told range(s) -> MADV_")
                        .append(huge ? "HUGEPAGE" : "NOHUGEPAGE");
            }
        }
        if (change.length() > 0) {
            LOG.info("{}: {}", change, reason);
        }
    }

    private void adviseAll(Madvice advice) {
        for (Range r : new ArrayList<>(ranges)) {
            try {
                process.madvise(r.start(), r.length(), advice);
            } catch (KernelException e) {
                errors++;
                if (e.errno() == Errno.ENOMEM) {
                    ranges.remove(r);
                    LOG.warn("range {} is no longer mapped ({}); forgotten (release ranges before unmapping them)", r, e.getMessage());
                } else {
                    LOG.warn("madvise(MADV_{}) on {} failed: {}", advice, r, e.getMessage());
                }
            }
        }
    }

    // ---- ranges ----

    /**
     * Manages {@code [start, start + length)}: MADV_HUGEPAGE now if the policy allows THP where advised, else
     * MADV_NOHUGEPAGE, and again at every switch; MADV_HUGEPAGE when closed.
     *
     * @throws IllegalArgumentException if the range is not page-aligned or empty
     * @throws KernelException if the kernel refuses the advice (ENOMEM: not mapped)
     */
    synchronized void manage(long start, long length) {
        long page = backend.geometry().pageSize();
        if (length <= 0 || start % page != 0 || length % page != 0) {
            throw new IllegalArgumentException(String.format("a managed range must be whole pages of %d bytes; was"
                    + " [0x%x, +%d)", page, start, length));
        }
        Range r = new Range(start, length);
        process.madvise(start, length, rangesHuge ? Madvice.HUGEPAGE : Madvice.NOHUGEPAGE);
        ranges.add(r);
    }

    /** Stops managing a range (call it before unmapping); its advice stays as it is. */
    synchronized boolean release(long start, long length) {
        return ranges.remove(new Range(start, length));
    }

    synchronized int managedRanges() {
        return ranges.size();
    }

    // ---- the loop ----

    /**
     * Registers the PSI trigger, checks once, and runs the loop on a daemon thread; a policy with headroom shares
     * also gets a watch on the own cgroup's usage, whose crossings cause a check at once (as the controller's
     * headroom watches do): a process filling its limit crosses 80% to 100% in about a second at a few hundred MB/s,
     * less than the loop's 2 × interval.
     */
    void start() {
        trigger = register();
        Thread t = new Thread(this::loop, "mthp4j-self");
        t.setDaemon(true);
        thread = t;
        t.start();
        if (policy.headroomShares().length > 0) {
            watchHeadroom();
        }
    }

    private void watchHeadroom() {
        HeadroomWatch w;
        try {
            w = backend.headroom().watch(own, policy.headroomShares());
        } catch (RuntimeException e) {
            synchronized (this) {
                errors++;
            }
            LOG.warn("cannot watch the memory headroom of {} ({}); it is read at every check only", own.path(), e.getMessage());
            return;
        }
        headroomWatch = w;
        Thread h = new Thread(() -> headroomLoop(w), "mthp4j-self-headroom");
        h.setDaemon(true);
        headroomThread = h;
        LOG.debug("watching the memory headroom of {} ({})", own.path(), w.mechanism());
        h.start();
    }

    private void headroomLoop(HeadroomWatch w) {
        Duration timeout = interval.multipliedBy(2);
        while (!isClosed()) {
            try {
                if (!w.await(timeout)) {
                    continue;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (isClosed()) {
                    return;
                }
                synchronized (this) {
                    errors++;
                }
                LOG.warn("watching the memory headroom of {} failed ({}); it is read at every check only from now on",
                        own.path(), e.getMessage());
                closeHeadroomWatch();
                return;
            }
            if (isClosed()) {
                return;
            }
            synchronized (this) {
                headroomEvents++;
            }
            checkSafely();
        }
    }

    private void closeHeadroomWatch() {
        HeadroomWatch w = headroomWatch;
        headroomWatch = null;
        if (w != null) {
            w.close();
        }
    }

    /** Crossings of the own cgroup's headroom shares that caused a check. */
    synchronized long headroomEvents() {
        return headroomEvents;
    }

    boolean watchesHeadroom() {
        return headroomWatch != null;
    }

    private void loop() {
        Duration timeout = interval.multipliedBy(2); // §15.6: epoll_wait(2 × interval)
        checkSafely();
        while (!isClosed()) {
            try {
                PsiTrigger tr = trigger;
                if (tr != null) {
                    tr.await(timeout);
                } else {
                    Thread.sleep(timeout.toMillis());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (isClosed()) {
                    return; // close() closed the trigger under the wait
                }
                synchronized (this) {
                    errors++;
                }
                LOG.warn("waiting for PSI events failed ({}); checking every {} ms without the trigger", e.getMessage(),
                        timeout.toMillis());
                closeTrigger();
            }
            checkSafely();
        }
    }

    private void checkSafely() {
        try {
            checkOnce();
        } catch (RuntimeException e) {
            synchronized (this) {
                errors++;
            }
            LOG.error("check failed; the loop goes on", e);
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    /** The trigger as the policy asks, else with the window rounded up to what the kernel accepts; null if none. */
    private PsiTrigger register() {
        Psi psi = backend.psi();
        long thresholdMicros = Math.max(1, threshold.toNanos() / 1000);
        long windowMicros = Math.max(thresholdMicros, interval.toNanos() / 1000);
        CgroupRef source = pressureSource();
        try {
            return psi.register(source, Psi.Kind.SOME, thresholdMicros, windowMicros);
        } catch (KernelException first) {
            long window = Math.min(MAX_WINDOW_MICROS, Math.max(STEP_MICROS, (windowMicros + STEP_MICROS - 1) / STEP_MICROS * STEP_MICROS));
            long scaled = Math.max(1, Math.min(window, Math.round(thresholdMicros * (double) window / windowMicros)));
            if (first.errno() == Errno.EINVAL && window != windowMicros) {
                try {
                    PsiTrigger t = psi.register(source, Psi.Kind.SOME, scaled, window);
                    LOG.info("PSI trigger on {}: some {} {} refused (EINVAL: without CAP_SYS_RESOURCE windows are multiples"
                            + " of 2 s); using some {} {}", source.path(), thresholdMicros, windowMicros, scaled, window);
                    return t;
                } catch (KernelException again) {
                    first = again;
                }
            }
            LOG.warn("no PSI trigger on {} ({}); checking every {} ms on a timer", source.path(), first.getMessage(),
                    interval.multipliedBy(2).toMillis());
            return null;
        }
    }

    private void closeTrigger() {
        PsiTrigger t = trigger;
        trigger = null;
        if (t != null) {
            t.close();
        }
    }

    boolean hasTrigger() {
        return trigger != null;
    }

    /**
     * Stops the loop, then restores the prctl mode the process had at registration and MADV_HUGEPAGE on the
     * managed ranges. Idempotent.
     *
     * @throws KernelException if the restore failed (after trying everything)
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        closeTrigger();
        closeHeadroomWatch();
        for (Thread t : new Thread[] {thread, headroomThread}) {
            if (t != null && t != Thread.currentThread()) {
                t.interrupt();
                try {
                    t.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        restore();
    }

    private synchronized void restore() {
        KernelException failure = null;
        try {
            if (process.thpMode() != original) {
                process.setThpMode(original);
                LOG.info("{} -> {}: the registration closed, the original mode is back", ModeChoice.describe(mode),
                        ModeChoice.describe(original));
            }
            mode = original;
        } catch (KernelException e) {
            failure = e;
            LOG.error("could not restore {}: {}", ModeChoice.describe(original), e.getMessage());
        }
        if (!rangesHuge) {
            adviseAll(Madvice.HUGEPAGE);
            rangesHuge = true;
        }
        ranges.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
