package io.mthp4j.linux;

import io.mthp4j.api.DecisionTable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Java side of the map targets, against the C loop of {@code bench/src/main/c/bpf_map_loop.c} on a map of the
 * same shape (HASH, u64 key, 144-byte value, {@value #CAPACITY} entries, keys 1..{@value #ENTRIES} present):
 * <ul>
 *   <li>{@code update}: {@link PolicyMap#put}, the publish path of the Linux decision sink, overwriting the
 *       entries in turn (target {@code map_update_ratio});</li>
 *   <li>{@code batch}: {@code BPF_MAP_UPDATE_BATCH} of all {@value #ENTRIES} entries through {@link BpfMap}
 *       (target {@code map_batch_ratio}); this class sits in {@code io.mthp4j.linux} to reach that
 *       package-private class, which has no public batch API.</li>
 * </ul>
 * The map is pinned under {@code $MTHP4J_BENCH_BPFFS} (bench/run mounts bpffs if needed and unmounts it after);
 * the pin is removed at tear-down. Needs root (CAP_BPF, CAP_SYS_ADMIN).
 *
 * <p>Alone: {@code MTHP4J_BENCH_BPFFS=/sys/fs/bpf java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main MapBench}
 * with bpffs mounted there.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class MapBench {

    public static final int CAPACITY = 16_384;
    public static final int ENTRIES = 10_000;

    private Path dir;
    private Path pin;
    private PolicyMap map;
    private DecisionTable table;
    private long expires;
    private int next;
    private byte[] keys;
    private byte[] values;

    @Setup
    public void setUp() throws Exception {
        String bpffs = System.getenv("MTHP4J_BENCH_BPFFS");
        if (bpffs == null || Bpffs.mountCovering(Path.of(bpffs)) == null) {
            throw new IllegalStateException("set MTHP4J_BENCH_BPFFS to a mounted bpffs (bench/run does), was " + bpffs);
        }
        dir = Path.of(bpffs, "mthp4j-bench-" + ProcessHandle.current().pid());
        pin = dir.resolve("policy");
        map = PolicyMap.createPinned(pin, CAPACITY);
        table = DecisionTable.uniform(-1L);
        expires = Long.MAX_VALUE;
        ByteBuffer k = ByteBuffer.allocate(ENTRIES * PolicyMap.KEY_SIZE).order(ByteOrder.nativeOrder());
        for (int i = 1; i <= ENTRIES; i++) {
            k.putLong(i);
            map.put(i, table, 1, expires); // fill: every timed update overwrites, as in the C loop
        }
        keys = k.array();
        values = new byte[ENTRIES * PolicyMap.VALUE_SIZE];
        java.util.Arrays.fill(values, (byte) 0xff);
        ByteBuffer v = ByteBuffer.wrap(values).order(ByteOrder.nativeOrder());
        for (int i = 0; i < ENTRIES; i++) {
            v.putInt(i * PolicyMap.VALUE_SIZE, PolicyMap.LAYOUT_VERSION);
        }
        next = 1;
    }

    @Benchmark
    public int update() {
        int key = next;
        map.put(key, table, key, expires);
        next = key == ENTRIES ? 1 : key + 1;
        return key;
    }

    /**
     * Diagnostic: the same syscall through JNA with the value left as it is in the native buffer (only the key is
     * written): what {@link #update} costs without encoding the decision, to tell JNA and syscall cost from ours.
     */
    @Benchmark
    public int updateRaw() {
        int key = next;
        BpfMap m = map.bpfMap();
        synchronized (m) {
            m.keyBuffer().setLong(0, key);
            int e = m.updateFromBuffers(BpfMap.BPF_ANY);
            if (e != 0) {
                throw m.elemFailure(BpfAttr.MAP_UPDATE_ELEM, e, null);
            }
        }
        next = key == ENTRIES ? 1 : key + 1;
        return key;
    }

    @Benchmark
    public int batch() {
        int done = map.bpfMap().updateBatch(keys, values, ENTRIES, 0);
        if (done != ENTRIES) {
            throw new IllegalStateException("BPF_MAP_UPDATE_BATCH applied " + done + " of " + ENTRIES);
        }
        return done;
    }

    @TearDown
    public void tearDown() throws Exception {
        try {
            if (map != null) {
                map.close();
            }
        } finally {
            PolicyMap.unpin(pin);
            Files.deleteIfExists(dir);
        }
    }
}
