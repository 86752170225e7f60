package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.host.HostThpEnforcer;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.ThpSysfs;
import io.mthp4j.core.policy.HeadroomPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Host-wide enforcement through the THP knobs (issue 9) on the fake kernel: the knobs it writes, what it never
 * touches, the state file, restoring on close, on withdrawal and after a simulated crash, hysteresis on the
 * virtual clock, and the end-to-end case: a workload approaching memory.max switches the host to base pages
 * before the limit, with real faults and no OOM kill.
 */
class HostEnforcementOnFakeKernelTest {

    static final long M = 1 << 20;
    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final String K64 = "hugepages-64kB/enabled";
    static final String K2M = "hugepages-2048kB/enabled";

    final FakeKernel kernel = FakeKernel.create();
    final Path dir;
    final Path state;
    final List<String> writes = Collections.synchronizedList(new ArrayList<>());
    volatile String failWrites;
    /** The fake's sysfs, recording every write the enforcer makes. */
    final ThpSysfs recording = new ThpSysfs() {
        @Override
        public PageGeometry geometry() {
            return kernel.thp().geometry();
        }

        @Override
        public String readFile(String relativePath) {
            return kernel.thp().readFile(relativePath);
        }

        @Override
        public void writeFile(String relativePath, String value) {
            writes.add(relativePath + "=" + value);
            if (relativePath.equals(failWrites)) {
                throw new io.mthp4j.api.KernelException("write", ThpSettings.ROOT + "/" + relativePath, Errno.EIO, "scripted");
            }
            kernel.thp().writeFile(relativePath, value);
        }
    };

    HostEnforcementOnFakeKernelTest() throws IOException {
        dir = Files.createTempDirectory("mthp4j-host");
        state = dir.resolve("run/host-thp.state");
    }

    @AfterEach
    void clean() throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    HostThpEnforcer.Builder enforcer() {
        return HostThpEnforcer.builder(recording, kernel::bootTimeNanos).follow(1).stateFile(state).shutdownHook(false);
    }

    void publish(HostThpEnforcer e, long allowed, String reason) {
        e.publish(1, DecisionTable.uniform(allowed), 1, kernel.bootTimeNanos() + Duration.ofMinutes(1).toNanos(), reason);
    }

    String knob(String path) {
        return ThpSettings.read(G, kernel.thp()::readFile).render().get(path);
    }

