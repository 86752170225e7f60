package io.mthp4j.core.controller;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Orders;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control loop of mthp_ext's user-space daemon (kernel-semantics.md §15.6), against {@link KernelBackend}
 * only, so it runs unchanged on the fake kernel and on Linux.
 *
 * <p>It registers a PSI {@code some} trigger on the root's {@code memory.pressure} (threshold / window from the
 * policy: 100 ms in 1 s by default). When the kernel rejects the window with EINVAL (without CAP_SYS_RESOURCE
 * windows must be a multiple of 2 s, linux-interfaces.md §5.2) it moves to the nearest window in 2..10 s the
 * kernel accepts and logs that once. It scans after every event and after 2 × interval without one.
 *
 * <p>A scan walks the root and its descendants (pre-order), reads each cgroup's cumulative {@code full} stall
 * and anon + shmem, asks the {@link CgroupPolicy} for a {@link DecisionTable}, and publishes it to the backend's
 * {@link DecisionSink} with an increasing generation and an expiry ({@link KernelBackend#bootTimeNanos()} +
 * TTL), so the decisions of a controller that dies go stale and the kernel default returns. Every scan
 * republishes, which renews the expiry. A new cgroup gets its parent's decision at its first scan (and a sink
 * that resolves the nearest ancestor, as the fake kernel's and the BPF program do, applies the parent's before
 * that); a removed one is withdrawn and forgotten. Per-cgroup state lives in a bounded Caffeine cache.
 *
 * <p>Each decision change is logged once (cgroup, stall before → after, memory, decision before → after) and
 * emitted as a JFR event {@code io.mthp4j.DecisionChange}. A vanished cgroup, an unreadable file or any errno
 * during a scan skips that cgroup for that scan, counts an error and never stops the loop.
 *
 * <p>A policy with {@linkplain CgroupPolicy#headroomShares() headroom shares} (issue 9) also gets every cgroup's
 * usage against its hard limit, and the controller watches its root for usage crossing those shares (kernel
 * notifications where they exist, polling otherwise): a crossing causes a scan at once, on a second thread.
 *
 * <p>Tests drive it step by step with {@link #scanOnce()}; production calls {@link #start()}, which runs the loop
 * on a daemon thread until {@link #stop}. The loop waits through {@link PsiTrigger#await} on the backend's
 * clock, so the fake kernel's virtual clock drives it.
 */
public final class PolicyController implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyController.class);

    /** Windows a PSI trigger may have without CAP_SYS_RESOURCE (kernel-semantics.md §10.3). */
    private static final long[] UNPRIVILEGED_WINDOWS_MICROS = {2_000_000, 4_000_000, 6_000_000, 8_000_000, 10_000_000};

    /** What the controller keeps per cgroup. */
    private record Tracked(CgroupRef cgroup, DecisionTable table, long stallMicros, long scan) {
        Tracked seenIn(long scanNumber) {
            return new Tracked(cgroup, table, stallMicros, scanNumber);
        }
    }

    private final KernelBackend backend;
    private final CgroupPolicy policy;
    private final CgroupRef root;
    private final DecisionSink sink;
    private final long thresholdMicros;
    private final long windowMicros;
    private final Duration timeout;
    private final long ttlNanos;
    private final Cache<Long, Tracked> tracked;
    private final ReentrantLock scanLock = new ReentrantLock();
    /** Cgroups skipped for an error, with the number of the scan that last walked them. */
    private final Map<Long, Long> failing = new HashMap<>();
    /** The ancestors of the cgroup being scanned (pre-order walk), reused between scans. */
    private final ArrayDeque<CgroupRef> ancestors = new ArrayDeque<>();
    /** The number of the scan in progress (under the scan lock); stamps the tracked cgroups it walked. */
    private long scanNumber;
    private final AtomicLong scans = new AtomicLong();
    private final AtomicLong changes = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong generation = new AtomicLong();
    private final AtomicBoolean windowLogged = new AtomicBoolean();
    private volatile long effectiveWindowMicros;
    private final AtomicLong headroomEvents = new AtomicLong();
    private volatile PsiTrigger trigger;
    /** Headroom watches by cgroup id: the root's, and every limited cgroup a scan saw (bounded). */
    private final java.util.concurrent.ConcurrentHashMap<Long, Watching> watching = new java.util.concurrent.ConcurrentHashMap<>();
    private final int maxHeadroomWatches;

    /** One watched cgroup and the thread that waits on it. */
    private record Watching(CgroupRef cgroup, HeadroomWatch watch, Thread thread) {
    }
    private volatile boolean running;
    private volatile Thread thread;

    private PolicyController(Builder b) {
        this.backend = b.backend;
        this.policy = b.policy;
        this.root = b.root != null ? b.root : backend.cgroups().root();
        this.sink = b.sink;
        this.maxHeadroomWatches = b.maxHeadroomWatches;
        this.thresholdMicros = b.threshold.toNanos() / 1000;
        this.windowMicros = b.window.toNanos() / 1000;
        this.effectiveWindowMicros = windowMicros;
        this.timeout = b.window.multipliedBy(2); // §15.6: epoll_wait(2 × interval)
        this.ttlNanos = (b.ttl != null ? b.ttl : timeout.multipliedBy(3)).toNanos();
        this.tracked = Caffeine.newBuilder()
                .maximumSize(b.maxCgroups)
                .executor(Runnable::run) // removal on the scanning thread, deterministic
                .<Long, Tracked>removalListener((id, t, cause) -> {
                    if (id != null && cause != RemovalCause.REPLACED) {
                        forgotten(id, t);
                    }
                })
                .build();
    }

    /** A controller for {@code policy} on {@code backend}; trigger defaults come from a {@link PressurePolicy}. */
    public static Builder builder(KernelBackend backend, CgroupPolicy policy) {
        return new Builder(backend, policy);
    }

    // ---- one scan ----

    /** Runs one scan now (thread-safe; scans never overlap). */
    public void scanOnce() {
        scanLock.lock();
        try {
            scan();
        } finally {
            scans.incrementAndGet(); // counted when done, so a reader who sees it also sees what it published
            scanLock.unlock();
        }
    }

    private void scan() {
        long scan = ++scanNumber;
        long now = backend.bootTimeNanos();
        CgroupTree tree = backend.cgroups();
        List<CgroupRef> cgroups;
        try {
            cgroups = tree.walk(root);
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            LOG.warn("scan of {} skipped: cannot walk it ({}); the next scan tries again", root, e.getMessage());
            return;
        }
        // The scan's number marks what it walked: tracked cgroups not marked are gone (no per-scan set of ids).
        ancestors.clear();
        for (CgroupRef cgroup : cgroups) {
            long parentId = parentId(cgroup);
            try {
                scanOne(tree, cgroup, parentId, now, scan);
                if (failing.remove(cgroup.id()) != null) {
                    LOG.info("cgroup {} is readable again", cgroup);
                }
            } catch (RuntimeException e) {
                errors.incrementAndGet();
                Tracked t = tracked.getIfPresent(cgroup.id());
                if (t != null) {
                    tracked.put(cgroup.id(), t.seenIn(scan)); // skipped, not removed: its decision stays
                }
                if (failing.put(cgroup.id(), scan) == null) {
                    LOG.warn("cgroup {} skipped in this scan: {}", cgroup, e.getMessage());
                } else {
                    LOG.debug("cgroup {} skipped again: {}", cgroup, e.getMessage());
                }
            }
        }
        for (Tracked t : new ArrayList<>(tracked.asMap().values())) {
            if (t.scan() != scan) {
                tracked.invalidate(t.cgroup().id()); // removed: withdrawn and forgotten by the removal listener
            }
        }
        failing.values().removeIf(lastWalked -> lastWalked != scan);
        tracked.cleanUp();
    }

    /**
     * The id of {@code cgroup}'s parent in this scan's pre-order walk, 0 for the scan's root: the nearest
     * ancestor still on the stack (kept with push and pop, no lookup by path).
     */
    private long parentId(CgroupRef cgroup) {
        if (cgroup.equals(root)) {
            ancestors.clear();
            ancestors.push(cgroup);
            return 0;
        }
        String path = cgroup.path();
        while (!ancestors.isEmpty() && !isAncestor(ancestors.peek().path(), path)) {
            ancestors.pop();
        }
        long parentId = ancestors.isEmpty() ? 0 : ancestors.peek().id();
        ancestors.push(cgroup);
        return parentId;
    }

    private static boolean isAncestor(String ancestor, String path) {
        if (ancestor.equals("/")) {
            return path.length() > 1;
        }
        return path.length() > ancestor.length() && path.charAt(ancestor.length()) == '/' && path.startsWith(ancestor);
    }

    private void scanOne(CgroupTree tree, CgroupRef cgroup, long parentId, long now, long scan) {
        boolean tasks = tree.hasTasks(cgroup);
        long stall = 0;
        long memory = 0;
        if (tasks && policy.needsSamples()) {
            stall = tree.pressure(cgroup).full().totalMicros();
            try {
                memory = tree.memory(cgroup).anonAndShmem();
            } catch (io.mthp4j.api.KernelException e) {
                if (e.errno() != io.mthp4j.api.Errno.ENOENT) {
                    throw e;
                }
                // The pressure file was there, so the cgroup is: it has no memory controller (CgroupSample: 0 =
                // unknown, never "small"), as SelfEnforcer treats it. A vanished cgroup fails on pressure above.
                memory = 0;
            }
        }
        // issue 9: headroom for every cgroup, with or without tasks (a taskless parent's limit binds its children)
        Headroom headroom = policy.headroomShares().length == 0 ? CgroupSample.NOT_READ : backend.headroom().sample(cgroup);
        if (headroom.limited() && running && !watching.containsKey(cgroup.id())) {
            watchHeadroom(cgroup);
        }
        DecisionTable table = policy.decide(new CgroupSample(cgroup, parentId, tasks, stall, memory, headroom));
        Tracked before = tracked.getIfPresent(cgroup.id());
        DecisionTable previous = before == null ? null : before.table();
        DecisionSink sink = sink();
        boolean change = !Objects.equals(previous, table);
        String reason = change ? reason(cgroup, before, table, stall, memory, headroom) : null;
        long gen = 0;
        if (table != null) {
            gen = generation.incrementAndGet();
            sink.publish(cgroup.id(), table, gen, now + ttlNanos, reason);
        } else if (previous != null) {
            sink.withdraw(cgroup.id());
        }
        if (change) {
            changed(cgroup, before, table, stall, memory, gen, reason);
        }
        // Keep the last read stall for the next change's "before" (a taskless cgroup is not read).
        long keptStall = tasks || before == null ? stall : before.stallMicros();
        tracked.put(cgroup.id(), new Tracked(cgroup, table, keptStall, scan));
    }

    /** The change line: {@code cgroup /a: stall 10 -> 250010 us, mem 64M[, usage 52M of memory.max 64M (81%)], order=9 -> order=0}. */
    private static String reason(CgroupRef cgroup, Tracked before, DecisionTable table, long stall, long memory, Headroom headroom) {
        long stallBefore = before == null ? 0 : before.stallMicros();
        return "cgroup " + cgroup.path() + ": stall " + stallBefore + " -> " + stall + " us, mem " + Orders.formatSize(memory)
                + (headroom == CgroupSample.NOT_READ ? "" : ", usage " + headroom) + ", "
                + describe(before == null ? null : before.table()) + " -> " + describe(table);
    }

    private void changed(CgroupRef cgroup, Tracked before, DecisionTable table, long stall, long memory, long gen, String reason) {
        changes.incrementAndGet();
        long stallBefore = before == null ? 0 : before.stallMicros();
        String was = describe(before == null ? null : before.table());
        String now = describe(table);
        LOG.info("{}", reason);
        DecisionChangeEvent event = new DecisionChangeEvent();
        if (event.shouldCommit()) {
            event.cgroup = cgroup.path();
            event.cgroupId = cgroup.id();
            event.stallBefore = stallBefore;
            event.stallAfter = stall;
            event.memory = memory;
            event.before = was;
            event.after = now;
            event.generation = gen;
            event.commit();
        }
    }

    private void forgotten(long id, Tracked t) {
        try {
            if (t != null && t.table() != null) {
                sink().withdraw(id);
            }
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            LOG.warn("could not withdraw the decision for cgroup id {}: {}; it expires on its own", id, e.getMessage());
        }
        unwatch(id);
        policy.forget(id);
        LOG.debug("cgroup {} forgotten", t == null ? Long.toString(id) : t.cgroup().toString());
    }

    private DecisionSink sink() {
        return sink != null ? sink : backend.decisions();
    }

    /**
     * A decision in the words of the sample's debug line: {@code order=9}, {@code order=0} for base pages, or
     * the fault, khugepaged and collapse orders where they differ; {@code no opinion} for null.
     */
    public static String describe(DecisionTable t) {
        if (t == null) {
            return "no opinion";
        }
        long fault = t.allowed(TvaType.PAGEFAULT, VmaType.NONE);
        if (t.equals(DecisionTable.uniform(fault))) {
            return "order=" + orderOf(fault);
        }
        return "fault order=" + orderOf(fault) + ", khugepaged order=" + orderOf(t.allowed(TvaType.KHUGEPAGED, VmaType.NONE))
                + ", collapse order=" + orderOf(t.allowed(TvaType.FORCED_COLLAPSE, VmaType.NONE));
    }

    private static String orderOf(long mask) {
        return mask == -1L ? "any" : Integer.toString(Math.max(0, Orders.highest(mask)));
    }

    // ---- the loop ----

    /**
     * Registers the PSI trigger, scans once, and runs the loop on a daemon thread.
     *
     * @throws IllegalStateException if already started
     */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("the controller was already started; make a new one to start again");
        }
        running = true;
        trigger = register();
        Thread t = new Thread(this::loop, "mthp4j-controller");
        t.setDaemon(true);
        thread = t;
        t.start();
        if (policy.headroomShares().length > 0) {
            watchHeadroom(root);
        }
    }

    /** Starts watching a cgroup's headroom on its own thread (the root, and limited cgroups up to the bound). */
    private synchronized void watchHeadroom(CgroupRef cgroup) {
        if (!running || watching.containsKey(cgroup.id())) {
            return;
        }
        if (watching.size() >= maxHeadroomWatches) {
            LOG.debug("not watching the headroom of {}: {} watches already; it is read at every scan", cgroup, maxHeadroomWatches);
            return;
        }
        double[] shares = policy.headroomShares();
        HeadroomWatch w;
        try {
            w = backend.headroom().watch(cgroup, shares);
        } catch (RuntimeException e) {
            errors.incrementAndGet();
            LOG.warn("cannot watch the memory headroom of {}: {}; it is read at every scan only", cgroup, e.getMessage());
            return;
        }
        Thread h = new Thread(() -> headroomLoop(cgroup, w), "mthp4j-headroom " + cgroup.path());
        h.setDaemon(true);
        watching.put(cgroup.id(), new Watching(cgroup, w, h));
        LOG.info("watching the memory headroom of {} ({}) for usage crossing {} of its limit", cgroup, w.mechanism(),
                java.util.Arrays.toString(shares));
        h.start();
    }

    /** Scans whenever the cgroup's usage crosses a headroom share (issue 9). */
    private void headroomLoop(CgroupRef cgroup, HeadroomWatch w) {
        while (running && watching.containsKey(cgroup.id())) {
            try {
                if (!w.await(timeout)) {
                    continue;
                }
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                if (!running || !watching.containsKey(cgroup.id())) {
                    break;
                }
                errors.incrementAndGet();
                LOG.warn("watching the memory headroom of {} failed ({}); it is read at every scan only from now on",
                        cgroup, e.getMessage());
                unwatch(cgroup.id());
                break;
            }
            if (!running) {
                break;
            }
            headroomEvents.incrementAndGet();
            scanSafely();
        }
    }

    private void unwatch(long id) {
        Watching w = watching.remove(id);
        if (w != null) {
            try {
                w.watch().close();
            } catch (RuntimeException e) {
                LOG.debug("closing the headroom watch of {} failed: {}", w.cgroup(), e.getMessage());
            }
        }
    }

    private void loop() {
        scanSafely();
        while (running) {
            boolean event = false;
            try {
                PsiTrigger tr = trigger;
                if (tr != null) {
                    event = tr.await(timeout);
                } else {
                    Thread.sleep(timeout.toMillis()); // no trigger: real time is all there is
                }
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                if (!running) {
                    break; // stop() closed the trigger under the wait: not a failure
                }
                errors.incrementAndGet();
                LOG.warn("waiting for PSI events on {} failed ({}); scanning every {} ms without the trigger from now on",
                        root, e.getMessage(), timeout.toMillis());
                closeTrigger();
            }
            if (!running) {
                break;
            }
            if (event) {
                events.incrementAndGet();
            }
            scanSafely();
        }
    }

    private void scanSafely() {
        try {
            scanOnce();
        } catch (RuntimeException e) { // a policy bug: count it, keep the loop
            errors.incrementAndGet();
            LOG.error("scan failed; the loop goes on", e);
        }
    }

    /** The trigger as configured, or at the nearest window the kernel accepts; null if PSI refuses entirely. */
    private PsiTrigger register() {
        Psi psi = backend.psi();
        try {
            return psi.register(root, Psi.Kind.SOME, thresholdMicros, windowMicros);
        } catch (KernelException e) {
            if (e.errno() != Errno.EINVAL) {
                return noTrigger(e);
            }
            KernelException last = e;
            for (long window : nearestWindows(windowMicros)) {
                if (window == windowMicros) {
                    continue;
                }
                try {
                    PsiTrigger t = psi.register(root, Psi.Kind.SOME, Math.min(thresholdMicros, window), window);
                    effectiveWindowMicros = window;
                    if (windowLogged.compareAndSet(false, true)) {
                        LOG.warn("the kernel rejected a PSI window of {} ms on {} (EINVAL; without CAP_SYS_RESOURCE windows"
                                + " must be a multiple of 2 s); using {} ms, the nearest it accepts", windowMicros / 1000,
                                root, window / 1000);
                    }
                    return t;
                } catch (KernelException again) {
                    last = again;
                    if (again.errno() != Errno.EINVAL) {
                        break;
                    }
                }
            }
            return noTrigger(last);
        }
    }

    private PsiTrigger noTrigger(KernelException e) {
        errors.incrementAndGet();
        LOG.error("no PSI trigger on {}: {}; scanning every {} ms without it", root, e.getMessage(), timeout.toMillis());
        return null;
    }

    /** The windows a trigger may have without CAP_SYS_RESOURCE, nearest first (ties: the longer). */
    static long[] nearestWindows(long requestedMicros) {
        return java.util.Arrays.stream(UNPRIVILEGED_WINDOWS_MICROS).boxed()
                .sorted((a, b) -> {
                    int byDistance = Long.compare(Math.abs(a - requestedMicros), Math.abs(b - requestedMicros));
                    return byDistance != 0 ? byDistance : Long.compare(b, a);
                })
                .mapToLong(Long::longValue).toArray();
    }

    /**
     * Stops the loop (if started), waits up to {@code timeout} for it to end, closes the trigger and withdraws
     * every published decision. Idempotent.
     *
     * @return whether the loop thread ended in time (always true if it was never started)
     */
    public boolean stop(Duration timeout) {
        Thread t;
        List<Watching> watched;
        synchronized (this) {
            running = false;
            t = thread;
            watched = new ArrayList<>(watching.values());
        }
        closeTrigger(); // wakes a waiting await
        watched.forEach(w -> unwatch(w.cgroup().id())); // wakes the watch threads
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean ended = join(t, deadline, "the controller loop");
        for (Watching w : watched) {
            ended &= join(w.thread(), deadline, "the headroom watcher of " + w.cgroup());
        }
        scanLock.lock();
        try {
            tracked.invalidateAll(); // withdraws and forgets
            tracked.cleanUp();
        } finally {
            scanLock.unlock();
        }
        return ended;
    }

    private static boolean join(Thread t, long deadline, String what) {
        if (t == null || t == Thread.currentThread()) {
            return true;
        }
        t.interrupt();
        try {
            t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            LOG.warn("{} did not end in time", what);
            return false;
        }
        return true;
    }

    /** {@link #stop(Duration)} with 5 s. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }

    private void closeTrigger() {
        PsiTrigger t = trigger;
        trigger = null;
        if (t != null) {
            try {
                t.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the PSI trigger failed: {}", e.getMessage());
            }
        }
    }

    // ---- what it did ----

    /** Scans run. */
    public long scans() {
        return scans.get();
    }

    /** Decision changes (a new cgroup's first decision counts). */
    public long changes() {
        return changes.get();
    }

    /** Errors: skipped cgroups, failed walks, failed PSI waits or registrations, failed withdrawals. */
    public long errors() {
        return errors.get();
    }

    /** PSI events received. */
    public long events() {
        return events.get();
    }

    /** Headroom crossings received (each caused a scan). */
    public long headroomEvents() {
        return headroomEvents.get();
    }

    /** How the root's headroom is watched, or null if it is not (no headroom shares, not started, or failed). */
    public HeadroomWatch.Mechanism headroomMechanism() {
        Watching w = watching.get(root.id());
        return w == null ? null : w.watch().mechanism();
    }

    /** How each watched cgroup's headroom is watched (the root, and limited cgroups up to the bound). */
    public Map<CgroupRef, HeadroomWatch.Mechanism> headroomWatches() {
        Map<CgroupRef, HeadroomWatch.Mechanism> out = new HashMap<>();
        watching.values().forEach(w -> out.put(w.cgroup(), w.watch().mechanism()));
        return out;
    }

    /** The generation of the last publication. */
    public long generation() {
        return generation.get();
    }

    /** The PSI window in use (after moving to one the kernel accepts), in microseconds. */
    public long effectiveWindowMicros() {
        return effectiveWindowMicros;
    }

    /** Whether a PSI trigger is registered. */
    public boolean hasTrigger() {
        return trigger != null;
    }

    /** Cgroups whose state is kept. */
    public long trackedCgroups() {
        tracked.cleanUp();
        return tracked.estimatedSize();
    }

    /** The decision last published for a cgroup, or null. */
    public DecisionTable decision(long cgroupId) {
        Tracked t = tracked.getIfPresent(cgroupId);
        return t == null ? null : t.table();
    }

    /** The policy; as an {@link io.mthp4j.api.MthpPolicy} it answers from the latest decisions. */
    public CgroupPolicy policy() {
        return policy;
    }

    /** Configures a controller. */
    public static final class Builder {
        private final KernelBackend backend;
        private final CgroupPolicy policy;
        private CgroupRef root;
        private DecisionSink sink;
        private Duration threshold = Duration.ofMillis(100);
        private Duration window = Duration.ofMillis(1000);
        private Duration ttl;
        private int maxCgroups = 65_536;
        private int maxHeadroomWatches = 64;

        private Builder(KernelBackend backend, CgroupPolicy policy) {
            this.backend = Objects.requireNonNull(backend, "backend");
            this.policy = Objects.requireNonNull(policy, "policy");
            if (policy instanceof PressurePolicy p) {
                threshold = p.threshold();
                window = p.interval();
            }
        }

        /** The cgroup to watch and scan (default: the hierarchy's root, as the sample's {@code -r}). */
        public Builder root(CgroupRef value) {
            root = Objects.requireNonNull(value, "root");
            return this;
        }

        /**
         * Where decisions go (default the backend's {@link KernelBackend#decisions()}): e.g. a
         * {@link io.mthp4j.core.host.HostThpEnforcer} on a host without a BPF-THP hook.
         */
        public Builder sink(DecisionSink value) {
            sink = Objects.requireNonNull(value, "sink");
            return this;
        }

        /**
         * The PSI {@code some} trigger: threshold and window (default the policy's threshold and interval, else
         * 100 ms and 1 s). A scan runs at least every 2 × window.
         */
        public Builder trigger(Duration thresholdValue, Duration windowValue) {
            Objects.requireNonNull(thresholdValue, "threshold");
            Objects.requireNonNull(windowValue, "window");
            if (thresholdValue.toNanos() < 1000 || windowValue.toNanos() < 1000) {
                throw new IllegalArgumentException("PSI threshold and window are whole microseconds, at least 1 us; were "
                        + thresholdValue + ", " + windowValue);
            }
            threshold = thresholdValue;
            window = windowValue;
            return this;
        }

        /** How long a published decision stays valid without renewal (default 3 × (2 × window)). */
        public Builder decisionTtl(Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("the decision TTL must be positive, was " + value);
            }
            ttl = value;
            return this;
        }

        /** Most cgroups whose state is kept (default 65536); beyond it some are dropped (a size-bounded cache). */
        public Builder maxCgroups(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxCgroups must be at least 1, was " + value);
            }
            maxCgroups = value;
            return this;
        }

        /**
         * Most cgroups whose headroom is watched for crossings (default 64): the root, then limited cgroups as scans
         * find them. Beyond it a cgroup's headroom is read at every scan only.
         */
        public Builder maxHeadroomWatches(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxHeadroomWatches must be at least 1, was " + value);
            }
            maxHeadroomWatches = value;
            return this;
        }

        public PolicyController build() {
            if (threshold.compareTo(window) > 0) {
                throw new IllegalArgumentException("the PSI threshold (" + threshold.toMillis() + " ms) must not exceed the"
                        + " window (" + window.toMillis() + " ms): the kernel rejects such a trigger with EINVAL");
            }
            return new PolicyController(this);
        }
    }
}
