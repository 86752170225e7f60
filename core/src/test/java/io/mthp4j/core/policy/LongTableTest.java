package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.DecisionTable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/** The per-fault decision board against a HashMap model. */
class LongTableTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final DecisionTable[] TABLES = {DecisionTable.uniform(0), DecisionTable.uniform(0x1FF), DecisionTable.uniform(-1L)};

    /** One step: key, and -1 to remove it or the index of the table to map it to. */
    record Op(long key, int table) {
    }

    static Gen<Op> ops() {
        // Few distinct keys, so puts, replacements and removals collide; 0, negatives and large ids included.
        Gen<Long> keys = Generate.pick(List.of(0L, 1L, 2L, 3L, 17L, 33L, 1L << 32, -1L, Long.MIN_VALUE, Long.MAX_VALUE))
                .mix(SourceDSL.longs().between(0, 64), 50);
        return keys.zip(SourceDSL.integers().between(-1, TABLES.length - 1), Op::new);
    }

    @Test
    @DisplayName("any sequence of with/without answers get() and size() as a HashMap does")
    void modelled() {
        qt().withExamples(EXAMPLES).forAll(SourceDSL.lists().of(ops()).ofSizeBetween(0, 60)).checkAssert(steps -> {
            Map<Long, DecisionTable> model = new HashMap<>();
            LongTable t = LongTable.empty();
            for (Op op : steps) {
                if (op.table() < 0) {
                    model.remove(op.key());
                    t = t.without(op.key());
                } else {
                    model.put(op.key(), TABLES[op.table()]);
                    t = t.with(op.key(), TABLES[op.table()]);
                }
                assertEquals(model.size(), t.size());
                for (Map.Entry<Long, DecisionTable> e : model.entrySet()) {
                    assertSame(e.getValue(), t.get(e.getKey()), "key " + e.getKey());
                }
                assertEquals(null, t.get(op.table() < 0 ? op.key() : 12345678901L), "absent keys have no decision");
            }
        });
    }

    @Test
    @DisplayName("writes change the table in place until it grows; 10,000 sequential cgroup ids stay found")
    void sameSnapshotAndScale() {
        LongTable t = LongTable.empty();
        for (long id = 1; id <= 10_000; id++) {
            t = t.with(id, TABLES[(int) (id % 3)]);
        }
        assertEquals(10_000, t.size());
        assertSame(t, t.with(5, TABLES[2]), "a changed decision is written in place");
        assertSame(TABLES[2], t.get(5));
        assertSame(t, t.without(10_001));
        for (long id = 1; id <= 10_000; id++) {
            assertSame(TABLES[(int) (id % 3)], t.get(id));
        }
        assertThrows(IllegalArgumentException.class, () -> LongTable.empty().with(1, null));
    }

    @Test
    @DisplayName("a reader racing the writer sees for each key its own decision or none, never another key's")
    void readersRacingTheWriter() throws Exception {
        int n = 50_000;
        LongTable[] published = {LongTable.empty()};
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> wrong = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = new Thread(() -> {
            java.util.SplittableRandom r = new java.util.SplittableRandom(7);
            while (!done.get() && wrong.get() == null) {
                LongTable t;
                synchronized (published) {
                    t = published[0];
                }
                long k = 1 + r.nextLong(n);
                DecisionTable d = t.get(k);
                if (d != null && d != TABLES[(int) (k % TABLES.length)] && d != TABLES[(int) ((k + 1) % TABLES.length)]) {
                    wrong.set("key " + k + " read " + d);
                }
            }
        });
        reader.start();
        LongTable t = LongTable.empty();
        for (long k = 1; k <= n; k++) {
            t = t.with(k, TABLES[(int) (k % TABLES.length)]);
            t = t.with(k, TABLES[(int) ((k + 1) % TABLES.length)]); // a change in place
            synchronized (published) {
                published[0] = t;
            }
        }
        done.set(true);
        reader.join();
        assertEquals(null, wrong.get());
    }
}
