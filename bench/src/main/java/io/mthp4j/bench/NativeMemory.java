package io.mthp4j.bench;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import java.lang.reflect.Field;
import sun.misc.Unsafe;

/**
 * This JVM's own anonymous memory, for the real side of {@link FaultBench}: glibc's mmap, madvise and munmap by
 * JNA direct mapping, and one-byte stores through {@link Unsafe} so the touch loop costs the faults and
 * nothing else (a JNA call per page would add a JNI transition to every fault).
 */
final class NativeMemory {

    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final Unsafe UNSAFE;

    static {
        if (!Platform.isLinux()) {
            throw new UnsupportedOperationException("the real-kernel benchmarks need Linux, not " + System.getProperty("os.name"));
        }
        Native.register(NativeMemory.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private NativeMemory() {
    }

    private static native long mmap(long addr, long length, int prot, int flags, int fd, long offset);

    private static native int munmap(long addr, long length);

    private static native int madvise(long addr, long length, int advice);

    private static native int getpagesize();

    static void requirePageSize(long expected) {
        if (getpagesize() != expected) {
            throw new UnsupportedOperationException("the fault benchmark compares 4 KiB faults; this kernel's page size is "
                    + getpagesize());
        }
    }

    /** {@code length} bytes of fresh anonymous memory with MADV_NOHUGEPAGE: 4 KiB pages only. */
    static long mapNoHugepage(long length) {
        long a = mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == -1) {
            throw new KernelException("mmap", length + " bytes, anonymous private", Native.getLastError(),
                    "not enough memory for the benchmark?", null);
        }
        if (madvise(a, length, Madvice.NOHUGEPAGE.value()) != 0) {
            int e = Native.getLastError();
            munmap(a, length);
            throw new KernelException("madvise(MADV_NOHUGEPAGE)", String.format("[0x%x, +%d)", a, length), e, null, null);
        }
        return a;
    }

    /** One byte written in every page: a write fault per page on fresh memory. */
    static void touch(long address, long length, long page) {
        for (long o = 0; o < length; o += page) {
            UNSAFE.putByte(address + o, (byte) 1);
        }
    }

    static void unmap(long address, long length) {
        if (munmap(address, length) != 0) {
            throw new KernelException("munmap", String.format("[0x%x, +%d)", address, length), Native.getLastError(), null, null);
        }
    }
}
