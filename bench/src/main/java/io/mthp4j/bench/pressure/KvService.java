package io.mthp4j.bench.pressure;

import io.mthp4j.runtime.Mthp;
import io.mthp4j.runtime.PolicySpec;
import io.mthp4j.runtime.Registration;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The JVM workload of the real-kernel pressure evaluation (issue 10): a small key-value store shaped like Redis's
 * data for {@code redis-benchmark -r 3000000 -n 3000000 -d 1024 -t set}, run as a child JVM by the evaluation
 * harness under THP {@code always}, {@code never} and {@code always} + mthp4j:
 *
 * <pre>
 * java -Xmx256m -XX:MaxDirectMemorySize=8g -cp bench/target/benchmarks.jar io.mthp4j.bench.pressure.KvService [options]
 * </pre>
 *
 * <p><b>The data.</b> {@code --ops} sets of {@code --value-size} bytes on keys drawn uniformly from
 * {@code [0, --keyspace)}; a new key gets a slot appended to off-heap slabs of 64 MiB allocated on demand, a key
 * seen again is overwritten in place ({@link KvStore}), so the resident set grows as keys appear, like Redis's.
 * The default run sets about 1.9 M distinct keys: about 1.9 GiB of slots. Values come from a 32 MiB pool of
 * seeded random bytes at a random offset, so no two are alike. {@code --random-share F} (default 0.5) of each
 * value is random and the rest zeros: random bytes do not compress and zero runs compress to almost nothing,
 * so under zram the data compresses about 2:1, roughly like typical service data, instead of not at all
 * ({@code F = 1}) or almost entirely (redis-benchmark's own payload is one repeated byte; {@code F = 0} is
 * closest to that). The key and value sequence is fixed by {@code --seed} and {@code --threads}.
 *
 * <p><b>Phases.</b> (1) Warm-up: {@code --warmup-ops} sets on keys in {@code [0, 100000)} to compile the
 * path, then the store is reset (index cleared, appending starts again at the first slab; the slabs are kept and
 * reused). (2) {@code ready} on stdout, then it waits for a line {@code go} on stdin (the harness drops caches and
 * takes its counters in between; {@code --no-wait} skips this). (3) The measured sets, each timed with
 * {@code System.nanoTime} into a {@link LatencyHistogram} (one per thread, merged). (4) One line on stdout,
 * {@code result {"ops":…,"seconds":…,"opsPerSec":…,"p50Ms":…,"p95Ms":…,"p99Ms":…,"maxMs":…,"keys":…,
 * "slabs":…,"policy":"…","switches":…,"mode":"…",…}}, and exit 0. {@code keys} is the distinct keys of the
 * measured phase, {@code slabs} every slab allocated (warm-up's included), {@code mode} the registration's prctl
 * mode at the end ({@code NONE}, {@code DISABLED}, {@code DISABLED_EXCEPT_ADVISED}) or {@code none} without a
 * registration; a few more fields follow (threads, keyspace, valueSize, randomShare, seed, enforcement, and
 * slabAllocMs: the time the measured phase spent allocating new slabs, which {@code allocateDirect} zeroes, so
 * that is the first touch of their memory: most of the run's time on our machine).
 *
 * <p><b>Self-registration.</b> {@code --policy SPEC} other than {@code none} registers the policy
 * ({@link Mthp#register(String)}, syntax of {@link PolicySpec}) before the warm-up and closes it after the
 * measured phase. The runtime's log (each mode switch) goes to
 * stderr through slf4j-simple, configured at the start of {@link #main} (a {@code -D} on the command line wins).
 *
 * <p><b>Progress.</b> Every second one stderr line {@code kv: t=<seconds since start> ops=<measured sets done>
 * keys=<distinct keys in the store> rss=<RssAnon of /proc/self/status, e.g. 2104320kB>}; {@code ops} is 0 before
 * the measured phase.
 *
 * <p><b>Heap.</b> The index ({@code long[keyspace]}: 24 MB for 3 M keys), the value pool (32 MiB) and one
 * histogram per thread (57 KiB); nothing on the heap grows with the operations. A bad option is one line on
 * stderr and exit 2; a failure during the run (e.g. direct memory exhausted) exit 1.
 */
public final class KvService {

    static final int POOL_BYTES = 32 << 20;
    static final int WARMUP_KEYS = 100_000;
    static final int MAX_VALUE_BYTES = 1 << 20;
    static final int MAX_THREADS = 256;

    static final String USAGE = """
            usage: java [-Xmx256m -XX:MaxDirectMemorySize=8g] -cp benchmarks.jar io.mthp4j.bench.pressure.KvService [options]

            A key-value store shaped like Redis's data for redis-benchmark -r KEYSPACE -n OPS -d VALUE_SIZE -t set:
            warm-up, 'ready' on stdout, waits for 'go' on stdin, the measured sets, one 'result {json}' line on stdout.

              --ops N             measured sets (default 3000000)
              --keyspace N        keys drawn uniformly from [0, N) (default 3000000)
              --value-size BYTES  value size, 0 .. 1048576 (default 1024)
              --random-share F    share of each value that is random bytes, the rest zeros, 0 .. 1 (default 0.5)
              --threads N         worker threads, 1 .. 256 (default 1, as Redis)
              --warmup-ops N      warm-up sets on keys [0, 100000) before 'ready' (default 100000)
              --seed N            seed of the key and value sequence (default 1)
              --policy SPEC       mthp4j self-registration: none (default), mthp-ext[:threshold=100ms,min=16M,...],
                                  tva-aware[:...], headroom[:high=80,low=70,quiet=3,order=N]
              --no-wait           do not wait for 'go' after 'ready'
              --help              this text

            stderr: one progress line a second (kv: t=S ops=N keys=N rss=NkB) and the mthp4j runtime's log.
            exit: 0 done, 1 failed while running, 2 bad options.
            """;

    private KvService() {
    }

    public static void main(String[] args) {
        configureLogging();
        int status = run(args, System.in, System.out, System.err);
        System.out.flush();
        System.err.flush();
        System.exit(status);
    }

    /** slf4j-simple's settings, unless given on the command line: INFO and up on stderr, with the time of day. */
    static void configureLogging() {
        setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The whole service; returns the exit status. */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        long start = System.nanoTime();
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("kv: " + e.getMessage() + " (--help lists the options)");
            return 2;
        }
        if (o.help()) {
            out.print(USAGE);
            out.flush();
            return 0;
        }
        long heapNeeded = 8L * o.keyspace() + POOL_BYTES;
        long heapMax = Runtime.getRuntime().maxMemory();
        if (heapNeeded > heapMax * 3 / 4) {
            err.println("kv: --keyspace " + o.keyspace() + " needs " + (heapNeeded >> 20) + " MiB of heap (index and value pool);"
                    + " -Xmx allows " + (heapMax >> 20) + " MiB: raise -Xmx to at least " + (heapNeeded * 4 / 3 >> 20) + "m");
            return 2;
        }
        Progress progress = new Progress(start, err);
        progress.start();
        try {
            return new KvService.Run(o, in, out, err, progress).call();
        } finally {
            progress.stop();
        }
    }

    /** One run of the phases. */
    private static final class Run {
        private final Options o;
        private final InputStream in;
        private final PrintStream out;
        private final PrintStream err;
        private final Progress progress;

        Run(Options o, InputStream in, PrintStream out, PrintStream err, Progress progress) {
            this.o = o;
            this.in = in;
            this.out = out;
            this.err = err;
            this.progress = progress;
        }

        int call() {
            Registration registration;
            try {
                registration = o.policy().register();
            } catch (RuntimeException e) {
                err.println("kv: cannot register " + o.policy().text() + ": " + e.getMessage());
                return 1;
            }
            String result;
            try (Registration r = registration) {
                if (r != null) {
                    err.println("kv: registered " + o.policy().text() + " (" + r.enforcement() + ", mode " + r.mode() + ")");
                }
                result = phases(r);
            } catch (WorkerFailure e) {
                err.println("kv: " + e.getMessage());
                return 1;
            }
            if (result == null) {
                return 1;
            }
            out.println("result " + result);
            out.flush();
            return 0;
        }

        /** Warm-up, ready/go, the measured phase; the result's JSON, or null when stdin closed before go. */
        private String phases(Registration r) {
            SplittableRandom root = new SplittableRandom(o.seed());
            byte[] pool = new byte[POOL_BYTES];
            root.split().nextBytes(pool);
            KvStore store = new KvStore(o.keyspace(), o.valueSize(), o.threads() > 1);
            progress.store = store;
            int randomLength = (int) Math.round(o.randomShare() * o.valueSize());

            SplittableRandom[] warmRandom = splits(root, o.threads());
            SplittableRandom[] runRandom = splits(root, o.threads());
            int warmKeys = Math.min(WARMUP_KEYS, o.keyspace());
            runPhase(store, pool, randomLength, warmKeys, o.warmupOps(), warmRandom, null);
            store.reset();

            out.println("ready");
            out.flush();
            if (o.waitForGo() && !awaitGo()) {
                err.println("kv: stdin closed before 'go'");
                return null;
            }

            AtomicLong[] done = new AtomicLong[o.threads()];
            for (int i = 0; i < done.length; i++) {
                done[i] = new AtomicLong();
            }
            progress.done = done;
            long t0 = System.nanoTime();
            LatencyHistogram h = runPhase(store, pool, randomLength, o.keyspace(), o.ops(), runRandom, done);
            double seconds = (System.nanoTime() - t0) / 1e9;

            String mode = r == null ? "none" : r.mode().name();
            long switches = r == null ? 0 : r.switches();
            String enforcement = r == null ? "none" : r.enforcement().name();
            return String.format(Locale.ROOT, "{\"ops\":%d,\"seconds\":%.3f,\"opsPerSec\":%.1f,\"p50Ms\":%.6f,\"p95Ms\":%.6f,"
                            + "\"p99Ms\":%.6f,\"maxMs\":%.6f,\"keys\":%d,\"slabs\":%d,\"policy\":\"%s\",\"switches\":%d,"
                            + "\"mode\":\"%s\",\"threads\":%d,\"keyspace\":%d,\"valueSize\":%d,\"randomShare\":%s,\"seed\":%d,"
                            + "\"enforcement\":\"%s\",\"slabAllocMs\":%.1f}",
                    h.count(), seconds, h.count() / seconds, ms(h.valueAt(50)), ms(h.valueAt(95)), ms(h.valueAt(99)), ms(h.max()),
                    store.keys(), store.slabs(), json(o.policy().text()), switches, mode, o.threads(), o.keyspace(),
                    o.valueSize(), Double.toString(o.randomShare()), o.seed(), enforcement, store.allocationNanos() / 1e6);
        }

        /** Runs {@code ops} sets split over the threads; returns the merged latencies. */
        private LatencyHistogram runPhase(KvStore store, byte[] pool, int randomLength, int keys, long ops,
                                          SplittableRandom[] random, AtomicLong[] done) {
            int n = random.length;
            LatencyHistogram[] histograms = new LatencyHistogram[n];
            Thread[] threads = new Thread[n];
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < n; i++) {
                long share = ops / n + (i < ops % n ? 1 : 0);
                LatencyHistogram h = new LatencyHistogram();
                histograms[i] = h;
                SplittableRandom rng = random[i];
                AtomicLong counter = done != null ? done[i] : new AtomicLong();
                threads[i] = new Thread(() -> {
                    try {
                        work(store, pool, randomLength, keys, share, rng, h, counter);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }, "kv-worker-" + i);
                threads[i].start();
            }
            for (Thread t : threads) {
                joinUninterruptibly(t);
            }
            Throwable t = failure.get();
            if (t instanceof OutOfMemoryError) {
                throw new WorkerFailure("out of memory with " + store.slabs() + " slabs of 64 MiB (" + store.keys()
                        + " keys): " + t.getMessage() + "; raise -XX:MaxDirectMemorySize (the default run needs 2g)", t);
            }
            if (t != null) {
                t.printStackTrace(err);
                throw new WorkerFailure("a worker failed: " + t, t);
            }
            LatencyHistogram merged = histograms[0];
            for (int i = 1; i < n; i++) {
                merged.add(histograms[i]);
            }
            return merged;
        }

        /** Reads stdin until a line {@code go}; false at the end of input. */
        private boolean awaitGo() {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            try {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    if (line.strip().equals("go")) {
                        return true;
                    }
                    if (!line.isBlank()) {
                        err.println("kv: ignored \"" + line.strip() + "\" on stdin (waiting for go)");
                    }
                }
            } catch (IOException e) {
                err.println("kv: reading stdin failed: " + e.getMessage());
            }
            return false;
        }
    }

    /** The hot loop: one thread's sets, each timed. */
    static void work(KvStore store, byte[] pool, int randomLength, int keys, long ops, SplittableRandom random,
                     LatencyHistogram latencies, AtomicLong done) {
        int offsets = pool.length - randomLength + 1;
        for (long i = 0; i < ops; i++) {
            long key = random.nextInt(keys);
            int offset = random.nextInt(offsets);
            long t0 = System.nanoTime();
            store.set(key, pool, offset, randomLength);
            latencies.record(System.nanoTime() - t0);
            if ((i & 1023) == 1023) {
                done.setOpaque(i + 1);
            }
        }
        done.setRelease(ops);
    }

    private static SplittableRandom[] splits(SplittableRandom root, int n) {
        SplittableRandom[] r = new SplittableRandom[n];
        for (int i = 0; i < n; i++) {
            r[i] = root.split();
        }
        return r;
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** A worker died; the run stops with status 1. */
    private static final class WorkerFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WorkerFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The progress line, once a second on a daemon thread. */
    private static final class Progress {
        private static final Path STATUS = Path.of("/proc/self/status");
        private final long start;
        private final PrintStream err;
        private final Thread thread;
        volatile KvStore store;
        volatile AtomicLong[] done;
        private volatile boolean stopped;

        Progress(long start, PrintStream err) {
            this.start = start;
            this.err = err;
            this.thread = new Thread(this::loop, "kv-progress");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() {
            stopped = true;
            thread.interrupt();
        }

        private void loop() {
            long next = start;
            while (!stopped) {
                next += 1_000_000_000L;
                long wait;
                while ((wait = next - System.nanoTime()) > 0) {
                    try {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    } catch (InterruptedException e) {
                        if (stopped) {
                            return;
                        }
                    }
                }
                if (stopped) {
                    return;
                }
                long ops = 0;
                AtomicLong[] d = done;
                if (d != null) {
                    for (AtomicLong a : d) {
                        ops += a.getOpaque();
                    }
                }
                KvStore s = store;
                err.printf(Locale.ROOT, "kv: t=%.1f ops=%d keys=%d rss=%s%n", (System.nanoTime() - start) / 1e9, ops,
                        s == null ? 0 : s.keys(), rssAnon());
            }
        }

        /** {@code RssAnon} of /proc/self/status without the space, e.g. {@code 2104320kB}; {@code ?} if unreadable. */
        static String rssAnon() {
            try {
                for (String line : Files.readAllLines(STATUS)) {
                    if (line.startsWith("RssAnon:")) {
                        return line.substring("RssAnon:".length()).replaceAll("\\s", "");
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or /proc not mounted
            }
            return "?";
        }
    }

    /** What {@code --policy} names: nothing, or a {@link PolicySpec} ({@code headroom}, {@code mthp-ext:high=80}, ...). */
    record PolicyChoice(String text, Supplier<Registration> registrar) {

        static final PolicyChoice NONE = new PolicyChoice("none", () -> null);

        /** The registration, or null for {@code none}. */
        Registration register() {
            return registrar.get();
        }

        static PolicyChoice parse(String text) {
            String t = text.strip();
            if (t.equalsIgnoreCase("none")) {
                return NONE;
            }
            PolicySpec spec;
            try {
                spec = PolicySpec.parse(t);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad --policy \"" + t + "\": " + e.getMessage() + "; or none", e);
            }
            if (spec.isOptOut()) {
                throw new IllegalArgumentException("bad --policy \"" + t + "\": " + spec.name()
                        + " is a prctl mode, not a policy (start the JVM with 'mthp4j launch " + spec.name() + "' instead)");
            }
            return new PolicyChoice(t, () -> Mthp.register(t));
        }
    }

    /** The command line. */
    record Options(long ops, int keyspace, int valueSize, double randomShare, int threads, long warmupOps, long seed,
                   PolicyChoice policy, boolean waitForGo, boolean help) {

        /** @throws IllegalArgumentException one line naming the bad option and what it accepts */
        static Options parse(String[] args) {
            long ops = 3_000_000;
            long keyspace = 3_000_000;
            long valueSize = 1024;
            double randomShare = 0.5;
            long threads = 1;
            long warmupOps = 100_000;
            long seed = 1;
            PolicyChoice policy = PolicyChoice.NONE;
            boolean wait = true;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String name = a;
                String value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                switch (name) {
                    case "--help", "-h" -> {
                        return new Options(ops, (int) keyspace, (int) valueSize, randomShare, (int) threads, warmupOps, seed,
                                policy, wait, true);
                    }
                    case "--no-wait" -> {
                        if (value != null) {
                            throw new IllegalArgumentException("--no-wait takes no value");
                        }
                        wait = false;
                    }
                    case "--ops", "--keyspace", "--value-size", "--random-share", "--threads", "--warmup-ops", "--seed",
                         "--policy" -> {
                        if (value == null) {
                            if (i + 1 >= args.length) {
                                throw new IllegalArgumentException(name + " needs a value");
                            }
                            value = args[++i];
                        }
                        switch (name) {
                            case "--ops" -> ops = number(name, value, 1, Long.MAX_VALUE, "a whole number, 1 or more");
                            case "--keyspace" -> keyspace = number(name, value, 1, Integer.MAX_VALUE - 8,
                                    "a whole number, 1 .. " + (Integer.MAX_VALUE - 8));
                            case "--value-size" -> valueSize = number(name, value, 0, MAX_VALUE_BYTES, "bytes, 0 .. " + MAX_VALUE_BYTES);
                            case "--threads" -> threads = number(name, value, 1, MAX_THREADS, "1 .. " + MAX_THREADS);
                            case "--warmup-ops" -> warmupOps = number(name, value, 0, Long.MAX_VALUE, "a whole number, 0 or more");
                            case "--seed" -> seed = number(name, value, Long.MIN_VALUE, Long.MAX_VALUE, "a whole number");
                            case "--random-share" -> {
                                try {
                                    randomShare = Double.parseDouble(value.strip());
                                } catch (NumberFormatException e) {
                                    randomShare = Double.NaN;
                                }
                                if (!(randomShare >= 0 && randomShare <= 1)) {
                                    throw new IllegalArgumentException("bad --random-share \"" + value + "\": a number 0 .. 1");
                                }
                            }
                            case "--policy" -> policy = PolicyChoice.parse(value);
                            default -> throw new AssertionError(name);
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown option \"" + a + "\"");
                }
            }
            return new Options(ops, (int) keyspace, (int) valueSize, randomShare, (int) threads, warmupOps, seed, policy,
                    wait, false);
        }

        private static long number(String name, String value, long min, long max, String accepted) {
            long n;
            try {
                n = Long.parseLong(value.strip().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad " + name + " \"" + value + "\": " + accepted, e);
            }
            if (n < min || n > max) {
                throw new IllegalArgumentException("bad " + name + " \"" + value + "\": " + accepted);
            }
            return n;
        }
    }
}
