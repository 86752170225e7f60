package io.mthp4j.fake;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ThpSettings;
import java.util.Objects;

/**
 * The immutable configuration of a {@link FakeKernel}: page geometry, memory size, initial THP settings,
 * whether triggers are privileged, and the seed for every random choice. Start from a preset and change it
 * with {@link #toBuilder()}.
 *
 * @param geometry            page geometry
 * @param totalMemoryBytes    physical memory
 * @param initialSettings     THP settings at boot (default: {@link ThpSettings#defaults})
 * @param capSysResource      whether the caller has CAP_SYS_RESOURCE; without it PSI windows must be a
 *                            multiple of 2 s, as for root on our machines (linux-interfaces.md §5.2)
 * @param seed                seed for every random choice
 * @param pressure            the parameters of the memory-pressure model (docs/fidelity.md)
 */
public record FakeKernelConfig(PageGeometry geometry, long totalMemoryBytes, ThpSettings initialSettings,
                               boolean capSysResource, long seed, PressureModel pressure) {

    /**
     * The memory-pressure model's parameters: what is modeled rather than emulated. Times are virtual.
     *
     * @param swapBytes            swap space (0: no swap, so anonymous memory cannot be reclaimed)
     * @param reclaimNanosPerPage  stall charged per page reclaimed (direct or memory.high reclaim)
     * @param swapInNanosPerPage   stall charged per page swapped in (a refault of the working set)
     * @param reclaimBatchPages    pages reclaimed per round at least (SWAP_CLUSTER_MAX is 32)
     * @param hz                   CONFIG_HZ, for the memory.high throttling penalty in jiffies
     * @param mthpSwapIn           whether swap-in may bring back mTHP folios whole (alloc_swap_folio): true for a
     *                             synchronous swap device such as zram while zswap has never been enabled, as on
     *                             our machines' pressure set-up; false for a swap file (readahead, base pages)
     */
    public record PressureModel(long swapBytes, long reclaimNanosPerPage, long swapInNanosPerPage,
                                long reclaimBatchPages, int hz, boolean mthpSwapIn) {

        /** No swap; 2 us per reclaimed page, 20 us per swapped-in page; batches of 32; HZ 250 (Debian); zram. */
        public static final PressureModel DEFAULT = new PressureModel(0, 2_000, 20_000, 32, 250, true);

        public PressureModel {
            if (swapBytes < 0 || reclaimNanosPerPage < 0 || swapInNanosPerPage < 0) {
                throw new IllegalArgumentException("swap size and costs must not be negative: swapBytes=" + swapBytes
                        + ", reclaimNanosPerPage=" + reclaimNanosPerPage + ", swapInNanosPerPage=" + swapInNanosPerPage);
            }
            if (reclaimBatchPages < 1 || hz < 100 || hz > 1000 || 1_000_000_000 % hz != 0) {
                throw new IllegalArgumentException("reclaimBatchPages must be >= 1 (was " + reclaimBatchPages
                        + ") and hz in 100..1000 dividing 10^9, as PSI's jiffies need (was " + hz + ")");
            }
        }

        public PressureModel withSwapBytes(long value) {
            return new PressureModel(value, reclaimNanosPerPage, swapInNanosPerPage, reclaimBatchPages, hz, mthpSwapIn);
        }

        public PressureModel withMthpSwapIn(boolean value) {
            return new PressureModel(swapBytes, reclaimNanosPerPage, swapInNanosPerPage, reclaimBatchPages, hz, value);
        }
    }

    public FakeKernelConfig {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(initialSettings, "initialSettings");
        Objects.requireNonNull(pressure, "pressure");
        if (!initialSettings.geometry().equals(geometry)) {
            throw new IllegalArgumentException("initial settings are for " + initialSettings.geometry() + ", not " + geometry);
        }
        if (totalMemoryBytes < geometry.pmdSize()) {
            throw new IllegalArgumentException("total memory must hold at least one PMD folio (" + geometry.pmdSize()
                    + " bytes), was " + totalMemoryBytes);
        }
    }

    /** x86-64, 4 KiB pages, 24 GiB, our machines' boot settings, no CAP_SYS_RESOURCE. */
    public static FakeKernelConfig x86_64() {
        return of(PageGeometry.X86_64_4K);
    }

    /** arm64 with 4 KiB pages. */
    public static FakeKernelConfig arm64_4k() {
        return of(PageGeometry.ARM64_4K);
    }

    /** arm64 with 64 KiB pages (PMD order 13). */
    public static FakeKernelConfig arm64_64k() {
        return of(PageGeometry.ARM64_64K);
    }

    private static FakeKernelConfig of(PageGeometry geometry) {
        return new FakeKernelConfig(geometry, 24L << 30, ThpSettings.defaults(geometry), false, 1, PressureModel.DEFAULT);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds a changed configuration; validation happens in {@link #build()}. */
    public static final class Builder {
        private PageGeometry geometry;
        private long totalMemoryBytes;
        private ThpSettings initialSettings;
        private boolean capSysResource;
        private long seed;
        private PressureModel pressure;

        private Builder(FakeKernelConfig c) {
            geometry = c.geometry;
            totalMemoryBytes = c.totalMemoryBytes;
            initialSettings = c.initialSettings;
            capSysResource = c.capSysResource;
            seed = c.seed;
            pressure = c.pressure;
        }

        public Builder totalMemoryBytes(long value) {
            totalMemoryBytes = value;
            return this;
        }

        public Builder initialSettings(ThpSettings value) {
            initialSettings = value;
            return this;
        }

        public Builder capSysResource(boolean value) {
            capSysResource = value;
            return this;
        }

        public Builder seed(long value) {
            seed = value;
            return this;
        }

        public Builder pressure(PressureModel value) {
            pressure = value;
            return this;
        }

        /** Swap space for the pressure model (0: none). */
        public Builder swapBytes(long value) {
            pressure = pressure.withSwapBytes(value);
            return this;
        }

        public FakeKernelConfig build() {
            return new FakeKernelConfig(geometry, totalMemoryBytes, initialSettings, capSysResource, seed, pressure);
        }
    }
}
