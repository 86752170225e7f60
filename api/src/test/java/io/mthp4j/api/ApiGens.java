package io.mthp4j.api;

import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.core.RandomnessSource;

/** Shared QuickTheories generators for the api tests. */
final class ApiGens {

    /** Examples per property (the build passes {@code mthp4j.property.examples}; CI uses at least 10,000). */
    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 1000);

    /** Every preset geometry. */
    static final List<PageGeometry> PRESETS = List.of(PageGeometry.X86_64_4K, PageGeometry.ARM64_4K,
            PageGeometry.ARM64_16K, PageGeometry.ARM64_64K);

    private ApiGens() {
    }

    static Gen<PageGeometry> presets() {
        return arbitrary().pick(PRESETS);
    }

    /** A random subset of {@code allowed}. */
    static Gen<Long> subsetOf(long allowed) {
        return longs().all().map(bits -> bits & allowed);
    }

    /**
     * Random settings a kernel can be in: every per-size value random, but under top-level
     * {@code shmem_enabled = force} no non-PMD size is {@code inherit} (the kernel refuses to get there).
     */
    static Gen<ThpSettings> settings(PageGeometry geometry) {
        return rs -> settingsLike(rs, ThpSettings.defaults(geometry), 100);
    }

    /**
     * Random pairs of reachable settings of one geometry; the second is a mutation of the first whose fields
     * change with a per-example probability, so pairs range from identical to unrelated.
     */
    static Gen<Change> settingsPairs(Gen<PageGeometry> geometries) {
        return rs -> {
            PageGeometry geometry = geometries.generate(rs);
            ThpSettings from = settingsLike(rs, ThpSettings.defaults(geometry), 100);
            int percent = integers().between(0, 100).generate(rs);
            ThpSettings to = settingsLike(rs, from, percent);
            return new Change(from, to);
        };
    }

    /** A change of settings, for the writes property. */
    record Change(ThpSettings from, ThpSettings to) {
    }

    /** {@code base} with every field replaced by a random value with a chance of {@code percent} %. */
    static ThpSettings settingsLike(RandomnessSource rs, ThpSettings base, int percent) {
        PageGeometry g = base.geometry();
        ThpSettings s = base;
        if (change(rs, percent)) {
            s = s.withEnabled(arbitrary().enumValues(ThpEnabled.class).generate(rs));
        }
        if (change(rs, percent)) {
            s = s.withDefrag(arbitrary().enumValues(ThpDefrag.class).generate(rs));
        }
        if (change(rs, percent)) {
            s = s.withShmemEnabled(arbitrary().enumValues(ShmemEnabled.class).generate(rs));
        }
        if (change(rs, percent)) {
            s = s.withUseZeroPage(!s.useZeroPage());
        }
        if (change(rs, percent)) {
            s = s.withShrinkUnderused(!s.shrinkUnderused());
        }
        for (long rest = g.allAnonOrders(); rest != 0; rest &= rest - 1) {
            if (change(rs, percent)) {
                s = s.withAnonSizeEnabled(Long.numberOfTrailingZeros(rest),
                        arbitrary().enumValues(AnonSizeEnabled.class).generate(rs));
            }
        }
        for (long rest = g.allFileOrders(); rest != 0; rest &= rest - 1) {
            if (change(rs, percent)) {
                s = s.withShmemSizeEnabled(Long.numberOfTrailingZeros(rest),
                        arbitrary().enumValues(ShmemSizeEnabled.class).generate(rs));
            }
        }
        if (s.shmemEnabled() == ShmemEnabled.FORCE) {
            long bad = s.shmemInherit() & ~Orders.bit(g.pmdOrder());
            for (long rest = bad; rest != 0; rest &= rest - 1) {
                s = s.withShmemSizeEnabled(Long.numberOfTrailingZeros(rest), arbitrary()
                        .pick(ShmemSizeEnabled.ALWAYS, ShmemSizeEnabled.WITHIN_SIZE, ShmemSizeEnabled.ADVISE,
                                ShmemSizeEnabled.NEVER)
                        .generate(rs));
            }
        }
        Khugepaged k = s.khugepaged();
        int maxPtes = g.pmdPages() - 1;
        if (change(rs, percent)) {
            k = k.withDefrag(!k.defrag());
        }
        if (change(rs, percent)) {
            k = k.withPagesToScan(uint(rs, 1));
        }
        if (change(rs, percent)) {
            k = k.withScanSleepMillis(uint(rs, 0));
        }
        if (change(rs, percent)) {
            k = k.withAllocSleepMillis(uint(rs, 0));
        }
        if (change(rs, percent)) {
            k = k.withMaxPtesNone(integers().between(0, maxPtes).generate(rs));
        }
        if (change(rs, percent)) {
            k = k.withMaxPtesSwap(integers().between(0, maxPtes).generate(rs));
        }
        if (change(rs, percent)) {
            k = k.withMaxPtesShared(integers().between(0, maxPtes).generate(rs));
        }
        return s.withKhugepaged(k);
    }

    /** An unsigned int tunable: mostly small values, sometimes the extremes. */
    private static long uint(RandomnessSource rs, long min) {
        return switch (integers().between(0, 3).generate(rs)) {
            case 0 -> min;
            case 1 -> Khugepaged.UINT_MAX;
            case 2 -> longs().between(min, 100_000).generate(rs);
            default -> longs().between(min, Khugepaged.UINT_MAX).generate(rs);
        };
    }

    private static boolean change(RandomnessSource rs, int percent) {
        return integers().between(0, 99).generate(rs) < percent;
    }
}
