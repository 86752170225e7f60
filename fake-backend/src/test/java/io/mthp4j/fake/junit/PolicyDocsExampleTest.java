package io.mthp4j.fake.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeProcess;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The example of docs/policies.md ("Testing a policy"), verbatim, so the documentation stays true. */
@WithFakeKernel(swapMiB = 1024)
class PolicyDocsExampleTest {

    @Test
    void aPressuredCgroupGetsBasePages(FakeKernel kernel) {
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", "always");
        CgroupRef svc = kernel.cgroups().mkdir("/svc");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.high", "32M");
        FakeProcess p = kernel.spawn(svc);
        kernel.loadDecisionProgram();                              // the reference BPF program: applies decisions
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController controller = PolicyController.builder(kernel, policy).build();

        controller.scanOnce();                                     // baseline: every order
        long heap = p.mmapAnonymous(256 << 20);
        p.write(heap, 256 << 20);                                  // 8x memory.high: reclaim to swap, stall
        controller.scanOnce();                                     // full stall since the last scan >= 100 ms
        assertEquals(DecisionTable.uniform(0), controller.decision(svc.id()));

        long more = p.mmapAnonymous(4 << 20);
        p.write(more, 4 << 20);                                    // new faults follow the decision
        assertEquals(Map.of(4096L, 4L << 20), p.census(more, 4 << 20));
        controller.close();                                        // withdraws: the kernel default is back
    }
}
