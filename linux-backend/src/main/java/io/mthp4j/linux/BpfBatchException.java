package io.mthp4j.linux;

import io.mthp4j.api.KernelException;

/**
 * A batch command that failed part-way (linux-interfaces.md §2.4): {@link #completed()} elements were done
 * before the error (E2BIG on update: the map filled up), or -1 when the kernel did not say (EINVAL: bad flags,
 * {@code count} untouched).
 */
public final class BpfBatchException extends KernelException {

    private static final long serialVersionUID = 1L;

    private final int completed;

    BpfBatchException(String operation, String object, int errno, String hint, int completed) {
        super(operation, object, errno, hint + (completed >= 0 ? "; " + completed + " element(s) were done before the error"
                : "; the kernel did not say how many were done"), null);
        this.completed = completed;
    }

    /** Elements done before the error, or -1 if unknown. */
    public int completed() {
        return completed;
    }
}
