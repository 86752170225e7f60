package io.mthp4j.api;

/**
 * Linux error numbers mthp4j meets, with the generic (x86-64, arm64) values and short descriptions.
 * {@link #ofValue(int)} maps a raw errno back; unknown numbers have no constant, and
 * {@link KernelException} keeps the raw value for them.
 */
public enum Errno {
    EPERM(1, "operation not permitted"),
    ENOENT(2, "no such file, directory or entry"),
    ESRCH(3, "no such process"),
    EINTR(4, "interrupted system call"),
    EIO(5, "I/O error"),
    E2BIG(7, "argument list too long"),
    EBADF(9, "bad file descriptor"),
    EAGAIN(11, "try again"),
    ENOMEM(12, "out of memory"),
    EACCES(13, "permission denied"),
    EFAULT(14, "bad address"),
    EBUSY(16, "device or resource busy"),
    EEXIST(17, "already exists"),
    ENODEV(19, "no such device"),
    ENOTDIR(20, "not a directory"),
    EISDIR(21, "is a directory"),
    EINVAL(22, "invalid argument"),
    EMFILE(24, "too many open files"),
    ENOSPC(28, "no space left"),
    EROFS(30, "read-only file system"),
    ERANGE(34, "result out of range"),
    ENOSYS(38, "function not implemented"),
    ENOTEMPTY(39, "directory not empty"),
    EOVERFLOW(75, "value too large"),
    EOPNOTSUPP(95, "operation not supported"),
    ETIMEDOUT(110, "timed out"),
    ENOTSUPP(524, "operation not supported (kernel-internal)");

    private final int value;
    private final String description;

    Errno(int value, String description) {
        this.value = value;
        this.description = description;
    }

    /** The errno number. */
    public int value() {
        return value;
    }

    /** A short description, as {@code strerror} would give. */
    public String description() {
        return description;
    }

    /** The constant for {@code value}, or {@code null} if mthp4j does not name it. */
    public static Errno ofValue(int value) {
        for (Errno errno : values()) {
            if (errno.value == value) {
                return errno;
            }
        }
        return null;
    }
}
