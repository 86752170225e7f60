package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.core.RandomnessSource;
import org.quicktheories.generators.Generate;

/**
 * {@link PressurePolicy} against independent models: the §15.5 v2 pseudo-code transcribed literally (with the
 * quirk on), and the documented fixed behaviour (first evaluation inherits the parent's pressure and applies the
 * minimum; hysteresis). Scenarios: a chain of three cgroups (root, /a, /a/b) scanned pre-order several times with
 * generated stall increments, memory and task presence.
 */
class PressurePolicyModelTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final CgroupRef[] CHAIN = {new CgroupRef(1, "/"), new CgroupRef(2, "/a"), new CgroupRef(3, "/a/b")};
    static final long[] MEMORY = {0, 1L << 20, (16L << 20) - 1, 16L << 20, 64L << 20, 1L << 30};

    record Config(boolean quirk, boolean tvaAware, int order, long thresholdMs, long minMemory, int hysteresis) {
        PressurePolicy build() {
            PressurePolicy.Builder b = tvaAware ? PressurePolicy.tvaAware(G) : PressurePolicy.mthpExt(G);
            return b.firstSightingQuirk(quirk).order(order).threshold(Duration.ofMillis(thresholdMs)).minMemory(minMemory)
                    .hysteresis(hysteresis).build();
        }
    }

    /** One cgroup in one scan: tasks, stall added since the previous scan (µs), anon + shmem. */
    record Cell(boolean tasks, long stallIncrementMicros, long memory) {
    }

    record Scenario(Config config, List<Cell[]> scans) {
        @Override
        public String toString() {
            StringBuilder out = new StringBuilder(config.toString());
            for (Cell[] cells : scans) {
                out.append("\n  scan");
                for (Cell c : cells) {
                    out.append(" [").append(c.tasks() ? "tasks" : "no tasks").append(", +").append(c.stallIncrementMicros())
                            .append(" us, ").append(c.memory()).append(" B]");
                }
            }
            return out.toString();
        }
    }

    static Gen<Scenario> scenarios(boolean quirk, boolean alwaysTasks, boolean allowHysteresis) {
        return rs -> {
            long thresholdMs = pick(rs, 1, 5, 100, 250);
            Config c = new Config(quirk, !quirk && chance(rs, 50), chance(rs, 20) ? between(rs, 0, 12) : 9, thresholdMs,
                    chance(rs, 20) ? 0 : 16L << 20, allowHysteresis ? between(rs, 0, 3) : 0);
            int n = between(rs, 1, 8);
            List<Cell[]> scans = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Cell[] cells = new Cell[CHAIN.length];
                for (int k = 0; k < cells.length; k++) {
                    long t = thresholdMs * 1000;
                    long inc = switch (between(rs, 0, 5)) {
                        case 0, 1 -> 0;
                        case 2 -> t - 1;
                        case 3 -> t;
                        case 4 -> between(rs, 1, 1000);
                        default -> t * between(rs, 1, 5);
                    };
                    cells[k] = new Cell(alwaysTasks || chance(rs, 75), inc, MEMORY[between(rs, 0, MEMORY.length - 1)]);
                }
                scans.add(cells);
            }
            return new Scenario(c, scans);
        };
    }

    /** Runs the scenario through the policy; returns the decision of every cgroup after every scan. */
    static List<DecisionTable[]> run(Scenario s, PressurePolicy p) {
        long[] cumulative = new long[CHAIN.length];
        List<DecisionTable[]> out = new ArrayList<>();
        for (Cell[] cells : s.scans()) {
            DecisionTable[] got = new DecisionTable[CHAIN.length];
            for (int k = 0; k < CHAIN.length; k++) {
                Cell c = cells[k];
                cumulative[k] += c.stallIncrementMicros();
                long parent = k == 0 ? 0 : CHAIN[k - 1].id();
                CgroupSample sample = c.tasks() ? CgroupSample.of(CHAIN[k], parent, cumulative[k], c.memory())
                        : CgroupSample.taskless(CHAIN[k], parent);
                got[k] = p.decide(sample);
            }
            out.add(got);
        }
        return out;
    }

    // ---- model 1: the §15.5 v2 pseudo-code, literally ----

    /** {@code struct cgroup_info}: stall and order. */
    static final class Info {
        long stall;
        int order;
    }

    /**
     * §15.5 scanner and hook, mthp_ext flavour, quirk on. The one deliberate difference, documented in
     * PressurePolicy: the non-pressured branch answers the chosen order instead of {@code PMD_ORDER}.
     * Returns, per scan and cgroup, the order or -1 where there is no storage (the hook answers "unchanged").
     * The test compares cgroups with tasks only: without tasks mthp4j follows the parent (documented).
     */
    static List<int[]> v2Model(Scenario s) {
        Map<Integer, Info> storage = new HashMap<>();
        long[] cumulative = new long[CHAIN.length];
        int initOrder = Math.min(s.config().order(), 9);
        List<int[]> out = new ArrayList<>();
        for (Cell[] cells : s.scans()) {
            int[] orders = new int[CHAIN.length];
            for (int k = 0; k < CHAIN.length; k++) {
                Cell c = cells[k];
                cumulative[k] += c.stallIncrementMicros();
                if (c.tasks()) { // "if the cgroup directly holds no tasks: skip"
                    Info info = storage.computeIfAbsent(k, x -> new Info());
                    long curr = cumulative[k] / 1000; // the counter in ms (stallUnit = ms)
                    long currMicros = cumulative[k];
                    if (info.stall == 0) {
                        info.order = initOrder;
                    } else {
                        long delta = currMicros - info.stall;
                        long mem = c.memory();
                        if ((mem != 0 && mem < s.config().minMemory()) || delta >= s.config().thresholdMs() * 1000) {
                            info.order = 0;
                        } else {
                            info.order = initOrder;
                        }
                    }
                    assert curr >= 0;
                    info.stall = currMicros;
                }
                Info info = storage.get(k);
                orders[k] = info == null ? -1 : info.order;
            }
            out.add(orders);
        }
        return out;
    }

    /** The hook of §15.5: order 0 → 0, else orders & (BIT(order + 1) - 1). */
    static long hook(int order, long orders) {
        return order == 0 ? 0 : orders & ((1L << (order + 1)) - 1);
    }

    @Test
    @DisplayName("quirk on: a cgroup with tasks answers what the §15.5 v2 pseudo-code answers; one without, its parent's decision")
    void quirkMatchesV2PseudoCode() {
        qt().withExamples(EXAMPLES).forAll(scenarios(true, false, false)).checkAssert(s -> {
            PressurePolicy p = s.config().build();
            List<DecisionTable[]> got = run(s, p);
            List<int[]> want = v2Model(s);
            for (int i = 0; i < got.size(); i++) {
                for (int k = 0; k < CHAIN.length; k++) {
                    int order = want.get(i)[k];
                    for (TvaType t : TvaType.values()) {
                        long request = Orders.upTo(9);
                        long actual = request & got.get(i)[k].allowed(t, io.mthp4j.api.VmaType.NONE);
                        if (s.scans().get(i)[k].tasks()) {
                            int scan = i;
                            int cg = k;
                            assertEquals(hook(order, request), actual, () -> "scan " + scan + " cgroup " + CHAIN[cg] + " " + t + " " + s);
                        } else {
                            DecisionTable parent = k == 0 ? p.normalTable() : got.get(i)[k - 1];
                            int scan = i;
                            int cg = k;
                            assertEquals(parent, got.get(i)[k], () -> "taskless " + CHAIN[cg] + " inherits, scan " + scan + " " + s);
                        }
                    }
                }
            }
        });
    }

    // ---- model 2: the fixed behaviour, as documented ----

    static final class Fixed {
        boolean baseline;
        long stall;
        boolean held; // pressured after hysteresis
        int quiet;
        char level = 'N'; // N normal, S small, P pressured
    }

    static List<char[]> fixedModel(Scenario s) {
        Config c = s.config();
        Map<Integer, Fixed> st = new HashMap<>();
        long[] cumulative = new long[CHAIN.length];
        List<char[]> out = new ArrayList<>();
        for (Cell[] cells : s.scans()) {
            char[] levels = new char[CHAIN.length];
            for (int k = 0; k < CHAIN.length; k++) {
                Cell cell = cells[k];
                cumulative[k] += cell.stallIncrementMicros();
                Fixed parent = k == 0 ? null : st.get(k - 1);
                Fixed me = st.get(k);
                if (!cell.tasks()) {
                    if (me == null) {
                        me = new Fixed();
                        st.put(k, me);
                    }
                    me.held = parent != null && parent.held;
                    me.quiet = parent == null ? 0 : parent.quiet;
                    me.level = parent == null ? 'N' : parent.level;
                    levels[k] = me.level;
                    continue;
                }
                boolean small = cell.memory() > 0 && cell.memory() < c.minMemory();
                if (me == null || !me.baseline) {
                    Fixed from = me != null ? me : parent;
                    boolean held = from != null && from.held;
                    int quiet = from == null ? 0 : from.quiet;
                    me = new Fixed();
                    me.held = held;
                    me.quiet = quiet;
                } else {
                    boolean stalled = cumulative[k] - me.stall >= c.thresholdMs() * 1000;
                    if (stalled) {
                        me.held = true;
                        me.quiet = 0;
                    } else if (me.held) {
                        me.quiet++;
                        if (me.quiet >= c.hysteresis()) {
                            me.held = false;
                            me.quiet = 0;
                        }
                    }
                }
                me.baseline = true;
                me.stall = cumulative[k];
                me.level = me.held ? 'P' : small ? 'S' : 'N';
                st.put(k, me);
                levels[k] = me.level;
            }
            out.add(levels);
        }
        return out;
    }

    /** The table a level means, written out per request type (not through PressurePolicy's tables). */
    static long expectedCell(Config c, char level, TvaType type) {
        int order = Math.min(c.order(), 9);
        long normal = order == 0 ? 0 : Orders.upTo(order);
        if (level == 'N') {
            return normal;
        }
        if (!c.tvaAware()) {
            return 0;
        }
        boolean fault = type == TvaType.PAGEFAULT || type == TvaType.SWAP_PAGEFAULT;
        if (level == 'S') {
            return fault ? 0 : normal;
        }
        return type == TvaType.FORCED_COLLAPSE ? normal : 0;
    }

    @Test
    @DisplayName("quirk off: mthp_ext and tva-aware decide as the documented model, with and without hysteresis")
    void fixedMatchesModel() {
        qt().withExamples(EXAMPLES).forAll(scenarios(false, false, true)).checkAssert(s -> {
            PressurePolicy p = s.config().build();
            List<DecisionTable[]> got = run(s, p);
            List<char[]> want = fixedModel(s);
            for (int i = 0; i < got.size(); i++) {
                for (int k = 0; k < CHAIN.length; k++) {
                    for (TvaType t : TvaType.values()) {
                        for (io.mthp4j.api.VmaType a : io.mthp4j.api.VmaType.values()) {
                            int scan = i;
                            int cg = k;
                            assertEquals(expectedCell(s.config(), want.get(i)[k], t), got.get(i)[k].allowed(t, a),
                                    () -> "scan " + scan + " cgroup " + CHAIN[cg] + " " + t + "/" + a + " level " + want.get(scan)[cg] + " " + s);
                        }
                    }
                }
            }
        });
    }

    @Test
    @DisplayName("the policy answers per call exactly what its latest table for the VMA's cgroup says")
    void chooseOrdersFollowsDecisions() {
        qt().withExamples(EXAMPLES / 4).forAll(scenarios(false, false, true), Generate.longRange(0, 0x3FF)).checkAssert((s, request) -> {
            PressurePolicy p = s.config().build();
            List<DecisionTable[]> got = run(s, p);
            DecisionTable[] last = got.get(got.size() - 1);
            for (int k = 0; k < CHAIN.length; k++) {
                io.mthp4j.api.VmaInfo vma = io.mthp4j.api.VmaInfo.anon(0, 4L << 20).withOwner(7, CHAIN[k]);
                for (TvaType t : TvaType.values()) {
                    assertEquals(request & last[k].allowed(t, vma.vmaType()), p.chooseOrders(vma, t, request), s::toString);
                }
            }
        });
    }

    // ---- generator helpers ----

    static boolean chance(RandomnessSource rs, int pct) {
        return Generate.range(0, 99).generate(rs) >= 100 - pct;
    }

    static int between(RandomnessSource rs, int min, int max) {
        return Generate.range(min, max).generate(rs);
    }

    static long pick(RandomnessSource rs, long... values) {
        return values[between(rs, 0, values.length - 1)];
    }
}
