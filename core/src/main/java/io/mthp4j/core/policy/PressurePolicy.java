package io.mthp4j.core.policy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pressure-driven policies: mthp_ext as the series defines it (kernel-semantics.md §15.5, §15.6) and the
 * tva-aware variant of the series' TODO. Per cgroup, on every scan:
 * <ul>
 *   <li><b>pressured</b>: the {@code full} memory stall since the last scan reached the threshold (default
 *       100 ms);</li>
 *   <li><b>small</b>: anon + shmem is known (non-zero) and below the minimum (default 16 MiB);</li>
 *   <li>otherwise <b>normal</b>: every requested order up to the chosen order (default the PMD order).</li>
 * </ul>
 * mthp_ext answers base pages only for pressured and small cgroups. tva-aware keeps collapse working: a small
 * cgroup gets base pages on faults only (khugepaged and MADV_COLLAPSE keep every order), a pressured one on
 * faults and in khugepaged (MADV_COLLAPSE keeps every order). SMAPS follows KHUGEPAGED, and swap-in faults
 * follow PAGEFAULT.
 *
 * <h2>The v2 first-sighting quirk, fixed by default</h2>
 * The v2 scanner treats a stored stall of 0 as "first sighting" and then pins the cgroup to the initial order
 * without checking the minimum. A cgroup whose cumulative full stall is still 0 (most small, idle cgroups) is
 * therefore never held to the 16 MiB minimum: the rule "processes under 16 MiB get base pages" silently does not
 * apply to exactly the cgroups it is for. mthp4j remembers whether it has a baseline instead, so the minimum
 * applies from the first scan; on a cgroup's first evaluation the stall delta is unknown, and the pressure part
 * of the decision is inherited from the parent (new cgroups get their parent's decision at once).
 * {@link Builder#firstSightingQuirk(boolean) firstSightingQuirk(true)} reproduces v2 exactly.
 *
 * <h2>Choices where the series is silent</h2>
 * <ul>
 *   <li>The unit of the kernel's stall counter is unknown (§15.4): the threshold's number of milliseconds is
 *       compared in {@link Builder#stallUnit} (default milliseconds, so 100 ms means 100 ms).</li>
 *   <li>The v2 sample answers {@code PMD_ORDER} after a cgroup's first scan whatever {@code -o} said; here the
 *       chosen order applies throughout (the same with the default order).</li>
 *   <li>A cgroup without tasks of its own is not evaluated (as in the sample) and follows its parent's
 *       decision.</li>
 *   <li>Hysteresis ({@link Builder#hysteresis}, default 0 = none as in the series): after pressure, huge orders
 *       come back only after that many consecutive quiet scans.</li>
 *   <li>Headroom ({@link Builder#headroom}, default off as in the series, issue 9): a cgroup near its hard limit
 *       counts as pressured, so base pages come before reclaim does (see {@link HeadroomPolicy}).</li>
 * </ul>
 */
public final class PressurePolicy implements CgroupPolicy {

    private static final Logger LOG = LoggerFactory.getLogger(PressurePolicy.class);

    /** Which of the two policies. */
    public enum Flavor {
        /** mthp_ext v2: base pages for every request type when pressured or small. */
        MTHP_EXT,
        /** tva-aware: small keeps collapse, pressured keeps MADV_COLLAPSE. */
        TVA_AWARE
    }

    /** The three outcomes of a scan, mapped to precomputed tables. */
    enum Level {
        NORMAL, SMALL, PRESSURED
    }

    /**
     * What the policy keeps per cgroup between scans.
     *
     * @param baseline    whether {@code stallMicros} was read from this cgroup (not inherited)
     * @param stallMicros the cumulative full stall at the last scan
     * @param pressured   the pressure part of the decision, after hysteresis
     * @param quietScans  consecutive quiet scans while still held pressured
     * @param level       the decision
     * @param room        the headroom rule's state, or null without the headroom option
     */
    record State(boolean baseline, long stallMicros, boolean pressured, int quietScans, Level level, HeadroomRule.State room) {

        State(boolean baseline, long stallMicros, boolean pressured, int quietScans, Level level) {
            this(baseline, stallMicros, pressured, quietScans, level, null);
        }

        boolean roomOver() {
            return room != null && room.effective();
        }
    }

    private final Flavor flavor;
    private final PageGeometry geometry;
    private final Duration threshold;
    private final Duration interval;
    private final int order;
    private final long minMemoryBytes;
    private final boolean fixed;
    private final boolean debug;
    private final TimeUnit stallUnit;
    private final boolean firstSightingQuirk;
    private final int hysteresis;
    private final int maxCgroups;
    private final HeadroomRule headroom;
    /** The threshold in microseconds of our stall totals, rounded up: {@code delta >= threshold} exactly. */
    private final long thresholdMicros;
    private final DecisionTable[] tables = new DecisionTable[Level.values().length];
    private final Cache<Long, State> states;
    private volatile LongTable board = LongTable.empty();

    private PressurePolicy(Builder b) {
        this.flavor = b.flavor;
        this.geometry = b.geometry;
        this.threshold = b.threshold;
        this.interval = b.interval;
        this.order = Math.min(b.order, geometry.pmdOrder()); // §15.6: -o is clamped to min(NR, PMD_ORDER)
        this.minMemoryBytes = b.minMemoryBytes;
        this.fixed = b.fixed;
        this.debug = b.debug;
        this.stallUnit = b.stallUnit;
        this.firstSightingQuirk = b.firstSightingQuirk;
        this.hysteresis = b.hysteresis;
        this.maxCgroups = b.maxCgroups;
        this.headroom = b.headroom;
        // §15.4: the sample compares the kfunc's delta with the -t number; the kfunc's unit is a parameter.
        long nanos = stallUnit.toNanos(threshold.toMillis()); // saturates at Long.MAX_VALUE
        this.thresholdMicros = nanos / 1000 + (nanos % 1000 == 0 ? 0 : 1);
        // §15.5: order 0 → 0 (base pages); otherwise orders & (BIT(order + 1) - 1).
        long upTo = order == 0 ? 0 : Orders.upTo(order);
        DecisionTable normal = DecisionTable.uniform(upTo);
        tables[Level.NORMAL.ordinal()] = normal;
        if (flavor == Flavor.MTHP_EXT) {
            tables[Level.SMALL.ordinal()] = DecisionTable.uniform(0);
            tables[Level.PRESSURED.ordinal()] = DecisionTable.uniform(0);
        } else {
            DecisionTable small = normal.with(TvaType.PAGEFAULT, 0).with(TvaType.SWAP_PAGEFAULT, 0);
            tables[Level.SMALL.ordinal()] = small;
            tables[Level.PRESSURED.ordinal()] = small.with(TvaType.KHUGEPAGED, 0).with(TvaType.SMAPS, 0);
        }
        this.states = Caffeine.newBuilder()
                .maximumSize(maxCgroups)
                .executor(Runnable::run)
                .<Long, State>removalListener((id, state, cause) -> {
                    if (id != null && cause != RemovalCause.REPLACED) {
                        removeFromBoard(id);
                    }
                })
                .build();
    }

    /** mthp_ext with every default of the sample's CLI (§15.6), for {@code geometry}. */
    public static Builder mthpExt(PageGeometry geometry) {
        return new Builder(Flavor.MTHP_EXT, geometry);
    }

    /** The tva-aware variant with the same defaults. */
    public static Builder tvaAware(PageGeometry geometry) {
        return new Builder(Flavor.TVA_AWARE, geometry);
    }

    // ---- the scan side ----

    @Override
    public DecisionTable decide(CgroupSample sample) {
        long id = sample.cgroup().id();
        if (fixed) {
            return tables[Level.NORMAL.ordinal()]; // -f: always init_order, no scanning
        }
        State prev = states.getIfPresent(id);
        // The parent's state matters only where step() or the headroom rule reads it; skipping the lookup otherwise
        // saves a cache access per cgroup and scan (most scans of most cgroups).
        boolean parentRead = headroom != null || !sample.hasTasks() || (!firstSightingQuirk && prev == null);
        State parent = !parentRead || sample.parentId() == 0 ? null : states.getIfPresent(sample.parentId());
        State next = step(prev, parent, sample);
        if (headroom != null) {
            // issue 9: over the headroom share counts as pressured, with the rule's own hysteresis
            HeadroomRule.State room = headroom.step(prev == null ? null : prev.room(), parent != null && parent.roomOver(),
                    sample.headroom());
            next = new State(next.baseline(), next.stallMicros(), next.pressured(), next.quietScans(),
                    room.effective() ? Level.PRESSURED : next.level(), room);
        }
        states.put(id, next);
        DecisionTable table = tables[next.level().ordinal()];
        publishToBoard(id, table);
        if (debug && sample.hasTasks()) {
            // §15.6 note 4, the sample's debug line
            long prevStall = prev == null ? 0 : prev.stallMicros();
            LOG.info("cgroup {}: stall {} -> {} (+{}), mem {}MB, mthp order={}", sample.cgroup().name(), prevStall,
                    sample.fullStallMicros(), sample.fullStallMicros() - prevStall, sample.anonShmemBytes() >> 20,
                    next.level() == Level.NORMAL ? order : 0);
        }
        return table;
    }

    /** One scan of one cgroup (§15.5 with the choices of the class comment). Pure. */
    State step(State prev, State parent, CgroupSample s) {
        if (!s.hasTasks()) {
            // Not evaluated (no tasks of its own, as the sample skips it): it follows its parent's decision and
            // keeps its own stall baseline for when tasks come back.
            boolean baseline = prev != null && prev.baseline();
            long stall = prev == null ? 0 : prev.stallMicros();
            return parent == null ? new State(baseline, stall, false, 0, Level.NORMAL)
                    : new State(baseline, stall, parent.pressured(), parent.quietScans(), parent.level());
        }
        long curr = s.fullStallMicros();
        boolean small = s.anonShmemBytes() != 0 && s.anonShmemBytes() < minMemoryBytes; // v2: mem != 0 && mem < min
        if (firstSightingQuirk) {
            if (prev == null || prev.stallMicros() == 0) {
                return new State(true, curr, false, 0, Level.NORMAL); // v2: info.stall == 0 → init_order, no min check
            }
        } else if (prev == null || !prev.baseline()) {
            State from = prev != null ? prev : parent; // delta unknown: pressure as inherited
            boolean pressured = from != null && from.pressured();
            return new State(true, curr, pressured, from == null ? 0 : from.quietScans(), level(pressured, small));
        }
        long delta = Math.max(0, curr - prev.stallMicros());
        boolean stalled = delta >= thresholdMicros;
        boolean pressured;
        int quiet;
        if (stalled) {
            pressured = true;
            quiet = 0;
        } else if (prev.pressured()) {
            quiet = prev.quietScans() + 1;
            pressured = quiet < hysteresis;
            quiet = pressured ? quiet : 0;
        } else {
            pressured = false;
            quiet = 0;
        }
        return new State(true, curr, pressured, quiet, level(pressured, small));
    }

    private static Level level(boolean pressured, boolean small) {
        return pressured ? Level.PRESSURED : small ? Level.SMALL : Level.NORMAL;
    }

    @Override
    public void forget(long cgroupId) {
        states.invalidate(cgroupId);
        removeFromBoard(cgroupId);
    }

    private synchronized void publishToBoard(long id, DecisionTable table) {
        board = board.with(id, table);
    }

    private synchronized void removeFromBoard(long id) {
        board = board.without(id);
    }

    @Override
    public boolean needsSamples() {
        return !fixed;
    }

    // ---- the per-call side ----

    /**
     * The request intersected with the latest decision for the VMA's cgroup; unchanged for a cgroup never
     * scanned or a VMA without a cgroup (§15.5: no storage → orders unchanged). Allocation-free.
     */
    @Override
    public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
        DecisionTable table = tableFor(vma.cgroup().id());
        return table == null ? orders : orders & table.allowed(tvaType, vma.vmaType());
    }

    @Override
    public boolean matches(VmaInfo vma) {
        return tableFor(vma.cgroup().id()) != null;
    }

    private DecisionTable tableFor(long cgroupId) {
        if (cgroupId == 0) {
            return null;
        }
        return fixed ? tables[Level.NORMAL.ordinal()] : board.get(cgroupId);
    }

    /** The latest decision for a cgroup, or {@code null} if it was never decided (or was forgotten). */
    public DecisionTable decision(long cgroupId) {
        return tableFor(cgroupId);
    }

    /** Number of cgroups with state. */
    public long trackedCgroups() {
        states.cleanUp();
        return states.estimatedSize();
    }

    // ---- configuration ----

    public Flavor flavor() {
        return flavor;
    }

    public PageGeometry geometry() {
        return geometry;
    }

    /** {@code -t}: the full-stall delta that means "pressured" (and the PSI trigger's threshold). */
    public Duration threshold() {
        return threshold;
    }

    /** {@code -i}: the scan interval (the PSI trigger's window; a scan at least every 2 × interval). */
    public Duration interval() {
        return interval;
    }

    /** {@code -o}: the highest order a normal cgroup may use, clamped to the PMD order. */
    public int order() {
        return order;
    }

    /** {@code -m}: the anon + shmem minimum in bytes. */
    public long minMemoryBytes() {
        return minMemoryBytes;
    }

    /** {@code -f}: always the chosen order, no scanning. */
    public boolean fixed() {
        return fixed;
    }

    /** {@code -d}: log the sample's debug line for every evaluated cgroup. */
    public boolean debug() {
        return debug;
    }

    /** The unit the threshold's milliseconds are compared in (§15.4). */
    public TimeUnit stallUnit() {
        return stallUnit;
    }

    public boolean firstSightingQuirk() {
        return firstSightingQuirk;
    }

    /** Quiet scans needed after pressure before huge orders come back (0: the next quiet scan). */
    public int hysteresis() {
        return hysteresis;
    }

    @Override
    public double[] headroomShares() {
        return headroom == null || fixed ? NO_SHARES : headroom.shares(); // -f reads nothing
    }

    /** Whether the headroom option is on. */
    public boolean headroom() {
        return headroom != null;
    }

    /** The table a normal cgroup gets (also what a new root-level cgroup starts with). */
    public DecisionTable normalTable() {
        return tables[Level.NORMAL.ordinal()];
    }

    /** The table a small (but not pressured) cgroup gets. */
    public DecisionTable smallTable() {
        return tables[Level.SMALL.ordinal()];
    }

    /** The table a pressured cgroup gets. */
    public DecisionTable pressuredTable() {
        return tables[Level.PRESSURED.ordinal()];
    }

    @Override
    public String toString() {
        return (flavor == Flavor.MTHP_EXT ? "mthp_ext" : "tva-aware") + "[threshold " + threshold.toMillis() + " "
                + stallUnit.name().toLowerCase(java.util.Locale.ROOT) + ", interval " + interval.toMillis() + " ms, order "
                + order + ", min " + Orders.formatSize(minMemoryBytes) + (fixed ? ", fixed" : "") + (debug ? ", debug" : "")
                + (firstSightingQuirk ? ", v2 first-sighting quirk" : "") + (hysteresis > 0 ? ", hysteresis " + hysteresis : "")
                + (headroom != null ? ", headroom " + Math.round(headroom.high() * 100) + "%/" + Math.round(headroom.low() * 100)
                + "% x" + headroom.quietScans() : "") + "]";
    }

    /** Builds a policy; every default is the mthp_ext sample's (§15.6). */
    public static final class Builder {
        private final Flavor flavor;
        private final PageGeometry geometry;
        private Duration threshold = Duration.ofMillis(100);
        private Duration interval = Duration.ofMillis(1000);
        private int order;
        private long minMemoryBytes = 16L << 20;
        private boolean fixed;
        private boolean debug;
        private TimeUnit stallUnit = TimeUnit.MILLISECONDS;
        private boolean firstSightingQuirk;
        private int hysteresis;
        private int maxCgroups = 65_536;
        private HeadroomRule headroom;

        private Builder(Flavor flavor, PageGeometry geometry) {
            this.flavor = Objects.requireNonNull(flavor, "flavor");
            this.geometry = Objects.requireNonNull(geometry, "geometry");
            this.order = geometry.pmdOrder();
        }

        /** {@code -t}, default 100 ms; whole milliseconds, at least 1 (the CLI rejects 0). */
        public Builder threshold(Duration value) {
            threshold = positiveMillis("threshold (-t)", value);
            return this;
        }

        /** {@code -i}, default 1000 ms; whole milliseconds, at least 1 (the CLI rejects 0). */
        public Builder interval(Duration value) {
            interval = positiveMillis("interval (-i)", value);
            return this;
        }

        /** {@code -o}, default the PMD order; larger values are clamped to it, as the CLI does. */
        public Builder order(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("order (-o) must be 0 (base pages) or more, was " + value
                        + "; it is clamped to the PMD order " + geometry.pmdOrder());
            }
            order = value;
            return this;
        }

        /** {@code -m} in bytes, default 16 MiB; 0 disables the minimum. */
        public Builder minMemory(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("minimum memory (-m) must not be negative, was " + bytes);
            }
            minMemoryBytes = bytes;
            return this;
        }

        /** {@code -f}, default off. */
        public Builder fixed(boolean value) {
            fixed = value;
            return this;
        }

        /** {@code -d}, default off. */
        public Builder debug(boolean value) {
            debug = value;
            return this;
        }

        /** The unit of the kernel's stall counter the threshold's number is compared in; default milliseconds. */
        public Builder stallUnit(TimeUnit value) {
            stallUnit = Objects.requireNonNull(value, "stallUnit");
            return this;
        }

        /** Reproduce v2's first-sighting quirk (see the class comment); default off. */
        public Builder firstSightingQuirk(boolean value) {
            firstSightingQuirk = value;
            return this;
        }

        /** Quiet scans needed after pressure before huge orders come back; default 0 (none, as the series). */
        public Builder hysteresis(int quietScans) {
            if (quietScans < 0) {
                throw new IllegalArgumentException("hysteresis must be 0 (off) or a number of quiet scans, was " + quietScans);
            }
            hysteresis = quietScans;
            return this;
        }

        /** Most cgroups whose state is kept (beyond it some are dropped: a size-bounded cache); default 65536. */
        public Builder maxCgroups(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxCgroups must be at least 1, was " + value);
            }
            maxCgroups = value;
            return this;
        }

        /**
         * The headroom option (issue 9; off by default, as in the series): a cgroup whose usage reaches
         * {@code highShare} of its hard limit counts as pressured until usage has been below {@code lowShare} for
         * {@code quietScans} consecutive scans, whatever its stall; see {@link HeadroomPolicy}. The controller then
         * reads every cgroup's headroom and watches for crossings.
         *
         * @throws IllegalArgumentException unless {@code 0 < lowShare <= highShare <= 1} and {@code quietScans >= 0}
         */
        public Builder headroom(double highShare, double lowShare, int quietScans) {
            headroom = new HeadroomRule(highShare, lowShare, quietScans);
            return this;
        }

        /** No headroom option (the default). */
        public Builder noHeadroom() {
            headroom = null;
            return this;
        }

        public PressurePolicy build() {
            return new PressurePolicy(this);
        }

        private static Duration positiveMillis(String what, Duration value) {
            Objects.requireNonNull(value, what);
            if (value.toMillis() < 1) {
                throw new IllegalArgumentException(what + " must be at least 1 ms, was " + value.toMillis() + " ms");
            }
            return Duration.ofMillis(value.toMillis());
        }
    }
}
