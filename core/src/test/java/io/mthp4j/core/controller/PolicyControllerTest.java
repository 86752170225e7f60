package io.mthp4j.core.controller;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.policy.AllowList;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.core.policy.PressurePolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The controller against a scripted backend (settable stall and memory per cgroup, scripted PSI events, scripted
 * errors): exact inputs per scan. The same scenarios with real faults and the fake kernel's pressure model are in
 * fake-backend's ControllerScenariosTest.
 */
class PolicyControllerTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final long MIB = 1L << 20;

    final ScriptedBackend kernel = new ScriptedBackend();
    PolicyController controller;

    @AfterEach
    void stop() {
        if (controller != null) {
            assertTrue(controller.stop(Duration.ofSeconds(10)), "stop is bounded");
        }
    }

    PolicyController controller(CgroupPolicy policy) {
        controller = PolicyController.builder(kernel, policy).build();
        return controller;
    }

    DecisionTable published(String path) {
        ScriptedBackend.Published p = kernel.sink.get(kernel.cg(path).ref.id());
        return p == null ? null : p.table();
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 2_000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    @Nested
    class Scans {
        @Test
        @DisplayName("no pressure: every cgroup allowed every order up to PMD")
        void noPressure() {
            kernel.mkdir("/a").anonBytes = 64 * MIB;
            kernel.mkdir("/b").anonBytes = 64 * MIB;
            PressurePolicy policy = PressurePolicy.mthpExt(G).build();
            controller(policy).scanOnce();
            controller.scanOnce();
            for (String cg : new String[] {"/", "/a", "/b"}) {
                assertEquals(DecisionTable.uniform(Orders.upTo(9)), published(cg), cg);
            }
            assertEquals(2, controller.scans());
            assertEquals(3, controller.changes(), "the first decision of each cgroup");
            assertEquals(0, controller.errors());
        }

        @Test
        @DisplayName("a pressured cgroup gets base pages within one scan; its sibling keeps mTHP; it recovers when quiet")
        void pressure() {
            ScriptedBackend.Cg a = kernel.mkdir("/a");
            ScriptedBackend.Cg b = kernel.mkdir("/b");
            a.anonBytes = b.anonBytes = 64 * MIB;
            a.fullStallMicros = b.fullStallMicros = 10;
            PressurePolicy policy = PressurePolicy.mthpExt(G).build();
            controller(policy).scanOnce();
            a.fullStallMicros += 250_000;
            b.fullStallMicros += 99_999;
            controller.scanOnce();
            assertEquals(DecisionTable.uniform(0), published("/a"));
            assertEquals(DecisionTable.uniform(Orders.upTo(9)), published("/b"));
            VmaInfo inA = VmaInfo.anon(0, 1L << 30).withOwner(9, a.ref);
            assertEquals(0, controller.policy().chooseOrders(inA, TvaType.PAGEFAULT, 0x3FC), "the policy answers per call too");
            controller.scanOnce();
            assertEquals(DecisionTable.uniform(Orders.upTo(9)), published("/a"));
            assertEquals(3 + 2, controller.changes());
        }

        @Test
        @DisplayName("tva-aware: a small cgroup keeps khugepaged and MADV_COLLAPSE, loses faults")
        void tvaAware() {
            kernel.mkdir("/small").anonBytes = 4 * MIB;
            controller(PressurePolicy.tvaAware(G).build()).scanOnce();
            DecisionTable t = published("/small");
            assertEquals(0, t.allowed(TvaType.PAGEFAULT, VmaType.NONE));
            assertEquals(Orders.upTo(9), t.allowed(TvaType.KHUGEPAGED, VmaType.HUGEPAGE));
            assertEquals(Orders.upTo(9), t.allowed(TvaType.FORCED_COLLAPSE, VmaType.NONE));
        }

        @Test
        @DisplayName("processes under 16 MiB: base pages from the first scan (quirk fixed), not with the v2 quirk")
        void small() {
            kernel.mkdir("/small").anonBytes = 8 * MIB;
            controller(PressurePolicy.mthpExt(G).build()).scanOnce();
            assertEquals(DecisionTable.uniform(0), published("/small"));
            controller.stop(Duration.ofSeconds(1));
            controller(PressurePolicy.mthpExt(G).firstSightingQuirk(true).build());
            for (int i = 0; i < 3; i++) {
                controller.scanOnce();
                assertEquals(DecisionTable.uniform(Orders.upTo(9)), published("/small"), "v2: stall still 0, minimum never checked");
            }
        }

        @Test
        @DisplayName("a new cgroup gets its parent's decision at its first scan; a removed one is withdrawn and forgotten")
        void newAndRemoved() {
            ScriptedBackend.Cg a = kernel.mkdir("/a");
            a.anonBytes = 64 * MIB;
            PressurePolicy policy = PressurePolicy.mthpExt(G).build();
            controller(policy).scanOnce();
            a.fullStallMicros += 500_000;
            controller.scanOnce();
            ScriptedBackend.Cg child = kernel.mkdir("/a/new");
            child.tasks = false;
            a.fullStallMicros += 500_000; // still pressured in the scan that discovers the child
            controller.scanOnce();
            assertEquals(DecisionTable.uniform(0), published("/a/new"), "inherits the pressured parent");
            long id = child.ref.id();
            kernel.rmdir("/a/new");
            controller.scanOnce();
            assertNull(kernel.sink.get(id), "withdrawn");
            assertNull(controller.decision(id));
            assertNull(policy.decision(id), "the policy forgot it");
            assertEquals(2, controller.trackedCgroups());
        }

        @Test
        @DisplayName("publications carry increasing generations and expire at boot time + TTL")
        void generationsAndExpiry() {
            kernel.mkdir("/a");
            controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).build()).decisionTtl(Duration.ofSeconds(7)).build();
            kernel.nanos = 1_000;
            controller.scanOnce();
            long g1 = kernel.sink.get(kernel.cg("/a").ref.id()).generation();
            assertEquals(1_000 + 7_000_000_000L, kernel.sink.get(kernel.cg("/a").ref.id()).expiresAtBootNanos());
            kernel.advance(Duration.ofSeconds(2));
            controller.scanOnce();
            ScriptedBackend.Published p = kernel.sink.get(kernel.cg("/a").ref.id());
            assertTrue(p.generation() > g1);
            assertEquals(kernel.nanos + 7_000_000_000L, p.expiresAtBootNanos(), "renewed by every scan");
            assertEquals(controller.generation(), kernel.sink.values().stream().mapToLong(ScriptedBackend.Published::generation).max().orElse(0));
            PolicyController defaults = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).build()).build();
            kernel.nanos = 0;
            defaults.scanOnce();
            assertEquals(6_000_000_000L, kernel.sink.get(1L).expiresAtBootNanos(), "default TTL: 3 x (2 x 1 s)");
            defaults.stop(Duration.ofSeconds(1));
        }

        @Test
        @DisplayName("an unreadable file, a vanished cgroup or a failed publish skips that cgroup for one scan only")
        void errorsSkipOneCgroup() {
            kernel.mkdir("/a").anonBytes = 64 * MIB;
            kernel.mkdir("/b").anonBytes = 64 * MIB;
            controller(PressurePolicy.mthpExt(G).build());
            kernel.failReads.put("/a/memory.pressure", Errno.EACCES);
            kernel.failReads.put("publish " + kernel.cg("/b").ref.id(), Errno.E2BIG);
            controller.scanOnce();
            assertEquals(2, controller.errors());
            assertNull(published("/a"));
            assertNull(published("/b"));
            assertNotNull(published("/"));
            controller.scanOnce();
            assertNotNull(published("/a"));
            assertNotNull(published("/b"));
            assertEquals(2, controller.errors());
        }

        @Test
        @DisplayName("a root that vanished: the scan is skipped and counted, nothing thrown")
        void rootVanished() {
            ScriptedBackend.Cg a = kernel.mkdir("/a");
            controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).build()).root(a.ref).build();
            kernel.rmdir("/a");
            controller.scanOnce();
            assertEquals(1, controller.errors());
            assertEquals(1, controller.scans());
        }

        @Test
        @DisplayName("a cgroup without a memory controller (ENOENT on memory.stat) is decided with memory unknown, not skipped")
        void noMemoryController() {
            ScriptedBackend.Cg small = kernel.mkdir("/nomem");
            small.anonBytes = 1 << 20; // would be "small" if it were read
            kernel.failReads.put("/nomem/memory.stat", Errno.ENOENT);
            PressurePolicy policy = PressurePolicy.mthpExt(G).build();
            controller(policy).scanOnce();
            assertEquals(0, controller.errors());
            assertEquals(policy.normalTable(), published("/nomem"), "memory 0 = unknown: never small");
        }

        @Test
        @DisplayName("policies that need no samples read no pressure or memory (an unreadable file is never touched)")
        void noSamples() {
            kernel.mkdir("/web");
            kernel.mkdir("/batch");
            kernel.failReads.put("/web/memory.pressure", Errno.EIO);
            kernel.failReads.put("/batch/memory.stat", Errno.EIO);
            AllowList allow = AllowList.create();
            allow.addPath("/web");
            controller(allow).scanOnce();
            assertEquals(0, controller.errors());
            assertEquals(DecisionTable.uniform(-1L), published("/web"));
            assertEquals(DecisionTable.uniform(0), published("/batch"));
            allow.removePath("/web");
            controller.scanOnce();
            assertEquals(DecisionTable.uniform(0), published("/web"), "run-time removal reaches the next scan");
        }

        @Test
        @DisplayName("a policy with no opinion on a cgroup: nothing published, an earlier decision withdrawn")
        void noOpinion() {
            kernel.mkdir("/a");
            AllowList allow = AllowList.create(-1L, AllowList.Unlisted.NO_OPINION);
            allow.addPath("/a");
            controller(allow).scanOnce();
            assertNotNull(published("/a"));
            assertNull(kernel.sink.get(1L));
            allow.removePath("/a");
            controller.scanOnce();
            assertNull(published("/a"));
            assertTrue(kernel.sinkCalls.contains("withdraw " + kernel.cg("/a").ref.id()));
        }

        @Test
        @DisplayName("per-cgroup state is bounded: cgroup churn cannot grow it")
        void bounded() {
            for (int i = 0; i < 50; i++) {
                kernel.mkdir("/c" + i);
            }
            controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).maxCgroups(16).build()).maxCgroups(16).build();
            controller.scanOnce();
            assertTrue(controller.trackedCgroups() <= 16, "tracked " + controller.trackedCgroups());
            assertEquals(0, controller.errors());
        }

        @Test
        @DisplayName("flapping load: hysteresis makes fewer decision changes")
        void flapping() {
            long without = flaps(0);
            long with = flaps(3);
            assertTrue(with < without, "changes with hysteresis " + with + ", without " + without);
        }

        long flaps(int hysteresis) {
            ScriptedBackend kernel = new ScriptedBackend();
            ScriptedBackend.Cg a = kernel.mkdir("/a");
            a.anonBytes = 64 * MIB;
            PolicyController c = PolicyController.builder(kernel, PressurePolicy.mthpExt(G).hysteresis(hysteresis).build()).build();
            for (int i = 0; i < 20; i++) {
                a.fullStallMicros += i % 2 == 0 ? 150_000 : 0; // pressured every other scan
                c.scanOnce();
            }
            c.stop(Duration.ofSeconds(1));
            return c.changes();
        }
    }

    @Nested
    class Events {
        @Test
        @DisplayName("one JFR event per decision change, with cgroup, stall before and after, memory, decisions")
        void jfr() throws Exception {
            ScriptedBackend.Cg a = kernel.mkdir("/a");
            a.anonBytes = 64 * MIB;
            a.fullStallMicros = 5;
            controller(PressurePolicy.mthpExt(G).build());
            Path file = Files.createTempFile("mthp4j-policy-jfr", ".jfr");
            try (Recording r = new Recording()) {
                r.enable("io.mthp4j.DecisionChange");
                r.start();
                controller.scanOnce();
                a.fullStallMicros += 300_000;
                controller.scanOnce();
                controller.scanOnce(); // quiet: back to order 9
                r.stop();
                r.dump(file);
                List<RecordedEvent> events = RecordingFile.readAllEvents(file);
                List<RecordedEvent> forA = events.stream().filter(e -> e.getString("cgroup").equals("/a")).toList();
                assertEquals(3, forA.size(), events.toString());
                RecordedEvent pressured = forA.get(1);
                assertEquals(5, pressured.getLong("stallBefore"));
                assertEquals(300_005, pressured.getLong("stallAfter"));
                assertEquals(64 * MIB, pressured.getLong("memory"));
                assertEquals("order=9", pressured.getString("before"));
                assertEquals("order=0", pressured.getString("after"));
                assertEquals(a.ref.id(), pressured.getLong("cgroupId"));
                assertEquals(controller.changes(), events.size());
            } finally {
                Files.deleteIfExists(file);
            }
        }

        @Test
        @DisplayName("describe: the sample's order words, and per type for tva-aware tables")
        void describe() {
            assertEquals("order=9", PolicyController.describe(DecisionTable.uniform(0x3FF)));
            assertEquals("order=0", PolicyController.describe(DecisionTable.uniform(0)));
            assertEquals("order=any", PolicyController.describe(DecisionTable.uniform(-1L)));
            assertEquals("no opinion", PolicyController.describe(null));
            assertEquals("fault order=0, khugepaged order=9, collapse order=9",
                    PolicyController.describe(PressurePolicy.tvaAware(G).build().smallTable()));
        }
    }

    @Nested
    class Loop {
        @Test
        @DisplayName("a rejected 1 s window moves to 2 s, once; the loop scans at start and after every event; stop withdraws")
        void loop() throws Exception {
            kernel.mkdir("/a");
            controller(PressurePolicy.mthpExt(G).build()).start();
            eventually(() -> controller.scans() >= 1, "initial scan");
            assertEquals(List.of("some 100000 1000000", "some 100000 2000000"), kernel.registrations);
            assertEquals(2_000_000, controller.effectiveWindowMicros());
            assertTrue(controller.hasTrigger());
            kernel.awaitScript.add(true);
            eventually(() -> controller.scans() >= 2 && controller.events() == 1, "a scan after the event");
            kernel.awaitScript.add(false); // a timeout: scans too
            eventually(() -> controller.scans() >= 3, "a scan after the timeout");
            assertEquals(1, controller.events());
            assertFalse(kernel.sink.isEmpty());
            assertTrue(controller.stop(Duration.ofSeconds(10)));
            assertTrue(kernel.sink.isEmpty(), "stop withdraws what it published");
            assertTrue(kernel.triggerClosed);
            long scans = controller.scans();
            kernel.awaitScript.add(true);
            Thread.sleep(50);
            assertEquals(scans, controller.scans(), "stopped");
            assertThrows(IllegalStateException.class, controller::start);
        }

        @Test
        @DisplayName("with CAP_SYS_RESOURCE the 1 s window is used as is")
        void privileged() throws Exception {
            kernel.acceptsWindow = w -> true;
            controller(PressurePolicy.mthpExt(G).build()).start();
            eventually(() -> controller.scans() >= 1, "initial scan");
            assertEquals(List.of("some 100000 1000000"), kernel.registrations);
            assertEquals(1_000_000, controller.effectiveWindowMicros());
        }

        @Test
        @DisplayName("PSI refused (EOPNOTSUPP): counted, logged, the loop still scans and stops")
        void noPsi() throws Exception {
            kernel.registerErrno = Errno.EOPNOTSUPP;
            controller(PressurePolicy.mthpExt(G).build()).start();
            eventually(() -> controller.scans() >= 1, "initial scan");
            assertFalse(controller.hasTrigger());
            assertEquals(1, controller.errors());
            assertEquals(1, kernel.registrations.size(), "no window search for other errnos");
        }

        @Test
        @DisplayName("nearest accepted windows: 1 s → 2 s first; 5 s → 6 s then 4 s; 30 s → 10 s")
        void nearestWindows() {
            assertEquals(2_000_000, PolicyController.nearestWindows(1_000_000)[0]);
            assertArrayEquals(new long[] {6_000_000, 4_000_000, 8_000_000, 2_000_000, 10_000_000},
                    PolicyController.nearestWindows(5_000_000));
            assertEquals(10_000_000, PolicyController.nearestWindows(30_000_000)[0]);
        }

        @Test
        @DisplayName("builder: a threshold above the window is refused with the reason")
        void validation() {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> PolicyController.builder(kernel, AllowList.create())
                    .trigger(Duration.ofSeconds(2), Duration.ofSeconds(1)).build()).getMessage().contains("EINVAL"));
            assertThrows(IllegalArgumentException.class,
                    () -> PolicyController.builder(kernel, AllowList.create()).decisionTtl(Duration.ZERO));
        }

        @Test
        @DisplayName("a policy that throws: counted, and the next scan decides again")
        void throwingPolicy() throws Exception {
            CgroupPolicy broken = new CgroupPolicy() {
                int calls;

                @Override
                public DecisionTable decide(CgroupSample sample) {
                    if (calls++ == 0) {
                        throw new IllegalStateException("policy bug");
                    }
                    return DecisionTable.uniform(0);
                }

                @Override
                public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                    return orders;
                }
            };
            controller(broken).scanOnce();
            assertEquals(1, controller.errors());
            controller.scanOnce();
            assertEquals(DecisionTable.uniform(0), kernel.sink.get(new CgroupRef(1, "/").id()).table());
        }
    }
}
