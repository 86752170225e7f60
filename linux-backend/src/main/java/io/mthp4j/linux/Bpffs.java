package io.mthp4j.linux;

import io.mthp4j.api.KernelException;
import java.nio.file.Path;

/**
 * The BPF file system pins live in (linux-interfaces.md §2.5). Our machines boot without it; {@link #ensureMounted}
 * mounts it and the returned handle unmounts it again only if it was the one that mounted it.
 */
final class Bpffs {

    /** Where bpffs is conventionally mounted. */
    static final Path DEFAULT = Path.of("/sys/fs/bpf");

    private Bpffs() {
    }

    /** The bpffs mount point that holds {@code path}, or null if the path is not on a bpffs. */
    static Path mountCovering(Path path) {
        MountInfo.Mount m = MountInfo.read().covering(path);
        return m != null && m.fsType().equals("bpf") ? m.mountPoint() : null;
    }

    /** A bpffs mount this process may have made. Closing unmounts it if and only if it was made here. */
    static final class Mounted implements AutoCloseable {
        private final Path mountPoint;
        private final boolean mountedHere;
        private boolean closed;

        Mounted(Path mountPoint, boolean mountedHere) {
            this.mountPoint = mountPoint;
            this.mountedHere = mountedHere;
        }

        Path mountPoint() {
            return mountPoint;
        }

        @Override
        public synchronized void close() {
            if (closed || !mountedHere) {
                return;
            }
            closed = true;
            if (Libc.umount2(mountPoint.toString(), 0) != 0) {
                int e = Sys.errno();
                throw Sys.failure("umount", mountPoint.toString(), e, "the bpffs this process mounted could not be"
                        + " unmounted (pins or open descriptors left?); unmount it by hand: umount " + mountPoint);
            }
        }
    }

    /**
     * Mounts bpffs at {@code mountPoint} unless one is mounted there already (needs CAP_SYS_ADMIN).
     *
     * @throws KernelException EPERM without the privilege, ENOENT if the directory is missing
     */
    static Mounted ensureMounted(Path mountPoint) {
        Sys.requireAvailable();
        MountInfo.Mount m = MountInfo.read().covering(mountPoint);
        if (m != null && m.fsType().equals("bpf")) {
            return new Mounted(m.mountPoint(), false);
        }
        if (Libc.mount("bpf", mountPoint.toString(), "bpf", 0, 0) != 0) {
            int e = Sys.errno();
            throw Sys.failure("mount -t bpf", mountPoint.toString(), e, "mounting bpffs needs CAP_SYS_ADMIN and an existing directory");
        }
        return new Mounted(mountPoint, true);
    }
}
