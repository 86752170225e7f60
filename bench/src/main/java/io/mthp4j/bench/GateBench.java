package io.mthp4j.bench;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.HookPlacement;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.core.policy.PressurePolicy;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One page-fault question to the order gate ({@code thp_vma_allowable_orders}, kernel-semantics.md §4.3), without
 * a policy and with mthp_ext consulted after the sysfs mask (§15.2). The policy has decided for
 * {@value #CGROUPS} cgroups, so its per-call lookup searches a realistic board. Targets: {@code gate_policy_ratio}
 * (mthp_ext / none) and {@code gate_alloc_bytes} (JMH's gc profiler, {@code gc.alloc.rate.norm}).
 *
 * <p>Alone: {@code java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main GateBench -prof gc}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(1)
public class GateBench {

    static final int CGROUPS = 1_000;

    /**
     * Which policy the gate consults: none, mthp_ext, or (diagnostic) one fixed decision table with no per-cgroup
     * lookup, the floor of any policy that answers from a table.
     */
    @Param({"none", "mthp_ext", "table"})
    public String policy;

    private OrderGate gate;
    private ThpSettings settings;
    private ProcessThpMode mode;
    private VmaInfo vma;
    private TvaType type;
    private long request;

    @Setup
    public void setUp() {
        PageGeometry g = PageGeometry.X86_64_4K;
        // 16K..1M on MADV_HUGEPAGE plus the PMD size by inherit: the gate's sysfs step leaves several orders.
        settings = ThpSettings.defaults(g).withAnonSizesEnabled(Orders.upTo(g.pmdOrder() - 1) & ~Orders.upTo(1),
                AnonSizeEnabled.MADVISE);
        OrderGate.Builder b = OrderGate.builder(g).placement(HookPlacement.AFTER_SYSFS_MASK);
        CgroupRef mine = null;
        if (policy.equals("mthp_ext")) {
            PressurePolicy p = PressurePolicy.mthpExt(g).build();
            for (int i = 0; i < CGROUPS; i++) {
                CgroupRef c = new CgroupRef(100 + 3L * i, "/c" + i);
                p.decide(CgroupSample.of(c, 1, 0, 64L << 20));
                if (i == CGROUPS / 3) {
                    mine = c;
                }
            }
            b.policy(p);
        } else if (policy.equals("table")) {
            b.policy(PressurePolicy.mthpExt(g).build().normalTable().asPolicy());
        } else if (!policy.equals("none")) {
            throw new IllegalArgumentException("policy must be none, mthp_ext or table, was " + policy);
        }
        gate = b.build();
        mode = ProcessThpMode.NONE;
        long start = 0x7f0000000000L;
        vma = VmaInfo.anon(start, start + (64L << 20)).withFlags(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA)
                .withOwner(4242, mine != null ? mine : new CgroupRef(100 + 3L * (CGROUPS / 3), "/c" + CGROUPS / 3));
        type = TvaType.PAGEFAULT;
        request = g.allAnonOrders();
        long answer = gate.allowableOrders(settings, mode, vma, type, request);
        if (answer != (Orders.upTo(g.pmdOrder()) & ~Orders.upTo(1))) {
            throw new IllegalStateException("the gate answered " + Long.toBinaryString(answer) + "; the benchmark's"
                    + " setup is wrong (expected orders 2.." + g.pmdOrder() + ")");
        }
    }

    @Benchmark
    public long allowableOrders() {
        return gate.allowableOrders(settings, mode, vma, type, request);
    }
}
