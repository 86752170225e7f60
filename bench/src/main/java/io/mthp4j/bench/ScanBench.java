package io.mthp4j.bench;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.fake.FakeKernel;
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
 * One scan of the policy controller (kernel-semantics.md §15.6) over {@value #CGROUPS} cgroups on the fake
 * kernel, each holding a task so mthp_ext reads its stall and memory: walk, read, decide, publish. Steady state
 * (every decision already made, each scan republishes with a new generation and expiry). Target
 * {@code scan_10k_cgroups_ms}.
 *
 * <p>Alone: {@code java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main ScanBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgs = {"-Xms2g", "-Xmx2g"})
public class ScanBench {

    static final int CGROUPS = 10_000;

    private PolicyController controller;

    @Setup
    public void setUp() {
        FakeKernel kernel = FakeKernel.create();
        controller = PolicyController.builder(kernel, PressurePolicy.mthpExt(kernel.geometry()).build()).build();
        tree(kernel, CGROUPS, 100);
        controller.scanOnce();
        if (controller.trackedCgroups() != CGROUPS + 1 || controller.errors() != 0) {
            throw new IllegalStateException("the scan saw " + controller.trackedCgroups() + " cgroups with " + controller.errors()
                    + " errors; expected " + (CGROUPS + 1) + " and none");
        }
    }

    /** {@code count} cgroups below the root, {@code fanout} per parent, two levels, a task in each. */
    static CgroupRef tree(FakeKernel kernel, int count, int fanout) {
        CgroupRef last = null;
        int made = 0;
        for (int i = 0; made < count; i++) {
            CgroupRef parent = kernel.cgroups().mkdir("/p" + i);
            kernel.spawn(parent);
            last = parent;
            made++;
            for (int j = 1; j < fanout && made < count; j++) {
                last = kernel.cgroups().mkdir("/p" + i + "/c" + j);
                kernel.spawn(last);
                made++;
            }
        }
        return last;
    }

    @Benchmark
    public long scan() {
        controller.scanOnce();
        return controller.scans();
    }

    @TearDown
    public void tearDown() {
        controller.close();
    }
}
