package io.mthp4j.cli;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.linux.LinuxKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the real-kernel commands share: opening the kernel with clear errors, cgroup paths, decisions as text. */
final class Host {

    private Host() {
    }

    /**
     * Opens this machine's kernel.
     *
     * @throws CliException exit 4 where the backend cannot run (not Linux, unknown architecture, no cgroup v2)
     */
    static LinuxKernel open(Path pin) {
        String why = LinuxKernel.unavailableReason();
        if (why != null) {
            throw new CliException(ExitCode.UNSUPPORTED, "needs the Linux kernel: " + why
                    + "; 'mthp4j simulate' runs anywhere");
        }
        try {
            LinuxKernel.Builder b = LinuxKernel.builder();
            if (pin != null) {
                b.policyPin(pin);
            }
            return b.build();
        } catch (KernelException e) {
            throw fromKernel(e);
        }
    }

    /** A kernel error as the command reports it: exit 4 when a privilege or a kernel feature is missing. */
    static CliException fromKernel(KernelException e) {
        Errno errno = e.errno();
        boolean host = errno == Errno.EPERM || errno == Errno.EACCES || errno == Errno.EOPNOTSUPP
                || errno == Errno.ENOSYS || (errno == Errno.ENOENT && e.operation().startsWith("find "));
        String hint = errno == Errno.EPERM || errno == Errno.EACCES ? " (run it as root, or with CAP_BPF and CAP_SYS_ADMIN)" : "";
        return new CliException(host ? ExitCode.UNSUPPORTED : ExitCode.FAILURE, e.getMessage() + hint, e);
    }

    /**
     * The cgroup named by {@code arg}: a path in the cgroup v2 hierarchy ({@code /kv}) or its directory
     * ({@code /sys/fs/cgroup/unified/kv}).
     */
    static CgroupRef cgroup(CgroupTree tree, String arg) {
        String path = cgroupPath(arg);
        for (CgroupRef c : tree.walk(tree.root())) {
            if (c.path().equals(path)) {
                return c;
            }
        }
        throw CliException.usage("no cgroup " + path + " in the cgroup v2 hierarchy" + (path.equals(arg) ? "" : " (from " + arg + ")")
                + "; give a path such as /system.slice or its directory under the cgroup2 mount");
    }

    /** A cgroup v2 path from a path or a directory under a cgroup2 mount (from /proc/self/mounts). */
    static String cgroupPath(String arg) {
        String a = arg.length() > 1 && arg.endsWith("/") ? arg.substring(0, arg.length() - 1) : arg;
        for (String mount : cgroup2Mounts()) {
            if (a.equals(mount)) {
                return "/";
            }
            if (a.startsWith(mount + "/")) {
                return a.substring(mount.length());
            }
        }
        if (!a.startsWith("/")) {
            throw CliException.usage("bad cgroup '" + arg + "': expected an absolute path such as /system.slice");
        }
        return a;
    }

    private static List<String> cgroup2Mounts() {
        return mountPoints("cgroup2");
    }

    /** Mount points of a file system type, from /proc/self/mounts. */
    static List<String> mountPoints(String type) {
        try {
            return Files.readAllLines(Path.of("/proc/self/mounts")).stream().map(l -> l.split(" "))
                    .filter(f -> f.length > 2 && f[2].equals(type)).map(f -> f[1]).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * Checks that a bpffs is mounted at or above {@code pin} (linux-interfaces.md: pins live only in bpffs).
     *
     * @throws CliException exit 4 when none is
     */
    static void requireBpffs(Path pin) {
        Path p = pin.toAbsolutePath().normalize();
        for (String m : mountPoints("bpf")) {
            if (p.startsWith(Path.of(m))) {
                return;
            }
        }
        throw new CliException(ExitCode.UNSUPPORTED, "no bpffs is mounted at or above " + pin + "; mount one with:"
                + " mount -t bpf bpf /sys/fs/bpf (or give --pin a path inside a bpffs mount)");
    }

    /** The path of the cgroup with {@code id} under the root, or {@code id <n>} if it is gone. */
    static String pathOf(java.util.Map<Long, String> paths, long id) {
        if (id == 0) {
            return "(host-wide default)";
        }
        String path = paths.get(id);
        return path != null ? path : "id " + id + " (no such cgroup now)";
    }

    /** Every cgroup's path by id, from one walk (empty if the hierarchy cannot be walked). */
    static java.util.Map<Long, String> paths(CgroupTree tree) {
        java.util.Map<Long, String> out = new java.util.HashMap<>();
        try {
            for (CgroupRef c : tree.walk(tree.root())) {
                out.put(c.id(), c.path());
            }
        } catch (KernelException e) {
            // every id then reads as "no such cgroup now"
        }
        return out;
    }
}
