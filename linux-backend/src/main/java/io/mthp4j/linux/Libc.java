package io.mthp4j.linux;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * glibc entry points through JNA direct mapping (no varargs, no per-call reflection; linux-interfaces.md §3).
 * Pointers and {@code size_t} are passed as {@code long}: the backend runs on 64-bit Linux only
 * ({@link Arch}). Read {@link Native#getLastError()} right after a call that failed, before any other JNA
 * call on the thread (§3.3); {@link Sys} does that.
 */
final class Libc {

    static final boolean AVAILABLE;
    static final String UNAVAILABLE_REASON;

    static {
        String reason = null;
        if (!Platform.isLinux()) {
            reason = "not Linux (os.name " + System.getProperty("os.name") + ")";
        } else {
            try {
                Arch.current();
                Native.register(Libc.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
            } catch (UnsupportedOperationException | UnsatisfiedLinkError e) {
                reason = e.getMessage();
            }
        }
        UNAVAILABLE_REASON = reason;
        AVAILABLE = reason == null;
    }

    private Libc() {
    }

    // open(2) flags and modes (asm-generic, same on x86-64 and arm64)
    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;

    // mmap(2)
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final long MAP_FAILED = -1L;

    // poll(2)
    static final short POLLIN = 0x1;
    static final short POLLPRI = 0x2;
    static final short POLLERR = 0x8;
    static final short POLLNVAL = 0x20;

    static final int CLOCK_BOOTTIME = 7;

    static native long syscall(long number, long a1, long a2, long a3);

    static native int prctl(int option, long arg2, long arg3, long arg4, long arg5);

    static native int madvise(long addr, long length, int advice);

    static native long mmap(long addr, long length, int prot, int flags, int fd, long offset);

    static native int munmap(long addr, long length);

    static native int poll(long fds, long nfds, int timeoutMillis);

    static native int open(String path, int flags, int mode);

    static native long write(int fd, long buf, long count);

    static native long read(int fd, long buf, long count);

    static native int close(int fd);

    static native int pipe2(long fds, int flags);

    static native int clock_gettime(int clock, long timespec);

    static native int mount(String source, String target, String fsType, long flags, long data);

    static native int umount2(String target, int flags);

    static native int getpagesize();

    // eventfd(2) and inotify(7) flags: EFD_/IN_CLOEXEC = O_CLOEXEC, EFD_/IN_NONBLOCK = O_NONBLOCK
    static final int IN_MODIFY = 0x2;

    static native int eventfd(int initval, int flags);

    static native int inotify_init1(int flags);

    static native int inotify_add_watch(int fd, String path, int mask);
}
