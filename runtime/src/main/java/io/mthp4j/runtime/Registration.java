package io.mthp4j.runtime;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.ThpProcess;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A policy registered by this process ({@link Mthp#register}). Closing it, or the JVM's shutdown hook it installs,
 * restores the prctl mode the process had and the advice of the ranges it managed; nothing is left behind, also
 * when the body of a try-with-resources throws. One registration per process at a time (prctl is per process).
 */
public final class Registration implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Registration.class);
    private static final Set<Object> ACTIVE = new HashSet<>();

    private final Object key;
    private final Enforcement enforcement;
    private final ThpProcess process;
    private final CgroupRef cgroup;
    private final ProcessThpMode original;
    private final SelfEnforcer enforcer;
    private final PolicyController controller;
    private final JvmReport report;
    private final ShutdownHooks hooks;
    private final Thread hook;
    private AutoCloseable owned;
    private boolean closed;

    Registration(Object key, Enforcement enforcement, ThpProcess process, SelfEnforcer enforcer, PolicyController controller,
                 CgroupRef cgroup, JvmReport report, ShutdownHooks hooks) {
        this.key = key;
        this.enforcement = enforcement;
        this.process = process;
        this.enforcer = enforcer;
        this.controller = controller;
        this.cgroup = cgroup;
        this.original = enforcer != null ? enforcer.original() : process.thpMode();
        this.report = report;
        this.hooks = hooks;
        this.hook = hooks == null ? null : new Thread(this::closeAtShutdown, "mthp4j-restore");
        if (hook != null) {
            hooks.add(hook);
        }
    }

    /** Claims the process for one registration. */
    static void claim(Object key) {
        synchronized (ACTIVE) {
            if (!ACTIVE.add(key)) {
                throw new IllegalStateException("this process already has an mthp4j registration (prctl is per process); close it first");
            }
        }
    }

    static void unclaim(Object key) {
        synchronized (ACTIVE) {
            ACTIVE.remove(key);
        }
    }

    static boolean claimed(Object key) {
        synchronized (ACTIVE) {
            return ACTIVE.contains(key);
        }
    }

    /** How the policy is enforced. */
    public Enforcement enforcement() {
        return enforcement;
    }

    /** What the JVM will and will not get, as logged at registration. */
    public JvmReport report() {
        return report;
    }

    /** The cgroup whose pressure is watched (in-process) or whose subtree is published. */
    public CgroupRef cgroup() {
        return cgroup;
    }

    /** The prctl mode the process had at registration; close restores it. */
    public ProcessThpMode originalMode() {
        return original;
    }

    /** The prctl mode in force now (read from the kernel). */
    public ProcessThpMode mode() {
        return process.thpMode();
    }

    /** Mode switches made so far (in-process; 0 when publishing). */
    public long switches() {
        return enforcer == null ? 0 : enforcer.switches();
    }

    /**
     * In-process: crossings of the own cgroup's headroom shares that caused a check at once (a policy with headroom
     * shares, with the background loop); 0 otherwise.
     */
    public long headroomEvents() {
        return enforcer == null ? 0 : enforcer.headroomEvents();
    }

    /** Checks (in-process) or scans (publishing) made so far. */
    public long checks() {
        return enforcer != null ? enforcer.checks() : controller.scans();
    }

    /**
     * Tells the registration about a range that wants huge pages, e.g. a large off-heap buffer. In-process it
     * gets MADV_HUGEPAGE while the policy allows THP where advised and MADV_NOHUGEPAGE while it does not; when
     * publishing it gets MADV_HUGEPAGE once and the BPF program decides. Close leaves MADV_HUGEPAGE on it, the
     * advice it asked for: the kernel has no advice that clears both flags (kernel-semantics.md §7).
     *
     * @throws IllegalArgumentException if it is not whole pages
     * @throws io.mthp4j.api.KernelException if the kernel refuses (ENOMEM: not mapped)
     */
    public Registration hugeRange(long start, long length) {
        checkOpen();
        if (enforcer != null) {
            enforcer.manage(start, length);
        } else {
            process.madvise(start, length, Madvice.HUGEPAGE);
        }
        return this;
    }

    /** Stops managing a range (before unmapping it). Returns whether it was managed. */
    public boolean releaseRange(long start, long length) {
        return enforcer != null && enforcer.release(start, length);
    }

    /** One check (in-process) or scan (publishing) now, besides the background loop's. */
    public void checkNow() {
        checkOpen();
        if (enforcer != null) {
            enforcer.checkOnce();
        } else {
            controller.scanOnce();
        }
    }

    /** Something the registration opened for itself (the LinuxKernel), closed last. */
    Registration owning(AutoCloseable resource) {
        owned = resource;
        return this;
    }

    SelfEnforcer enforcer() {
        return enforcer;
    }

    PolicyController controller() {
        return controller;
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the registration is closed");
        }
    }

    /**
     * Stops enforcing and restores the original prctl mode (in-process), or withdraws every published decision
     * (publishing). Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            if (enforcer != null) {
                enforcer.close();
            } else {
                controller.close();
            }
        } finally {
            if (hook != null && Thread.currentThread() != hook) {
                hooks.remove(hook);
            }
            unclaim(key);
            closeOwned();
        }
    }

    private void closeOwned() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                LOG.debug("closing {} failed: {}", owned, e.getMessage());
            }
        }
    }

    private void closeAtShutdown() {
        try {
            close();
            LOG.info("mthp4j registration closed at JVM shutdown; prctl mode now {}", ModeChoice.describe(process.thpMode()));
        } catch (RuntimeException e) {
            LOG.error("mthp4j could not restore this process at shutdown: {}", e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "mthp4j registration (" + enforcement + ", cgroup " + cgroup + ", original mode " + original + ")";
    }
}
