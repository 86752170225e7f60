package io.mthp4j.core.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.policy.HeadroomPolicy;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The controller with a headroom policy (issue 9): every cgroup's headroom reaches the policy, the root and every
 * limited cgroup are watched, a crossing causes a scan at once, the reason of a change reaches the sink, and a
 * policy without headroom shares reads and watches nothing.
 */
class PolicyControllerHeadroomTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final long M = 1 << 20;

    final ScriptedBackend kernel = new ScriptedBackend();
    PolicyController controller;

    @AfterEach
    void stop() {
        if (controller != null) {
            assertTrue(controller.stop(Duration.ofSeconds(10)), "stop is bounded");
        }
    }

    @Test
    void aCrossingCausesAScanThatSwitchesTheCgroupAndTheSinkHearsWhy() throws Exception {
        ScriptedBackend.Cg a = kernel.mkdir("/a");
        a.limitBytes = 100 * M;
        a.usageBytes = 10 * M;
        List<String> reasons = new ArrayList<>();
        DecisionSink recording = new DecisionSink() {
            @Override
            public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
                throw new AssertionError("the controller passes the reason");
            }

            @Override
            public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos, String reason) {
                kernel.decisions().publish(cgroupId, table, generation, expiresAtBootNanos);
                if (reason != null) {
                    synchronized (reasons) {
                        reasons.add(reason);
                    }
                }
            }

            @Override
            public void withdraw(long cgroupId) {
                kernel.decisions().withdraw(cgroupId);
            }
        };
        controller = PolicyController.builder(kernel, HeadroomPolicy.builder(G).build()).sink(recording).build();
        controller.start();
        PolicyControllerTest.eventually(() -> controller.scans() >= 1 && controller.headroomWatches().size() == 2,
                "the first scan, and the root and /a watched");
        assertEquals(Map.of(kernel.cg("/").ref, HeadroomWatch.Mechanism.POLLING, a.ref, HeadroomWatch.Mechanism.POLLING),
                controller.headroomWatches());
        assertEquals(HeadroomWatch.Mechanism.POLLING, controller.headroomMechanism());
        assertTrue(kernel.headroomWatches.contains("/a [0.7, 0.8]"), kernel.headroomWatches::toString);
        assertEquals(DecisionTable.uniform(Orders.upTo(9)), kernel.sink.get(a.ref.id()).table());

        a.usageBytes = 85 * M;
        long scans = controller.scans();
        kernel.headroomScript.add(true);
        PolicyControllerTest.eventually(() -> controller.headroomEvents() == 1 && controller.scans() > scans
                && DecisionTable.uniform(0).equals(kernel.sink.get(a.ref.id()).table()), "base pages after the crossing");
        synchronized (reasons) {
            assertTrue(reasons.stream().anyMatch(r -> r.startsWith("cgroup /a: ") && r.contains("usage 85M of memory.max 100M (85%)")
                    && r.endsWith("order=9 -> order=0")), reasons::toString);
        }
        assertTrue(controller.stop(Duration.ofSeconds(10)));
        assertTrue(kernel.headroomClosed, "stop closes the watches");
        assertTrue(controller.headroomWatches().isEmpty());
    }

    @Test
    void aPolicyWithoutSharesReadsAndWatchesNoHeadroom() throws Exception {
        ScriptedBackend.Cg a = kernel.mkdir("/a");
        a.limitBytes = 100 * M;
        kernel.failReads.put("/a/memory.current", io.mthp4j.api.Errno.EIO); // would be an error if it were read
        controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).build()).build();
        controller.start();
        PolicyControllerTest.eventually(() -> controller.scans() >= 1, "first scan");
        assertEquals(0, controller.errors());
        assertTrue(kernel.headroomWatches.isEmpty());
        assertNull(controller.headroomMechanism());
    }

    @Test
    void aHeadroomReadErrorSkipsOnlyThatCgroup() {
        ScriptedBackend.Cg a = kernel.mkdir("/a");
        kernel.mkdir("/b");
        a.limitBytes = 100 * M;
        kernel.failReads.put("/a/memory.current", io.mthp4j.api.Errno.ENOENT);
        controller = PolicyController.builder(kernel, HeadroomPolicy.builder(G).build()).build();
        controller.scanOnce();
        assertEquals(1, controller.errors());
        assertNull(controller.decision(a.ref.id()));
        assertEquals(DecisionTable.uniform(Orders.upTo(9)), controller.decision(kernel.cg("/b").ref.id()));
        assertTrue(kernel.headroomWatches.isEmpty(), "scanOnce without start watches nothing");
    }
}
