package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.MemoryHeadroom;
import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The headroom signal of the fake kernel: usage against {@code memory.max} / {@code memory.high} of its memcg
 * model, the host's MemTotal for the root, and watches notified on every charge change (and limit write) of the
 * watched memcg, so a crossing is seen at the charge that makes it, as the kernel's v1 thresholds see it within
 * their event batch. Waiting runs on the virtual clock.
 */
final class FakeHeadroom implements MemoryHeadroom {

    private final FakeKernel kernel;

    FakeHeadroom(FakeKernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public Headroom sample(CgroupRef cgroup) {
        kernel.faults().beforeCall("read", cgroup.isRoot() ? "/proc/meminfo" : FakeKernel.Cgroups.MOUNT + cgroup.path() + "/memory.current");
        synchronized (kernel.lock) {
            return sample(kernel.cgroups().node(cgroup));
        }
    }

    /** Under the kernel lock. */
    Headroom sample(FakeKernel.Cgroups.Node node) {
        int shift = kernel.geometry().pageShift();
        if (node.parent == null) {
            PhysicalMemory pm = kernel.physicalMemory();
            long total = pm.totalPages() << shift;
            return new Headroom(total - (pm.freePages() << shift), total, Headroom.Limit.MEM_TOTAL);
        }
        Memcg m = node.memcg;
        long usage = m.charged << shift;
        if (m.high == Memcg.NO_LIMIT && m.max == Memcg.NO_LIMIT) {
            return Headroom.unlimited(usage);
        }
        boolean high = m.high < m.max;
        return new Headroom(usage, (high ? m.high : m.max) << shift, high ? Headroom.Limit.MEMORY_HIGH : Headroom.Limit.MEMORY_MAX);
    }

    @Override
    public HeadroomWatch watch(CgroupRef cgroup, double... shares) {
        double[] sorted = MemoryHeadroom.checkShares(shares);
        kernel.faults().beforeCall("watch", cgroup.path());
        synchronized (kernel.lock) {
            FakeKernel.Cgroups.Node node = kernel.cgroups().node(cgroup);
            Watch w = new Watch(node, sorted);
            if (node.memcg.watches == null) {
                node.memcg.watches = new CopyOnWriteArrayList<>();
            }
            node.memcg.watches.add(w);
            return w;
        }
    }

    /** One watch on one memcg. */
    final class Watch implements HeadroomWatch {
        private final FakeKernel.Cgroups.Node node;
        private final double[] shares;
        private int band;
        private volatile boolean pending;
        private volatile boolean closed;

        Watch(FakeKernel.Cgroups.Node node, double[] shares) {
            this.node = node;
            this.shares = shares;
            this.band = bandNow();
        }

        /** The thresholds of the last limit seen: recomputed when the limit changes, not on every charge. */
        private long thresholdsLimit = Long.MIN_VALUE;
        private long[] thresholds;

        private int bandNow() {
            Headroom h = sample(node);
            long limit = h.limited() ? h.limitBytes() : CgroupMemory.NO_LIMIT;
            if (limit != thresholdsLimit) {
                thresholds = MemoryHeadroom.thresholds(limit, shares);
                thresholdsLimit = limit;
            }
            return MemoryHeadroom.band(h.usageBytes(), thresholds);
        }

        /** A charge or limit of the memcg changed (under the kernel lock). */
        void changed() {
            int now = bandNow();
            if (now != band) {
                band = now;
                pending = true;
                kernel.clock().wakeAll();
            }
        }

        @Override
        public boolean await(Duration timeout) throws InterruptedException {
            long deadline = kernel.clock().nanos() + timeout.toNanos();
            boolean fired = kernel.clock().awaitUntil(deadline, () -> pending || closed);
            if (closed) {
                return false;
            }
            if (fired) {
                pending = false;
            }
            return fired;
        }

        @Override
        public Mechanism mechanism() {
            return Mechanism.CHARGE_CHANGES;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            synchronized (kernel.lock) {
                if (node.memcg.watches != null) {
                    node.memcg.watches.remove(this);
                }
            }
            kernel.clock().wakeAll();
        }
    }
}
