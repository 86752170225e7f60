package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The policy map on the real kernel: layout round trips, schema checks, the decision sink, a full map. */
class PolicyMapTest extends BpffsTest {


    static DecisionTable randomTable(Random r) {
        DecisionTable t = DecisionTable.uniform(0);
        for (TvaType type : TvaType.values()) {
            for (VmaType advice : VmaType.values()) {
                t = t.with(type, advice, r.nextLong());
            }
        }
        return t;
    }

    @Test
    void entriesRoundTripThroughTheKernel() {
        Path pin = bpffs.pin("roundtrip");
        long examples = Math.min(2000, Long.getLong("mthp4j.property.examples", 1000));
        try (PolicyMap map = PolicyMap.createPinned(pin, 4096)) {
            qt().withExamples((int) examples).forAll(longs().all(), longs().all(), longs().all()).checkAssert((key, gen, seed) -> {
                DecisionTable table = randomTable(new Random(seed));
                map.put(key, table, gen, seed ^ gen);
                PolicyMap.Entry e = map.get(key).orElseThrow();
                assertEquals(new PolicyMap.Entry(key, PolicyMap.LAYOUT_VERSION, PolicyMap.F_VALID, gen, seed ^ gen, table), e);
                assertTrue(map.remove(key));
                assertFalse(map.get(key).isPresent());
            });
        } finally {
            PolicyMap.unpin(pin);
        }
    }

    @Test
    void sinkPublishesAndWithdraws() {
        Path pin = bpffs.pin("sink");
        try (PolicyMap map = PolicyMap.createPinned(pin, 16); PolicyMap reader = PolicyMap.openPinned(pin, true)) {
            LinuxDecisionSink sink = new LinuxDecisionSink(map);
            DecisionTable only64k = DecisionTable.uniform(1L << 4).with(TvaType.FORCED_COLLAPSE, 1L << 9);
            sink.publish(0, only64k, 1, 1_000);
            sink.publish(25, DecisionTable.uniform(0), 2, Long.MAX_VALUE);
            Map<Long, PolicyMap.Entry> all = reader.entries().stream().collect(Collectors.toMap(PolicyMap.Entry::cgroupId, Function.identity()));
            assertEquals(2, all.size());
            assertEquals(only64k, all.get(0L).table());
            assertTrue(all.get(0L).appliesAt(999));
            assertFalse(all.get(0L).appliesAt(1_000), "an entry stops applying at its expiry");
            assertEquals(2, all.get(25L).generation());
            sink.withdraw(25);
            sink.withdraw(25);
            assertEquals(List.of(0L), reader.entries().stream().map(PolicyMap.Entry::cgroupId).toList());
            KernelException ro = assertThrows(KernelException.class, () -> reader.put(1, only64k, 1, 1));
            assertEquals(Errno.EPERM, ro.errno());
        } finally {
            PolicyMap.unpin(pin);
        }
    }

    @Test
    void aFullMapSaysSo() {
        Path pin = bpffs.pin("full");
        try (PolicyMap map = PolicyMap.createPinned(pin, 2)) {
            map.put(1, DecisionTable.uniform(0), 1, 1);
            map.put(2, DecisionTable.uniform(0), 1, 1);
            KernelException e = assertThrows(KernelException.class, () -> map.put(3, DecisionTable.uniform(0), 1, 1));
            assertEquals(Errno.E2BIG, e.errno());
            assertTrue(e.getMessage().contains("map full (2 entries)"), e.getMessage());
            map.put(2, DecisionTable.uniform(-1L), 2, 2); // replacing still works
            assertEquals(2, map.get(2).orElseThrow().generation());
        } finally {
            PolicyMap.unpin(pin);
        }
    }

    @Test
    void schemaMismatchesAreRefusedSayingWhatDiffers() {
        record Case(BpfMap.Type type, String name, int key, int value, String expected) {
        }
        List<Case> cases = List.of(
                new Case(BpfMap.Type.ARRAY, "mthp4j_pol_v1", 4, 144, "type ARRAY (expected HASH), key_size 4 (expected 8)"),
                new Case(BpfMap.Type.HASH, "mthp4j_pol_v1", 8, 136, "value_size 136 (expected 144)"),
                new Case(BpfMap.Type.HASH, "mthp4j_pol_v2", 8, 144, "layout version 2 (expected 1"),
                new Case(BpfMap.Type.HASH, "someone_else", 8, 144, "name \"someone_else\""));
        int i = 0;
        for (Case c : cases) {
            Path pin = bpffs.pin("schema" + i++);
            try (BpfMap other = BpfMap.create(c.type, c.name, c.key, c.value, 4, 0)) {
                other.pin(pin);
                int fds = RealKernel.openFds();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> PolicyMap.openPinned(pin, false));
                assertTrue(e.getMessage().contains(c.expected), e.getMessage());
                assertTrue(e.getMessage().contains(pin.toString()), e.getMessage());
                assertEquals(fds, RealKernel.openFds(), "the refused map's descriptor is closed");
                assertThrows(IllegalStateException.class, () -> PolicyMap.openOrCreate(pin, 4));
            } finally {
                PolicyMap.unpin(pin);
            }
        }
    }

    @Test
    void openOrCreateCreatesOnceThenReopens() {
        Path pin = bpffs.pin("a/b/policy");
        try {
            try (PolicyMap first = PolicyMap.openOrCreate(pin, 8)) {
                first.put(7, DecisionTable.uniform(3), 9, 9);
            }
            try (PolicyMap again = PolicyMap.openOrCreate(pin, 8)) {
                assertEquals(9, again.get(7).orElseThrow().generation());
                assertEquals(8, again.capacity());
            }
        } finally {
            PolicyMap.unpin(pin);
        }
    }
}
