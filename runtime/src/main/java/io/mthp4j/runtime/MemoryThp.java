package io.mthp4j.runtime;

import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.kernel.ThpProcess;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A process's THP mode in the words of systemd's {@code MemoryTHP=} (linux-interfaces.md §9.4), applied with
 * prctl; children inherit it across fork and exec (kernel-semantics.md §9).
 */
public enum MemoryThp {
    /** Keep what the parent has: no prctl. */
    INHERIT(null),
    /** {@code PR_SET_THP_DISABLE, 1, 0}: no THP at all, not even with MADV_HUGEPAGE or MADV_COLLAPSE. */
    DISABLE(ProcessThpMode.DISABLED),
    /** {@code PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED}: THP only where MADV_HUGEPAGE was given. */
    MADVISE(ProcessThpMode.DISABLED_EXCEPT_ADVISED),
    /** {@code PR_SET_THP_DISABLE, 0}: back to the system settings when the parent had disabled THP. */
    SYSTEM(ProcessThpMode.NONE);

    private final ProcessThpMode mode;

    MemoryThp(ProcessThpMode mode) {
        this.mode = mode;
    }

    /** The prctl mode it sets, or {@code null} for {@link #INHERIT}. */
    public ProcessThpMode mode() {
        return mode;
    }

    /** Sets the mode on {@code process} (nothing for {@link #INHERIT}). */
    public void apply(ThpProcess process) {
        if (mode != null) {
            process.setThpMode(mode);
        }
    }

    /** The systemd word: {@code inherit}, {@code disable}, {@code madvise}, {@code system}. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a systemd word.
     *
     * @throws IllegalArgumentException naming the accepted words
     */
    public static MemoryThp parse(String word) {
        for (MemoryThp m : values()) {
            if (m.word().equals(word)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown THP mode \"" + word + "\"; use one of "
                + Arrays.stream(values()).map(MemoryThp::word).collect(Collectors.joining(", ")) + " (as systemd's MemoryTHP=)");
    }
}