    @Test
    void writesOnlyTheRefusedSizesAndRestoresOnClose() throws IOException {
        kernel.thp().writeFile(K64, "always");
        ThpSettings before = kernel.thp().read();
        try (HostThpEnforcer e = enforcer().open()) {
            assertTrue(writes.isEmpty(), "nothing written until a decision restricts");
            assertFalse(Files.exists(state));
            publish(e, Orders.upTo(9), "normal");
            assertTrue(writes.isEmpty(), "a decision that allows every size changes nothing");
            publish(e, Orders.upTo(4), "cgroup /: usage 52M of memory.max 64M (81%), order=9 -> order=4");
            assertEquals(List.of(K2M + "=never"), writes, "only the refused size; 64K stays always");
            assertTrue(Files.exists(state));
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(state));
            String text = Files.readString(state);
            assertTrue(text.contains(K2M + " inherit\n") && text.contains(K64 + " always\n"), text);
            publish(e, 0, "order=0");
            assertEquals(List.of(K2M + "=never", K64 + "=never"), writes);
            assertTrue(e.restricting());
            assertEquals(2, e.switches());
        }
        assertEquals(before, kernel.thp().read(), "restored on close");
        assertFalse(Files.exists(state), "the state file goes with the restore");
        assertTrue(writes.stream().allMatch(w -> w.startsWith("hugepages-") && w.contains("/enabled=")), writes::toString);
        assertTrue(writes.stream().noneMatch(w -> w.contains("anon_beside_full")));
    }

    @Test
    void theTopLevelKnobOnlyWhenAskedAndOnlyForBasePages() {
        kernel.thp().writeFile("enabled", "always");
        try (HostThpEnforcer e = enforcer().orders(Orders.bit(9)).topLevel(true).open()) {
            assertEquals(List.of(K2M, "enabled"), List.copyOf(e.managedKnobs()));
            publish(e, Orders.upTo(4), "no PMD");
            assertEquals(List.of(K2M + "=never"), writes, "other sizes allowed: the top level stays");
            publish(e, 0, "base pages");
            assertEquals(List.of(K2M + "=never", "enabled=never"), writes);
        }
        assertEquals("always", knob("enabled").replaceAll(".*\\[(\\w+)].*\\s*", "$1"));
        assertThrows(IllegalArgumentException.class, () -> enforcer().orders(Orders.bit(1)).open(), "order 1 has no anon knob");
    }

    @Test
    void relaxingWaitsForTheDelayOnTheBackendClockSoAnEdgeLoadDoesNotFlap() {
        try (HostThpEnforcer e = enforcer().orders(Orders.bit(9)).relaxAfter(Duration.ofSeconds(10)).open()) {
            publish(e, 0, "over");
            assertEquals(1, e.switches());
            for (int i = 0; i < 9; i++) {
                kernel.clock().advance(Duration.ofSeconds(1));
                publish(e, Orders.upTo(9), "below");
            }
            assertTrue(e.restricting(), "9 s of relaxation is not enough");
            publish(e, 0, "over again");
            assertEquals(1, e.switches(), "still never: no write");
            for (int i = 0; i < 10; i++) {
                kernel.clock().advance(Duration.ofSeconds(1));
                publish(e, Orders.upTo(9), "below");
            }
            assertTrue(e.restricting(), "the restriction in between restarted the delay");
            kernel.clock().advance(Duration.ofSeconds(1));
            publish(e, Orders.upTo(9), "below");
            assertFalse(e.restricting());
            assertEquals(2, e.switches());
            assertEquals(List.of(K2M + "=never", K2M + "=inherit"), writes);
        }
    }

    @Test
    void anExpiredDecisionIsNoOpinionAndAWithdrawalRestoresAtOnce() {
        try (HostThpEnforcer e = enforcer().orders(Orders.bit(9)).relaxAfter(Duration.ZERO).open()) {
            publish(e, 0, "over");
            e.publish(1, DecisionTable.uniform(0), 2, kernel.bootTimeNanos(), null);
            assertFalse(e.restricting(), "expired: the originals");
            publish(e, 0, "over");
            e.publish(7, DecisionTable.uniform(Orders.upTo(9)), 3, Long.MAX_VALUE, "another cgroup");
            assertTrue(e.restricting(), "decisions for other cgroups are ignored");
            e.withdraw(1);
            assertFalse(e.restricting());
            assertFalse(Files.exists(state));
        }
    }

    @Test
    void aLaterStartRestoresWhatACrashedEnforcerLeft() throws IOException {
        kernel.thp().writeFile(K64, "always");
        ThpSettings before = kernel.thp().read();
        HostThpEnforcer crashed = enforcer().open();
        publish(crashed, 0, "over");
        assertEquals("never", kernel.thp().read().anonSizeEnabled(4).sysfsName());
        assertThrows(IllegalStateException.class, () -> enforcer().open(), "one enforcer per state file");
        assertThrows(IllegalStateException.class, () -> HostThpEnforcer.restore(recording, state), "not behind a live one's back");
        crashed.abandon(); // what SIGKILL leaves: the knobs, the state file, no lock
        assertTrue(Files.exists(state));
        assertEquals("never", kernel.thp().read().anonSizeEnabled(4).sysfsName());
        try (HostThpEnforcer next = enforcer().open()) {
            assertEquals(before, kernel.thp().read(), "restored on start");
            assertFalse(Files.exists(state));
            assertEquals("always", next.originals().get(K64));
        }
    }

    @Test
    void restoreAloneAndDamagedStateFiles() throws IOException {
        HostThpEnforcer crashed = enforcer().open();
        publish(crashed, Orders.upTo(4), "no PMD");
        crashed.abandon();
        Map<String, String> restored = HostThpEnforcer.restore(recording, state);
        assertEquals(Map.of(K2M, "inherit"), restored);
        assertEquals(Map.of(), HostThpEnforcer.restore(recording, state), "nothing left");

        Files.writeString(state, "version 1\nanon_beside_full 1\n");
        IllegalStateException bad = assertThrows(IllegalStateException.class, () -> HostThpEnforcer.restore(recording, state));
        assertTrue(bad.getMessage().contains("never manages"), bad.getMessage());
        Files.writeString(state, "version 1\n" + K2M + " sometimes\n");
        assertThrows(IllegalStateException.class, () -> enforcer().open(), "a damaged file stops the start");
        Files.writeString(state, K2M + " never\n");
        assertThrows(IllegalStateException.class, () -> HostThpEnforcer.restore(recording, state), "no version line");
        assertTrue(writes.stream().noneMatch(w -> w.contains("anon_beside_full")));
    }

    @Test
    void aFailedRestoreKeepsTheStateFileForMthp4jRestore() {
        HostThpEnforcer e = enforcer().orders(Orders.bit(9)).open();
        publish(e, 0, "over");
        failWrites = K2M;
        IllegalStateException failed = assertThrows(IllegalStateException.class, e::close);
        assertTrue(failed.getMessage().contains("mthp4j restore"), failed.getMessage());
        assertTrue(Files.exists(state));
        failWrites = null;
        assertEquals(Map.of(K2M, "inherit"), HostThpEnforcer.restore(recording, state), "the lock was released");
        assertFalse(Files.exists(state));
    }

    @Test
    void endToEndTheHostSwitchesToBasePagesBeforeTheWorkloadsLimit() throws Exception {
        kernel.thp().writeFile("enabled", "always");
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "64M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(256 * M);
        HeadroomPolicy policy = HeadroomPolicy.builder(G).build();
        try (HostThpEnforcer host = HostThpEnforcer.builder(recording, kernel::bootTimeNanos).follow(cg.id()).stateFile(state)
                .shutdownHook(false).open();
             PolicyController controller = PolicyController.builder(kernel, policy).root(cg).sink(host).build();
             HeadroomWatch mine = kernel.headroom().watch(cg, policy.headroomShares())) {
            controller.start();
            HeadroomOnFakeKernelTest.eventually(() -> controller.decision(cg.id()) != null, "first scan");
            for (int i = 0; i < 128; i++) {
                p.write(a + i * 2 * M, 1);
                if (mine.await(Duration.ZERO) && kernel.cgroups().memory(cg).current() >= 0.8 * 64 * M) {
                    HeadroomOnFakeKernelTest.eventually(host::restricting, "the host knob switched");
                }
            }
            assertFalse(p.oomKilled());
            assertEquals(List.of(K2M + "=never"), writes);
            assertEquals(26L * 2 * M, p.census(a, 256 * M).getOrDefault(2 * M, 0L));
            assertTrue(kernel.cgroups().memory(cg).current() < 64 * M);
        }
        assertEquals("[inherit]", knob(K2M).replaceAll(".*(\\[\\w+]).*\\s*", "$1"), "restored when the controller and sink close");
    }
}
