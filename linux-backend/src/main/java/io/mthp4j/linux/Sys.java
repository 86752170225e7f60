package io.mthp4j.linux;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;

/** Helpers around {@link Libc}: errno capture, typed failures, small native buffers. */
final class Sys {

    private Sys() {
    }

    private static final ThreadLocal<Memory> TIMESPEC = ThreadLocal.withInitial(() -> new Memory(16));

    /** Throws a clear error where the native layer cannot work (not Linux, unknown architecture). */
    static void requireAvailable() {
        if (!Libc.AVAILABLE) {
            throw new UnsupportedOperationException("the Linux backend cannot run here: " + Libc.UNAVAILABLE_REASON);
        }
    }

    /** The errno of the last failed native call on this thread. Call it first thing after the failure. */
    static int errno() {
        return Native.getLastError();
    }

    static KernelException failure(String operation, String object, int errno, String hint) {
        return new KernelException(operation, object, errno, hint, null);
    }

    static boolean is(int errno, Errno e) {
        return errno == e.value();
    }

    /** {@code clock_gettime(CLOCK_BOOTTIME)} in nanoseconds, allocation-free after the first call per thread. */
    static long bootTimeNanos() {
        Memory ts = TIMESPEC.get();
        if (Libc.clock_gettime(Libc.CLOCK_BOOTTIME, com.sun.jna.Pointer.nativeValue(ts)) != 0) {
            throw failure("clock_gettime(CLOCK_BOOTTIME)", "this process", errno(), null);
        }
        return ts.getLong(0) * 1_000_000_000L + ts.getLong(8);
    }

    /** The address of a JNA buffer, for the {@code long} pointer slots. */
    static long address(com.sun.jna.Pointer p) {
        return com.sun.jna.Pointer.nativeValue(p);
    }

    /** {@code open(2)}; throws with the path and the errno. */
    static int open(String path, int flags, String operation) {
        int fd = Libc.open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            int e = errno();
            throw failure(operation, path, e, Sys.is(e, Errno.ENOENT) ? "it does not exist" : null);
        }
        return fd;
    }

    /** Writes all of {@code bytes} in one {@code write(2)}; returns the count or throws with the errno. */
    static long writeOnce(int fd, byte[] bytes, int length, String operation, String object, String hintOnEinval) {
        try (Memory buf = new Memory(Math.max(1, length))) {
            buf.write(0, bytes, 0, length);
            long n = Libc.write(fd, address(buf), length);
            if (n < 0) {
                int e = errno();
                throw failure(operation, object, e, Sys.is(e, Errno.EINVAL) ? hintOnEinval : null);
            }
            return n;
        }
    }

    static void closeQuietly(int fd) {
        if (fd >= 0) {
            Libc.close(fd);
        }
    }
}
