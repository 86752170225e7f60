package io.mthp4j.core.policy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base pages before the limit (issue 9): a cgroup whose memory usage reaches a share of its hard limit (default
 * 80%) gets base pages for every request type; huge orders (up to the chosen order) come back once usage has
 * been below a lower share (default 70%) for a number of consecutive scans (default 3). A cgroup under a parent
 * that is over is over too. Without a limit a cgroup is never over.
 *
 * <p>Why: under a hard limit, memory already in large folios cannot be reclaimed fast enough once reclaim starts,
 * and PSI reports pressure too late (pressure-experiment.md: with every size {@code always} Redis was OOM-killed
 * in every run, with or without a PSI toggle; a switch at 80% of the limit kept it alive at {@code never}'s
 * throughput). The limit is {@code memory.max} / {@code memory.high} on cgroup v2, {@code memory.limit_in_bytes}
 * on v1, and the host's {@code MemTotal} for the root ({@link io.mthp4j.core.kernel.MemoryHeadroom}).
 *
 * <p>The controller reads every cgroup's headroom on each scan and watches its root for crossings of the two
 * shares, so a crossing is acted on at once, not at the next timed scan. The same rule is an option of
 * {@link PressurePolicy} ({@link PressurePolicy.Builder#headroom}).
 */
public final class HeadroomPolicy implements CgroupPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(HeadroomPolicy.class);

    private final HeadroomRule rule;
    private final int order;
    private final DecisionTable normal;
    private final DecisionTable over;
    private final double[] shares;
    private final Cache<Long, HeadroomRule.State> states;
    private volatile LongTable board = LongTable.empty();

    private HeadroomPolicy(Builder b) {
        this.rule = new HeadroomRule(b.high, b.low, b.quietScans);
        this.order = Math.min(b.order, b.geometry.pmdOrder());
        this.normal = DecisionTable.uniform(order == 0 ? 0 : Orders.upTo(order));
        this.over = DecisionTable.uniform(0);
        this.shares = rule.shares();
        this.states = Caffeine.newBuilder()
                .maximumSize(b.maxCgroups)
                .executor(Runnable::run)
                .<Long, HeadroomRule.State>removalListener((id, state, cause) -> {
                    if (id != null && cause != RemovalCause.REPLACED) {
                        removeFromBoard(id);
                    }
                })
                .build();
    }

    /** A headroom policy with the defaults: 80% / 70%, 3 quiet scans, up to the PMD order. */
    public static Builder builder(PageGeometry geometry) {
        return new Builder(geometry);
    }

    @Override
    public DecisionTable decide(CgroupSample sample) {
        long id = sample.cgroup().id();
        HeadroomRule.State prev = states.getIfPresent(id);
        HeadroomRule.State parent = sample.parentId() == 0 ? null : states.getIfPresent(sample.parentId());
        HeadroomRule.State next = rule.step(prev, parent != null && parent.effective(), sample.headroom());
        states.put(id, next);
        if (prev == null || prev.over() != next.over()) {
            LOG.debug("cgroup {}: usage {}: {}", sample.cgroup().path(), sample.headroom(), next.over() ? "over" : "below");
        }
        DecisionTable table = next.effective() ? over : normal;
        publishToBoard(id, table);
        return table;
    }

    @Override
    public void forget(long cgroupId) {
        states.invalidate(cgroupId);
        removeFromBoard(cgroupId);
    }

    private synchronized void publishToBoard(long id, DecisionTable table) {
        if (board.get(id) != table) {
            board = board.with(id, table);
        }
    }

    private synchronized void removeFromBoard(long id) {
        board = board.without(id);
    }

    /** The headroom policy reads no stall or anon + shmem numbers. */
    @Override
    public boolean needsSamples() {
        return false;
    }

    @Override
    public double[] headroomShares() {
        return shares;
    }

    /** The request intersected with the latest decision for the VMA's cgroup; unchanged if none. Allocation-free. */
    @Override
    public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
        DecisionTable table = board.get(vma.cgroup().id());
        return table == null ? orders : orders & table.allowed(tvaType, vma.vmaType());
    }

    @Override
    public boolean matches(VmaInfo vma) {
        return board.get(vma.cgroup().id()) != null;
    }

    /** The latest decision for a cgroup, or {@code null}. */
    public DecisionTable decision(long cgroupId) {
        return board.get(cgroupId);
    }

    /** The share of the limit at which base pages start. */
    public double high() {
        return rule.high();
    }

    /** The share below which huge orders may come back. */
    public double low() {
        return rule.low();
    }

    /** Consecutive scans below {@link #low()} before huge orders come back. */
    public int quietScans() {
        return rule.quietScans();
    }

    /** The highest order a cgroup below the limit may use. */
    public int order() {
        return order;
    }

    /** The table below the limit. */
    public DecisionTable normalTable() {
        return normal;
    }

    /** The table over the limit: base pages. */
    public DecisionTable overTable() {
        return over;
    }

    @Override
    public String toString() {
        return "headroom[base pages at " + Math.round(rule.high() * 100) + "% of the limit, back below "
                + Math.round(rule.low() * 100) + "% for " + rule.quietScans() + " scans, order " + order + "]";
    }

    /** Builds a headroom policy. */
    public static final class Builder {
        private final PageGeometry geometry;
        private double high = 0.80;
        private double low = 0.70;
        private int quietScans = 3;
        private int order;
        private int maxCgroups = 65_536;

        private Builder(PageGeometry geometry) {
            this.geometry = Objects.requireNonNull(geometry, "geometry");
            this.order = geometry.pmdOrder();
        }

        /**
         * Base pages from {@code highShare} of the limit; huge orders again below {@code lowShare} (default 0.80 and
         * 0.70). Checked when the policy is built: {@code 0 < low <= high <= 1}.
         */
        public Builder shares(double highShare, double lowShare) {
            high = highShare;
            low = lowShare;
            return this;
        }

        /** Consecutive scans below the lower share before huge orders come back (default 3). */
        public Builder quietScans(int value) {
            quietScans = value;
            return this;
        }

        /** The highest order below the limit (default the PMD order; larger values are clamped to it). */
        public Builder order(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("order must be 0 (base pages) or more, was " + value);
            }
            order = value;
            return this;
        }

        /** Most cgroups whose state is kept (default 65536). */
        public Builder maxCgroups(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxCgroups must be at least 1, was " + value);
            }
            maxCgroups = value;
            return this;
        }

        /** @throws IllegalArgumentException for shares outside {@code 0 < low <= high <= 1} or negative quiet scans */
        public HeadroomPolicy build() {
            return new HeadroomPolicy(this);
        }
    }
}
