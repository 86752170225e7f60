package io.mthp4j.bench;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.MemoryHeadroom;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.kernel.ThpSysfs;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeKernelConfig;
import io.mthp4j.fake.FakeProcess;
import java.time.Duration;
import java.util.Arrays;

/**
 * Target {@code event_to_publish_p99_us}: real time from the moment the controller's loop sees a PSI event
 * (its {@link PsiTrigger#await} returns true) to the moment the decision for the stalled cgroup is in the sink,
 * on the fake kernel with the controller running on its own thread ({@link PolicyController#start()}).
 *
 * <p>The host has {@value #OTHERS} other cgroups with a task each, and the stalled cgroup is the last in scan
 * order, so every sample includes a full scan. Each round a process in the stalled cgroup writes 32 MiB of fresh
 * memory over a 16 MiB {@code memory.high} with swap; the fake's pressure model charges the reclaim as stall
 * ({@link #RECLAIM_NANOS_PER_PAGE} per page, enough for mthp_ext's 100 ms threshold), and the virtual clock
 * advances in 500 ms steps, each time until the loop is parked again, so the trigger fires when the fake's PSI
 * averaging work evaluates it (kernel-semantics.md §10.3, §10.4). The clock is virtual; the latency is measured
 * with {@link System#nanoTime()} on the controller's thread, which both sees the event and publishes.
 */
final class EventLatency {

    static final int OTHERS = 100;
    static final long RECLAIM_NANOS_PER_PAGE = 50_000;
    static final int WARMUP = 1_000;
    static final int SAMPLES = 1_000;

    /** What one run measured. */
    record Result(long[] nanos, int events, int rounds, int cgroups) {
        double percentile(double p) {
            long[] sorted = nanos.clone();
            Arrays.sort(sorted);
            int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1000.0;
        }
    }

    private EventLatency() {
    }

    /** The default pressure model with 4 GiB of swap and a reclaim cost that makes 32 MiB over the limit a stall. */
    private static FakeKernelConfig.PressureModel pressureModel() {
        FakeKernelConfig.PressureModel d = FakeKernelConfig.PressureModel.DEFAULT;
        return new FakeKernelConfig.PressureModel(4L << 30, RECLAIM_NANOS_PER_PAGE, d.swapInNanosPerPage(),
                d.reclaimBatchPages(), d.hz(), d.mthpSwapIn());
    }

    static Result run() throws InterruptedException {
        FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder()
                .pressure(pressureModel()).build());
        ScanBench.tree(kernel, OTHERS, 10);
        CgroupRef load = kernel.cgroups().mkdir("/load");
        kernel.writeFile("/sys/fs/cgroup/load/memory.high", "16M");
        FakeProcess worker = kernel.spawn(load);
        Timed timed = new Timed(kernel, load.id(), WARMUP + SAMPLES);
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        int rounds = 0;
        try (PolicyController controller = PolicyController.builder(timed, policy).build()) {
            controller.start();
            for (int round = 0; timed.count() < WARMUP + SAMPLES; round++, rounds++) {
                if (round > 3 * (WARMUP + SAMPLES)) {
                    throw new IllegalStateException("only " + timed.count() + " events reached the controller in " + round
                            + " rounds; the pressure scenario does not produce PSI events");
                }
                long addr = worker.mmapAnonymous(32L << 20);
                worker.write(addr, 32L << 20); // over memory.high: reclaim, counted as stall
                worker.munmap(addr, 32L << 20);
                // Let virtual time pass in steps, each time until the loop has handled what the step caused
                // (an event is scanned and published, a timeout scanned, or nothing: it is parked again).
                for (int step = 0; step < 4; step++) {
                    kernel.clock().advance(Duration.ofMillis(500));
                    timed.settle();
                }
            }
            if (!policy.pressuredTable().equals(controller.decision(load.id())) && timed.pressuredSeen == 0) {
                throw new IllegalStateException("the stalled cgroup was never decided as pressured");
            }
            return new Result(Arrays.copyOfRange(timed.latencies, WARMUP, WARMUP + SAMPLES), (int) controller.events(), rounds,
                    OTHERS + 2);
        }
    }

    /** The fake kernel with clocks on the trigger's {@code await} and on the sink's {@code publish}. */
    private static final class Timed implements KernelBackend {
        final FakeKernel kernel;
        final long target;
        final long[] latencies;
        private int n;
        volatile long seenAt;
        volatile boolean waiting;
        volatile Thread loop;
        volatile int pressuredSeen;
        private final DecisionTable pressured;

        Timed(FakeKernel kernel, long target, int capacity) {
            this.kernel = kernel;
            this.target = target;
            this.latencies = new long[capacity];
            this.pressured = PressurePolicy.mthpExt(kernel.geometry()).build().pressuredTable();
        }

        synchronized int count() {
            return n;
        }

        /**
         * Waits (really, at most 1 s) until the loop is parked in the trigger's wait with nothing to publish. A
         * wake-up it has not acted on yet is not lost: its event stays pending and is seen at the next wake.
         */
        void settle() throws InterruptedException {
            long deadline = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < deadline) {
                Thread t = loop;
                if (waiting && seenAt == 0 && t != null && t.getState() == Thread.State.WAITING) {
                    return;
                }
                Thread.sleep(0, 20_000);
            }
            throw new IllegalStateException("the controller loop did not come back to its wait within 1 s");
        }

        private synchronized void published(long now, DecisionTable table) {
            long seen = seenAt;
            if (seen != 0) {
                if (n < latencies.length) {
                    latencies[n++] = now - seen;
                }
                seenAt = 0;
                if (table.equals(pressured)) {
                    pressuredSeen++;
                }
            }
        }

        @Override
        public PageGeometry geometry() {
            return kernel.geometry();
        }

        @Override
        public ThpSysfs thp() {
            return kernel.thp();
        }

        @Override
        public CgroupTree cgroups() {
            return kernel.cgroups();
        }

        @Override
        public Psi psi() {
            return (cgroup, kind, threshold, window) -> {
                PsiTrigger t = kernel.psi().register(cgroup, kind, threshold, window);
                return new PsiTrigger() {
                    @Override
                    public boolean await(Duration timeout) throws InterruptedException {
                        loop = Thread.currentThread();
                        waiting = true;
                        boolean event = t.await(timeout);
                        waiting = false;
                        if (event) {
                            seenAt = System.nanoTime();
                        }
                        return event;
                    }

                    @Override
                    public void close() {
                        t.close();
                    }
                };
            };
        }

        @Override
        public ThpProcess currentProcess() {
            return kernel.currentProcess();
        }

        @Override
        public MemoryHeadroom headroom() {
            return kernel.headroom();
        }

        @Override
        public DecisionSink decisions() {
            DecisionSink sink = kernel.decisions();
            return new DecisionSink() {
                @Override
                public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
                    sink.publish(cgroupId, table, generation, expiresAtBootNanos);
                    if (cgroupId == target) {
                        published(System.nanoTime(), table);
                    }
                }

                @Override
                public void withdraw(long cgroupId) {
                    sink.withdraw(cgroupId);
                }
            };
        }

        @Override
        public long bootTimeNanos() {
            return kernel.bootTimeNanos();
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Result r = run();
        System.out.printf("events %d, rounds %d, p50 %.1f us, p99 %.1f us, max %.1f us%n", r.events(), r.rounds(),
                r.percentile(50), r.percentile(99), r.percentile(100));
    }
}
