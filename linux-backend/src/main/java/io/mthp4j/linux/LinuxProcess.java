package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.kernel.ThpProcess;

/**
 * This JVM's THP controls: {@code prctl(PR_SET/GET_THP_DISABLE)} (kernel-semantics.md §9, including
 * {@code PR_THP_DISABLE_EXCEPT_ADVISED}, which Debian 12's headers lack: linux-interfaces.md §3.14) and
 * {@code madvise} on its own memory (§7). The prctl state is per process: it applies to every thread of the
 * JVM and is inherited by children.
 */
final class LinuxProcess implements ThpProcess {

    private final int pid = (int) ProcessHandle.current().pid();

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public ProcessThpMode thpMode() {
        Sys.requireAvailable();
        int r = Libc.prctl(ProcessThpMode.PR_GET_THP_DISABLE, 0, 0, 0, 0);
        if (r < 0) {
            throw Sys.failure("prctl(PR_GET_THP_DISABLE)", "pid " + pid, Sys.errno(), null);
        }
        return ProcessThpMode.ofPrGetValue(r);
    }

    @Override
    public void setThpMode(ProcessThpMode mode) {
        Sys.requireAvailable();
        int r = Libc.prctl(ProcessThpMode.PR_SET_THP_DISABLE, mode.prSetArg2(), mode.prSetArg3(), 0, 0);
        if (r < 0) {
            int e = Sys.errno();
            throw Sys.failure("prctl(PR_SET_THP_DISABLE, " + mode.prSetArg2() + ", " + mode.prSetArg3() + ")", "pid " + pid, e,
                    Sys.is(e, Errno.EINVAL) && mode == ProcessThpMode.DISABLED_EXCEPT_ADVISED
                            ? "this kernel has no PR_THP_DISABLE_EXCEPT_ADVISED (added in Linux 6.18)" : null);
        }
    }

    @Override
    public void madvise(long start, long length, Madvice advice) {
        Sys.requireAvailable();
        if (Libc.madvise(start, length, advice.value()) != 0) {
            int e = Sys.errno();
            String object = String.format("[0x%x, 0x%x) of pid %d", start, start + length, pid);
            throw Sys.failure("madvise(MADV_" + advice + ")", object, e, madviseHint(e, advice));
        }
    }

    private static String madviseHint(int e, Madvice advice) {
        if (Sys.is(e, Errno.EINVAL)) {
            return advice == Madvice.COLLAPSE
                    ? "MADV_COLLAPSE refused: the range has MADV_NOHUGEPAGE, the process disabled THP completely (prctl), or the start is not page-aligned"
                    : "the start is not page-aligned, or this kernel does not know the advice";
        }
        if (Sys.is(e, Errno.ENOMEM)) {
            return "part of the range is not mapped";
        }
        if (Sys.is(e, Errno.EAGAIN)) {
            return "transient: the kernel could not collapse now (busy pages); retry";
        }
        return null;
    }
}
