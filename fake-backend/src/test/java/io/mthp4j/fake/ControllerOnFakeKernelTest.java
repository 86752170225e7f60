package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.policy.AllowList;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The controller on the fake kernel: the cgroup tree, PSI trigger validation, the virtual clock, and the decision
 * sink read by {@link FakeKernel#decisionPolicy()} through the order gate. The scenarios with real faults, memcg
 * charging and the pressure model are in {@link ControllerScenariosTest}.
 */
class ControllerOnFakeKernelTest {

    final FakeKernel kernel = FakeKernel.create();
    final MthpPolicy hook = kernel.decisionPolicy();
    final OrderGate gate = kernel.gateBuilder().policy(hook).build();
    PolicyController controller;

    @AfterEach
    void stop() {
        if (controller != null) {
            assertTrue(controller.stop(Duration.ofSeconds(10)), "stop is bounded");
        }
    }

    /** What a write fault in a 64 MiB MADV_HUGEPAGE VMA of {@code cgroup} may use (the mTHP request, §4.1). */
    long faultOrders(CgroupRef cgroup) {
        VmaInfo vma = VmaInfo.anon(0x7f0000000000L, 0x7f0000000000L + (64L << 20)).withFlags(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA)
                .withOwner(1234, cgroup);
        return gate.allowableOrders(kernel.thp().read(), ProcessThpMode.NONE, vma, TvaType.PAGEFAULT, Orders.upTo(9));
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 2_000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Whether the controller's loop thread is parked in the fake clock's wait (it then wakes on advance). */
    static boolean loopIsWaiting() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("mthp4j-controller") && t.getState() == Thread.State.WAITING);
    }

    @Test
    @DisplayName("no pressure, no memory model yet: mthp_ext publishes every order for every cgroup")
    void noPressure() {
        CgroupRef a = kernel.cgroups().mkdir("/a");
        kernel.spawn(a);
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        controller = PolicyController.builder(kernel, policy).build();
        long kernelDefault = faultOrders(a);
        controller.scanOnce();
        assertEquals(kernelDefault, faultOrders(a));
        assertEquals(policy.normalTable(), controller.decision(a.id()));
        assertEquals(0, controller.errors());
    }

    @Test
    @DisplayName("a cgroup created after start gets its parent's decision at once, and its own entry at the next scan")
    void inheritsAtOnce() {
        CgroupRef web = kernel.cgroups().mkdir("/web");
        CgroupRef batch = kernel.cgroups().mkdir("/batch");
        AllowList allow = AllowList.create();
        allow.addCgroup(web.id());
        controller = PolicyController.builder(kernel, allow).build();
        controller.scanOnce();
        long kernelDefault = gate.kernelAllowableOrders(kernel.thp().read(), ProcessThpMode.NONE,
                VmaInfo.anon(0x7f0000000000L, 0x7f0000000000L + (64L << 20)).withFlags(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA),
                TvaType.PAGEFAULT, Orders.upTo(9));
        assertTrue(kernelDefault != 0, "the machine's settings allow THP on MADV_HUGEPAGE");
        assertEquals(0, faultOrders(batch));
        assertEquals(kernelDefault, faultOrders(web));

        CgroupRef webNew = kernel.cgroups().mkdir("/web/new");
        CgroupRef batchNew = kernel.cgroups().mkdir("/batch/new");
        assertEquals(kernelDefault, faultOrders(webNew), "before any scan: the parent's decision");
        assertEquals(0, faultOrders(batchNew), "before any scan: the parent's decision");
        controller.scanOnce();
        assertEquals(DecisionTable.uniform(-1L), controller.decision(webNew.id()), "own entry, inherited through the id entry");
        assertEquals(DecisionTable.uniform(0), controller.decision(batchNew.id()));
        assertEquals(kernelDefault, faultOrders(webNew));
        assertEquals(0, faultOrders(batchNew));
    }

    @Test
    @DisplayName("a removed cgroup is withdrawn from the sink and forgotten")
    void removedIsForgotten() {
        CgroupRef gone = kernel.cgroups().mkdir("/gone");
        controller = PolicyController.builder(kernel, AllowList.create()).build();
        controller.scanOnce();
        assertEquals(DecisionTable.uniform(0), controller.decision(gone.id()));
        kernel.cgroups().rmdir(gone);
        controller.scanOnce();
        assertNull(controller.decision(gone.id()));
        assertTrue(kernel.faults().calls().contains("withdraw " + gone.id()));
        assertEquals(1, controller.trackedCgroups(), "only the root is left");
    }

    @Test
    @DisplayName("a controller that dies: its decisions expire on the virtual clock and the kernel default returns")
    void expiry() {
        CgroupRef a = kernel.cgroups().mkdir("/a");
        controller = PolicyController.builder(kernel, AllowList.create()).decisionTtl(Duration.ofSeconds(6)).build();
        long kernelDefault = faultOrders(a);
        controller.scanOnce(); // and then never again: the process died
        assertEquals(0, faultOrders(a));
        kernel.clock().advance(Duration.ofMillis(5_999));
        assertEquals(0, faultOrders(a), "still valid");
        kernel.clock().advance(Duration.ofMillis(1));
        assertEquals(kernelDefault, faultOrders(a), "stale: no opinion, never a wrong restriction");
        controller = null; // nothing to stop: it "died"
    }

    @Test
    @DisplayName("an unreadable memory.pressure skips that cgroup for one scan; the others are decided")
    void unreadableFile() {
        CgroupRef a = kernel.cgroups().mkdir("/a");
        CgroupRef b = kernel.cgroups().mkdir("/b");
        kernel.spawn(a);
        kernel.spawn(b);
        controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(kernel.geometry()).build()).build();
        kernel.faults().failNext("read", "/sys/fs/cgroup/a/memory.pressure", Errno.EIO);
        controller.scanOnce();
        assertEquals(1, controller.errors());
        assertNull(controller.decision(a.id()));
        assertTrue(controller.decision(b.id()) != null);
        controller.scanOnce();
        assertTrue(controller.decision(a.id()) != null);
    }

    @Test
    @DisplayName("the loop on the virtual clock: 1 s window rejected (no CAP_SYS_RESOURCE) → 2 s; a scan per 2 × interval; clean stop")
    void loopOnVirtualClock() throws Exception {
        CgroupRef a = kernel.cgroups().mkdir("/a");
        controller = PolicyController.builder(kernel, AllowList.create()).build();
        controller.start();
        eventually(() -> controller.scans() == 1, "initial scan");
        assertEquals(2_000_000, controller.effectiveWindowMicros());
        assertTrue(kernel.faults().calls().contains("psi /proc/pressure/memory"));
        for (int i = 2; i <= 4; i++) {
            long want = i;
            eventually(ControllerOnFakeKernelTest::loopIsWaiting, "the loop waits on the virtual clock");
            kernel.clock().advance(Duration.ofSeconds(2)); // 2 × interval without an event
            eventually(() -> controller.scans() >= want, "scan " + want + " after a timeout");
        }
        assertEquals(4, controller.scans());
        assertEquals(0, faultOrders(a));
        assertTrue(controller.stop(Duration.ofSeconds(10)));
        assertEquals(faultOrders(kernel.cgroups().root()), faultOrders(a), "stop withdrew every decision");
        long scans = controller.scans();
        kernel.clock().advance(Duration.ofSeconds(10));
        Thread.sleep(20);
        assertEquals(scans, controller.scans());
        controller = null;
    }

    @Test
    @DisplayName("with CAP_SYS_RESOURCE the fake accepts the sample's 1 s window as is")
    void privilegedWindow() throws Exception {
        FakeKernel privileged = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().capSysResource(true).build());
        controller = PolicyController.builder(privileged, AllowList.create()).build();
        controller.start();
        eventually(() -> controller.scans() == 1, "initial scan");
        assertEquals(1_000_000, controller.effectiveWindowMicros());
        assertTrue(controller.hasTrigger());
    }
}
