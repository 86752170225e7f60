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
 */
public record FakeKernelConfig(PageGeometry geometry, long totalMemoryBytes, ThpSettings initialSettings,
                               boolean capSysResource, long seed) {

    public FakeKernelConfig {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(initialSettings, "initialSettings");
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
        return new FakeKernelConfig(geometry, 24L << 30, ThpSettings.defaults(geometry), false, 1);
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

        private Builder(FakeKernelConfig c) {
            geometry = c.geometry;
            totalMemoryBytes = c.totalMemoryBytes;
            initialSettings = c.initialSettings;
            capSysResource = c.capSysResource;
            seed = c.seed;
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

        public FakeKernelConfig build() {
            return new FakeKernelConfig(geometry, totalMemoryBytes, initialSettings, capSysResource, seed);
        }
    }
}
