package io.mthp4j.cli.sim;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A host to simulate on the fake kernel: its memory, the workloads (processes in cgroups, each with memory
 * regions and an access pattern) and the conditions to run them under (sets of cgroup limits). Parsed from the
 * file format of docs/cli.md by {@link ScenarioParser}; immutable.
 *
 * @param name           what the tables call it
 * @param duration       virtual time each run lasts
 * @param step           the workload slice: each process does a step's share of its operations, then the
 *                       controller's loop gets its turn
 * @param memoryBytes    physical memory of the host
 * @param swapBytes      swap space (0: anonymous memory cannot be reclaimed)
 * @param seed           seed of every random choice (same seed, same output)
 * @param capSysResource whether the controller may use PSI windows that are not a multiple of 2 s
 * @param policy         the pressure policies' parameters
 * @param workloads      the processes
 * @param conditions     what each configuration runs under, in order
 */
public record Scenario(String name, Duration duration, Duration step, long memoryBytes, long swapBytes, long seed,
                       boolean capSysResource, PolicyParameters policy, List<Workload> workloads, List<Condition> conditions) {

    public Scenario {
        Objects.requireNonNull(name, "name");
        workloads = List.copyOf(workloads);
        conditions = List.copyOf(conditions);
    }

    /** The number of steps of one run. */
    public long steps() {
        return (duration.toNanos() + step.toNanos() - 1) / step.toNanos();
    }

    /** The same scenario with another seed. */
    public Scenario withSeed(long value) {
        return new Scenario(name, duration, step, memoryBytes, swapBytes, value, capSysResource, policy, workloads, conditions);
    }

    /** The same scenario with another duration. */
    public Scenario withDuration(Duration value) {
        return new Scenario(name, value, step, memoryBytes, swapBytes, seed, capSysResource, policy, workloads, conditions);
    }

    /** The same scenario with only the given conditions. */
    public Scenario withConditions(List<Condition> value) {
        return new Scenario(name, duration, step, memoryBytes, swapBytes, seed, capSysResource, policy, workloads, value);
    }

    /**
     * The pressure policies' parameters (docs/policies.md; the sample CLI's -t -i -o -m).
     *
     * @param threshold  full stall per scan that counts as pressure
     * @param interval   the PSI window asked for; a scan at least every 2 × interval
     * @param order      the highest order allowed when not pressured (-1: the PMD order)
     * @param minMemory  anon + shmem below which a cgroup is small
     * @param hysteresis quiet scans before huge orders come back (0: none, as the series)
     */
    public record PolicyParameters(Duration threshold, Duration interval, int order, long minMemory, int hysteresis) {
        /** The sample CLI's defaults. */
        public static final PolicyParameters DEFAULT =
                new PolicyParameters(Duration.ofMillis(100), Duration.ofSeconds(1), -1, 16L << 20, 0);
    }

    /**
     * One kind of process, {@code count} times. A {@code {i}} in the cgroup path is replaced by the instance's
     * number (0, 1, …), so every instance can have its own cgroup.
     */
    public record Workload(String name, String cgroup, int count, List<Region> regions) {
        public Workload {
            regions = List.copyOf(regions);
        }

        /** The cgroup of instance {@code i}. */
        public String cgroupOf(int i) {
            return cgroup.replace("{i}", Integer.toString(i));
        }
    }

    /** Private anonymous memory, or shared anonymous memory (shmem). */
    public enum Kind { ANON, SHMEM }

    /** The madvise applied to a region before it is touched. */
    public enum Advice { NONE, HUGEPAGE, NOHUGEPAGE }

    /** Which page each operation writes. */
    public enum Pattern {
        /** Every page in turn, wrapping around. */
        SEQUENTIAL,
        /** A page chosen uniformly. */
        RANDOM,
        /** {@code hotProbability} of the operations go to the first {@code hotFraction} of the region. */
        HOT
    }

    /**
     * A memory region of a process.
     *
     * @param name           its name in the tables
     * @param kind           anon or shmem
     * @param bytes          its size
     * @param advice         madvise before use
     * @param pattern        access pattern
     * @param hotFraction    for {@link Pattern#HOT}: the share of the region that is hot
     * @param hotProbability for {@link Pattern#HOT}: the share of operations that go there
     * @param opsPerSecond   page writes per second of virtual time
     * @param prefill        whether the whole region is written once at the start (a data set being loaded)
     */
    public record Region(String name, Kind kind, long bytes, Advice advice, Pattern pattern, double hotFraction,
                         double hotProbability, double opsPerSecond, boolean prefill) {
    }

    /**
     * A named set of limits the configurations run under.
     *
     * @param name        its name
     * @param limits      cgroup limits
     * @param hostMemory  the host's memory under this condition, 0 for the scenario's (a smaller host is global
     *                    pressure, as the seed's hugetlb reservation that left 2 GiB free)
     */
    public record Condition(String name, List<Limit> limits, long hostMemory) {
        public Condition {
            limits = List.copyOf(limits);
        }
    }

    /** The host memory under {@code condition}. */
    public long memoryBytes(Condition condition) {
        return condition.hostMemory() != 0 ? condition.hostMemory() : memoryBytes;
    }

    /**
     * A cgroup limit.
     *
     * @param cgroup the cgroup path ({@code /kv})
     * @param file   {@code memory.high} or {@code memory.max}
     * @param bytes  the limit
     */
    public record Limit(String cgroup, String file, long bytes) {
    }
}
