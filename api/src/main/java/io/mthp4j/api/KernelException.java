package io.mthp4j.api;

import java.util.Objects;

/**
 * A kernel call failed with an errno: a sysfs write, a prctl, a madvise, a PSI trigger, a bpf(2) command.
 * Both the real kernel and the fake one throw it, so code written against one runs unchanged on the other.
 * The message names the operation, the object it touched, the errno name and what to do where known,
 * e.g. {@code write "sometimes" on /sys/kernel/mm/transparent_hugepage/enabled: EINVAL (invalid argument);
 * accepted: always madvise never}.
 */
public class KernelException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String object;
    private final int errnoValue;

    /**
     * @param operation what was attempted, e.g. {@code write "x"} or {@code PR_SET_THP_DISABLE}
     * @param object    what it was attempted on, e.g. a file path, a pid, a map pin
     * @param errno     the error
     * @param hint      what it means here or what to do; may be null
     */
    public KernelException(String operation, String object, Errno errno, String hint) {
        this(operation, object, errno.value(), hint, null);
    }

    /** As {@link #KernelException(String, String, Errno, String)} with a raw errno value and a cause. */
    public KernelException(String operation, String object, int errnoValue, String hint, Throwable cause) {
        super(message(operation, object, errnoValue, hint), cause);
        this.operation = Objects.requireNonNull(operation, "operation");
        this.object = Objects.requireNonNull(object, "object");
        this.errnoValue = errnoValue;
    }

    private static String message(String operation, String object, int errnoValue, String hint) {
        return operation + " on " + object + ": " + errnoName(errnoValue) + (hint == null || hint.isEmpty() ? "" : "; " + hint);
    }

    private static String errnoName(int value) {
        Errno errno = Errno.ofValue(value);
        return errno == null ? "errno " + value : errno.name() + " (" + errno.description() + ")";
    }

    /** The error, or {@code null} if its number has no {@link Errno} constant (see {@link #errnoValue()}). */
    public Errno errno() {
        return Errno.ofValue(errnoValue);
    }

    /** The raw errno number. */
    public int errnoValue() {
        return errnoValue;
    }

    /** What was attempted. */
    public String operation() {
        return operation;
    }

    /** What it was attempted on. */
    public String object() {
        return object;
    }
}
