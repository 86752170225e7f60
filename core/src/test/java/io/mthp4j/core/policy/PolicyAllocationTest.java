package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.OrderGate;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The per-call path of every built-in policy, through the order gate, allocates nothing: measured with the
 * JVM's per-thread allocation counter over many calls (a JMH benchmark in the bench module measures the same).
 * Bytes, not time: the assertion does not depend on the machine's speed.
 */
class PolicyAllocationTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final int CALLS = 200_000;
    static final TvaType[] TYPES = TvaType.values();

    @Test
    @DisplayName("gate + policy allocate 0 bytes per call, for each built-in policy and combinator")
    void noAllocation() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx instanceof com.sun.management.ThreadMXBean, "needs HotSpot's per-thread allocation counter");
        com.sun.management.ThreadMXBean hs = (com.sun.management.ThreadMXBean) mx;
        assumeTrue(hs.isThreadAllocatedMemorySupported(), "per-thread allocation counter not supported");
        hs.setThreadAllocatedMemoryEnabled(true);

        CgroupRef cg = new CgroupRef(42, "/web/app");
        PressurePolicy mthpExt = PressurePolicy.mthpExt(G).build();
        PressurePolicy tvaAware = PressurePolicy.tvaAware(G).hysteresis(2).build();
        for (int i = 2; i < 300; i++) { // a populated board
            mthpExt.decide(CgroupSample.of(new CgroupRef(i, "/c" + i), 1, 0, 64L << 20));
            tvaAware.decide(CgroupSample.of(new CgroupRef(i, "/c" + i), 1, 0, 1L << 20));
        }
        AllowList allow = AllowList.create();
        for (int i = 0; i < 50; i++) {
            allow.addPath("/svc" + i);
            allow.addPid(1000 + i);
            allow.addCgroup(5000 + i);
        }
        allow.addPath("/web");
        Map<String, MthpPolicy> policies = new LinkedHashMap<>();
        policies.put("mthp_ext", mthpExt);
        policies.put("tva-aware", tvaAware);
        policies.put("allow-list", allow);
        policies.put("intersect", Policies.intersect(mthpExt, allow));
        policies.put("firstMatch", Policies.firstMatch(AllowList.create(0x1F, AllowList.Unlisted.NO_OPINION), tvaAware));
        policies.put("cap", Policies.cap(mthpExt, 64 << 10, G));
        policies.put("fitToVma", Policies.fitToVma(tvaAware, 1, 4, G));

        ThpSettings settings = ThpSettings.defaults(G);
        VmaInfo vma = VmaInfo.anon(0x7f0000000000L, 0x7f0000000000L + (64L << 20)).withFlags(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA)
                .withOwner(4242, new CgroupRef(77, "/web/app/x"));
        for (Map.Entry<String, MthpPolicy> e : policies.entrySet()) {
            OrderGate gate = OrderGate.builder(G).policy(e.getValue()).build();
            long sink = 0;
            for (int i = 0; i < CALLS; i++) { // warm up: let the JIT compile the path
                sink += gate.allowableOrders(settings, ProcessThpMode.NONE, vma, TYPES[i & 3], 0x3FC);
            }
            long before = hs.getThreadAllocatedBytes(Thread.currentThread().getId());
            for (int i = 0; i < CALLS; i++) {
                sink += gate.allowableOrders(settings, ProcessThpMode.NONE, vma, TYPES[i & 3], 0x3FC);
            }
            long allocated = hs.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
            assertTrue(sink >= 0);
            assertEquals(0, gate.policyFailures().total(), e.getKey() + " failed in the gate");
            // The counter itself may account a few hundred bytes; one allocation per call would be >= 3 MB here.
            assertTrue(allocated < 4096, e.getKey() + " allocated " + allocated + " bytes over " + CALLS + " calls");
        }
    }
}
