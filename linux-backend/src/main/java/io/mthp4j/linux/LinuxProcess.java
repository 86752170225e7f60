package io.mthp4j.linux;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.kernel.ThpProcess;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * This JVM's THP controls: {@code prctl(PR_SET/GET_THP_DISABLE)} (kernel-semantics.md §9, including
 * {@code PR_THP_DISABLE_EXCEPT_ADVISED}, which Debian 12's headers lack: linux-interfaces.md §3.14) and
 * {@code madvise} on its own memory (§7). The prctl state is per process: it applies to every thread of the
 * JVM and is inherited by children.
 */
final class LinuxProcess implements ThpProcess {

    private static final Path SELF_CGROUP = Path.of("/proc/self/cgroup");
    private static final Path SELF_STATUS = Path.of("/proc/self/status");

    private final int pid = (int) ProcessHandle.current().pid();
    private final LinuxCgroups cgroups;

    LinuxProcess(LinuxCgroups cgroups) {
        this.cgroups = Objects.requireNonNull(cgroups, "cgroups");
    }

    @Override
    public int pid() {
        return pid;
    }

    /** The {@code 0::<path>} line of {@code /proc/self/cgroup}, resolved in the cgroup2 mount. */
    @Override
    public CgroupRef cgroup() {
        return cgroups.at(v2Path(ProcText.read(SELF_CGROUP, "no procfs?"), cgroups.v2Root().toString()));
    }

    /** The cgroup v2 path in a {@code /proc/<pid>/cgroup} text. */
    static String v2Path(String procCgroup, String v2Mount) {
        for (String line : procCgroup.split("\n")) {
            if (line.startsWith("0::")) {
                String path = line.substring(3).strip();
                if (path.endsWith(" (deleted)")) {
                    throw new KernelException("read", SELF_CGROUP.toString(), Errno.ENOENT.value(),
                            "this process's cgroup " + path + " was removed", null);
                }
                return path.isEmpty() ? "/" : path;
            }
        }
        throw new KernelException("read", SELF_CGROUP.toString(), Errno.ENOENT.value(), "no cgroup v2 line (0::) in it: the"
                + " process is in no cgroup of the v2 hierarchy at " + v2Mount, null);
    }

    @Override
    public long anonShmemBytes() {
        Map<String, Long> kb = statusKb(ProcText.read(SELF_STATUS, "no procfs?"));
        return (kb.getOrDefault("RssAnon", 0L) + kb.getOrDefault("RssShmem", 0L)) * 1024;
    }

    /** The {@code Name:  123 kB} lines of {@code /proc/<pid>/status}, in kB. */
    static Map<String, Long> statusKb(String status) {
        Map<String, Long> out = new HashMap<>();
        for (String line : status.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.endsWith(" kB")) {
                try {
                    out.put(line.substring(0, colon), Long.parseLong(line.substring(colon + 1, line.length() - 3).strip()));
                } catch (NumberFormatException ignored) {
                    // not a size
                }
            }
        }
        return out;
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
