package io.mthp4j.linux;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * bpffs for one test class: mounted at /sys/fs/bpf if it was not (and unmounted again at the end only then),
 * with a private directory for the class's pins that is removed at the end (linux-interfaces.md §10.1).
 */
final class BpffsFixture implements AutoCloseable {

    private static final AtomicInteger NEXT = new AtomicInteger();

    private final Bpffs.Mounted mount;
    private final Path dir;

    BpffsFixture() {
        RealKernel.assumeRoot();
        this.mount = Bpffs.ensureMounted(Bpffs.DEFAULT);
        this.dir = mount.mountPoint().resolve("mthp4j-test-" + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet());
        removeStale(mount.mountPoint());
    }

    /** Pins left by a test JVM that died (its pid is gone) are removed. */
    private static void removeStale(Path bpffs) {
        try (var s = java.nio.file.Files.list(bpffs)) {
            s.filter(p -> p.getFileName().toString().startsWith("mthp4j-test-")).forEach(p -> {
                String pid = p.getFileName().toString().split("-")[2];
                if (ProcessHandle.of(Long.parseLong(pid)).isEmpty()) {
                    RealKernel.deleteTree(p);
                }
            });
        } catch (java.io.IOException | RuntimeException e) {
            // best effort
        }
    }

    /** A pin path in this fixture's directory (the directory is created on pinning). */
    Path pin(String name) {
        return dir.resolve(name);
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() {
        try {
            RealKernel.deleteTree(dir);
        } finally {
            mount.close();
        }
    }
}
