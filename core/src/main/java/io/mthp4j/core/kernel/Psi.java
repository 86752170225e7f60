package io.mthp4j.core.kernel;

import io.mthp4j.api.CgroupRef;

/** PSI memory-pressure triggers (kernel-semantics.md §10.3, linux-interfaces.md §5.2). */
public interface Psi {

    /** Which line a trigger watches. */
    enum Kind {
        SOME, FULL;

        /** The word written to the pressure file. */
        public String word() {
            return this == SOME ? "some" : "full";
        }
    }

    /**
     * Registers {@code "<kind> <thresholdMicros> <windowMicros>"} on the cgroup's {@code memory.pressure}
     * (the root cgroup: the system-wide file) and returns the live trigger.
     *
     * @throws io.mthp4j.api.KernelException EINVAL for a window or threshold the kernel rejects (without
     *         CAP_SYS_RESOURCE the window must be a multiple of 2 s), EOPNOTSUPP if PSI is off
     */
    PsiTrigger register(CgroupRef cgroup, Kind kind, long thresholdMicros, long windowMicros);
}
