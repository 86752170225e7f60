package io.mthp4j.core.kernel;

import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;

/** One process's THP controls: the prctl state (kernel-semantics.md §9) and madvise (§7). */
public interface ThpProcess {

    /** Its pid. */
    int pid();

    /** {@code prctl(PR_GET_THP_DISABLE)}. */
    ProcessThpMode thpMode();

    /** {@code prctl(PR_SET_THP_DISABLE, ...)} with the arguments of {@code mode}. */
    void setThpMode(ProcessThpMode mode);

    /**
     * {@code madvise(start, length, advice)} on this process's memory.
     *
     * @throws io.mthp4j.api.KernelException EINVAL (unaligned, or MADV_COLLAPSE refused), ENOMEM (unmapped)
     */
    void madvise(long start, long length, Madvice advice);
}
