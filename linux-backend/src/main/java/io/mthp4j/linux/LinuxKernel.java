package io.mthp4j.linux;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.core.kernel.KernelBackend;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The real kernel this JVM runs on, as a {@link KernelBackend}: THP sysfs, the cgroup v2 tree, PSI triggers,
 * this process's prctl and madvise, and decisions published to a pinned BPF map. Also the Linux-only views:
 * counters, the folio census, the capability probe.
 *
 * <pre>{@code
 * try (LinuxKernel kernel = LinuxKernel.open()) {
 *     System.out.print(kernel.probe().report());
 * }
 * }</pre>
 *
 * The policy map is opened (or created and pinned) on the first {@link #decisions()} call; closing the kernel
 * closes its descriptor but leaves the pin, so a BPF program keeps reading it.
 */
public final class LinuxKernel implements KernelBackend, AutoCloseable {

    private final PageGeometry geometry;
    private final LinuxThpSysfs thp;
    private final LinuxCgroups cgroups;
    private final LinuxPsi psi;
    private final LinuxHeadroom headroom;
    private final LinuxProcess self;
    private final Path policyPin;
    private final int policyCapacity;
    private LinuxDecisionSink sink;

    private LinuxKernel(Builder b) {
        Sys.requireAvailable();
        this.geometry = b.geometry != null ? LinuxThpSysfs.checkGeometry(b.thpRoot, b.geometry) : LinuxThpSysfs.detectGeometry(b.thpRoot);
        this.thp = new LinuxThpSysfs(b.thpRoot, geometry);
        this.cgroups = LinuxCgroups.detect(b.v1Hierarchical ? LinuxCgroups.V1Stats.HIERARCHICAL : LinuxCgroups.V1Stats.LOCAL);
        this.psi = new LinuxPsi(cgroups, Capabilities.hasCapability(Capabilities.CAP_SYS_RESOURCE));
        this.headroom = new LinuxHeadroom(cgroups, b.headroomPollInterval);
        this.self = new LinuxProcess(cgroups);
        this.policyPin = b.policyPin;
        this.policyCapacity = b.policyCapacity;
    }

    /** The kernel with the defaults: detected geometry, policy map at {@link PolicyMap#DEFAULT_PIN}. */
    public static LinuxKernel open() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether this JVM can use the backend at all (Linux, a known architecture, JNA loaded); else why not. */
    public static String unavailableReason() {
        return Libc.UNAVAILABLE_REASON;
    }

    /** Options. */
    public static final class Builder {
        private Path thpRoot = Path.of(ThpSettings.ROOT);
        private PageGeometry geometry;
        private Path policyPin = PolicyMap.DEFAULT_PIN;
        private int policyCapacity = 4096;
        private boolean v1Hierarchical = true;
        private java.time.Duration headroomPollInterval = java.time.Duration.ofMillis(250);

        private Builder() {
        }

        /** Where the policy map is pinned (inside a bpffs mount). Default {@link PolicyMap#DEFAULT_PIN}. */
        public Builder policyPin(Path pin) {
            this.policyPin = Objects.requireNonNull(pin, "pin");
            return this;
        }

        /** {@code max_entries} of a policy map this kernel creates (one entry per cgroup). Default 4096. */
        public Builder policyCapacity(int entries) {
            if (entries <= 0) {
                throw new IllegalArgumentException("policy capacity must be positive, was " + entries);
            }
            this.policyCapacity = entries;
            return this;
        }

        /** The page geometry, if it should not be detected. */
        public Builder geometry(PageGeometry geometry) {
            this.geometry = Objects.requireNonNull(geometry, "geometry");
            return this;
        }

        /**
         * On cgroup v1 memory hosts: read {@code total_*} (hierarchical, default, like v2) or the cgroup's own
         * {@code memory.stat} fields (linux-interfaces.md §4 leaves this open).
         */
        public Builder v1HierarchicalMemoryStats(boolean hierarchical) {
            this.v1Hierarchical = hierarchical;
            return this;
        }

        /**
         * How often a headroom watch reads usage where the kernel does not notify (the host's MemAvailable, v2
         * {@code memory.current}) and re-checks the limit (v1). Default 250 ms.
         */
        public Builder headroomPollInterval(java.time.Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("the headroom poll interval must be positive, was " + value);
            }
            this.headroomPollInterval = value;
            return this;
        }

        public LinuxKernel build() {
            return new LinuxKernel(this);
        }
    }

    @Override
    public PageGeometry geometry() {
        return geometry;
    }

    @Override
    public io.mthp4j.core.kernel.ThpSysfs thp() {
        return thp;
    }

    @Override
    public io.mthp4j.core.kernel.CgroupTree cgroups() {
        return cgroups;
    }

    @Override
    public io.mthp4j.core.kernel.Psi psi() {
        return psi;
    }

    /** Usage against hard limits: v2 memory.max/high, v1 limit_in_bytes (threshold eventfd), MemAvailable for the root. */
    @Override
    public io.mthp4j.core.kernel.MemoryHeadroom headroom() {
        return headroom;
    }

    @Override
    public io.mthp4j.core.kernel.ThpProcess currentProcess() {
        return self;
    }

    LinuxCgroups linuxCgroups() {
        return cgroups;
    }

    LinuxPsi linuxPsi() {
        return psi;
    }

    LinuxProcess self() {
        return self;
    }

    /** The sink over the pinned policy map; opens it, or creates and pins it, on first use. */
    @Override
    public synchronized LinuxDecisionSink decisions() {
        if (sink == null) {
            sink = new LinuxDecisionSink(PolicyMap.openOrCreate(policyPin, policyCapacity));
        }
        return sink;
    }

    /** Where the policy map is pinned. */
    public Path policyPin() {
        return policyPin;
    }

    @Override
    public long bootTimeNanos() {
        return Sys.bootTimeNanos();
    }

    /** The THP counters now ({@code /proc/vmstat thp_*} and per-size stats). */
    public ThpCounters counters() {
        return ThpCounters.read(thp, thp.root());
    }

    /** Which folio sizes back {@code [start, start + length)} of this process. */
    public FolioCensus census(long start, long length) {
        return FolioCensus.of(self.pid(), start, length, geometry);
    }

    /** What this host supports. */
    public Capabilities probe() {
        return Capabilities.probe(this);
    }

    /** Closes the policy map's descriptor; the pin stays. */
    @Override
    public synchronized void close() {
        if (sink != null) {
            sink.map().close();
            sink = null;
        }
    }
}
