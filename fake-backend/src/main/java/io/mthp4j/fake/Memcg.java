package io.mthp4j.fake;

/**
 * The memory controller state of one cgroup (cgroup v2): hierarchical usage in pages ({@code memory.current}),
 * the {@code memory.stat} items the fake kernel models, the limits ({@code memory.high}, {@code memory.max})
 * and {@code memory.events}. Every change propagates to the ancestors, so each level holds its subtree's
 * total, as the kernel's hierarchical counters do. Changed under the kernel lock.
 */
final class Memcg {

    static final long NO_LIMIT = Long.MAX_VALUE;

    final Memcg parent;
    final FakeKernel.Cgroups.Node node;

    long charged;
    long anon;
    long anonThp;
    long shmem;
    long shmemThp;
    long swap;
    long high = NO_LIMIT;
    long max = NO_LIMIT;
    /** memory.events: low, high, max, oom, oom_kill (hierarchical) and the local copy. */
    final long[] events = new long[5];
    final long[] eventsLocal = new long[5];
    long thpFaultAlloc;
    long thpCollapseAlloc;
    long pgfault;
    long pgmajfault;
    long pswpin;
    long pswpout;
    /** Headroom watches on this memcg (issue 9), or null; notified on every charge change and limit write. */
    java.util.List<FakeHeadroom.Watch> watches;

    static final int EVENT_HIGH = 1;
    static final int EVENT_MAX = 2;
    static final int EVENT_OOM = 3;
    static final int EVENT_OOM_KILL = 4;

    Memcg(Memcg parent, FakeKernel.Cgroups.Node node) {
        this.parent = parent;
        this.node = node;
    }

    /** The level that would go over memory.max by charging {@code pages}, or null if the charge fits. */
    Memcg overMaxWith(long pages) {
        for (Memcg m = this; m != null; m = m.parent) {
            if (m.max != NO_LIMIT && m.charged + pages > m.max) {
                return m;
            }
        }
        return null;
    }

    /** The highest level above memory.high, or null. */
    Memcg overHigh() {
        Memcg worst = null;
        for (Memcg m = this; m != null; m = m.parent) {
            if (m.high != NO_LIMIT && m.charged > m.high) {
                worst = m;
            }
        }
        return worst;
    }

    void charge(long pages) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.charged += pages;
        }
        for (Memcg m = this; m != null; m = m.parent) {
            m.notifyWatches();
        }
    }

    void notifyWatches() {
        if (watches != null) {
            for (FakeHeadroom.Watch w : watches) {
                w.changed();
            }
        }
    }

    void addAnon(long pages) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.anon += pages;
        }
    }

    void addAnonThp(long pages) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.anonThp += pages;
        }
    }

    void addShmem(long pages, long thpPages) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.shmem += pages;
            m.shmemThp += thpPages;
        }
    }

    void addSwap(long pages) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.swap += pages;
        }
    }

    void event(int which) {
        eventsLocal[which]++;
        for (Memcg m = this; m != null; m = m.parent) {
            m.events[which]++;
        }
    }

    void addFaults(long minor, long major) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.pgfault += minor;
            m.pgmajfault += major;
        }
    }

    void addSwapIo(long in, long out) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.pswpin += in;
            m.pswpout += out;
        }
    }

    void addThpEvents(long faultAlloc, long collapseAlloc) {
        for (Memcg m = this; m != null; m = m.parent) {
            m.thpFaultAlloc += faultAlloc;
            m.thpCollapseAlloc += collapseAlloc;
        }
    }

    /** Whether {@code other} is this cgroup or one of its descendants. */
    boolean contains(Memcg other) {
        for (Memcg m = other; m != null; m = m.parent) {
            if (m == this) {
                return true;
            }
        }
        return false;
    }
}
