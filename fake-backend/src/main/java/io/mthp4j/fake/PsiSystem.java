package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * PSI for the fake kernel (kernel-semantics.md §10): each cgroup's {@link PsiGroup} (the root's is the
 * system's), fed with the stall of the pressure model, advanced when the clock moves, and triggers opened
 * through {@link PsiFile} with the kernel's parsing, validation and poll semantics. A group counts as busy
 * while its subtree has a process.
 */
final class PsiSystem {

    private final FakeKernel kernel;
    private final PsiParams params;

    PsiSystem(FakeKernel kernel, FakeKernelConfig config) {
        this.kernel = kernel;
        this.params = new PsiParams(config.pressure().hz(), true, true);
    }

    PsiParams params() {
        return params;
    }

    /** A task of {@code node} stalled on memory over {@code [start, end)}: some and full, here and above. */
    void stall(FakeKernel.Cgroups.Node node, long start, long end) {
        node.psi.stall(start, end, true);
    }

    /** The subtree of {@code node} gained ({@code +1}) or lost ({@code -1}) a process. */
    void tasks(FakeKernel.Cgroups.Node node, int delta) {
        long now = kernel.clock().nanos();
        for (FakeKernel.Cgroups.Node n = node; n != null; n = n.parent) {
            int before = n.subtreeTasks;
            n.subtreeTasks += delta;
            if ((before == 0) != (n.subtreeTasks == 0)) {
                n.psi.busy(now, n.subtreeTasks > 0);
            }
        }
    }

    String render(FakeKernel.Cgroups.Node node) {
        return node.psi.render(kernel.clock().nanos());
    }

    io.mthp4j.core.kernel.Pressure read(FakeKernel.Cgroups.Node node) {
        return node.psi.read(kernel.clock().nanos());
    }

    /** Runs the averaging work, the RT poller and trigger evaluation that fell due by {@code now}. */
    void advanceTo(FakeKernel.Cgroups.Node root, long now) {
        List<FakeKernel.Cgroups.Node> nodes = new ArrayList<>();
        kernel.cgroups().collect(root, nodes);
        for (FakeKernel.Cgroups.Node n : nodes) {
            n.psi.advanceTo(now);
        }
    }

    private static String fileOf(CgroupRef cgroup) {
        return cgroup.isRoot() ? "/proc/pressure/memory" : FakeKernel.Cgroups.MOUNT + cgroup.path() + "/memory.pressure";
    }

    private PsiFile open(FakeKernel.Cgroups.Node node) {
        PsiFile f = new PsiFile(node.psi, fileOf(node.ref), node.ref.isRoot() ? PsiFile.Kind.PROC : PsiFile.Kind.CGROUP,
                true, kernel.config().capSysResource(), kernel.clock()::nanos);
        node.psiFiles.add(f);
        return f;
    }

    PsiTrigger register(CgroupRef cgroup, Psi.Kind kind, long thresholdMicros, long windowMicros) {
        kernel.faults().beforeCall("psi", fileOf(cgroup));
        FakeKernel.Cgroups.Node node;
        PsiFile file;
        synchronized (kernel.lock) {
            node = kernel.cgroups().node(cgroup);
            file = open(node);
        }
        try {
            file.write(kind.word() + " " + thresholdMicros + " " + windowMicros + "\0");
        } catch (RuntimeException e) {
            close(node, file);
            throw e;
        }
        PsiTriggerModel trigger = file.trigger();
        FakeClock clock = kernel.clock();
        trigger.onEvent(clock::wakeAll);
        return new PsiTrigger() {
            private volatile boolean closed;

            @Override
            public boolean await(Duration timeout) throws InterruptedException {
                long deadline = clock.nanos() + timeout.toNanos();
                while (true) {
                    if (closed) {
                        return false;
                    }
                    if (trigger.consumeEvent()) {
                        return true;
                    }
                    if (!clock.awaitUntil(deadline, () -> closed || trigger.eventPending())) {
                        return false;
                    }
                }
            }

            @Override
            public void close() {
                closed = true;
                PsiSystem.this.close(node, file);
                clock.wakeAll();
            }
        };
    }

    /** A trigger written to a cgroup's {@code memory.pressure} through {@link FakeKernel#writeFile}: it stays open. */
    void registerFromFile(FakeKernel.Cgroups.Node node, String path, String text) {
        PsiFile f = open(node);
        try {
            f.write(text);
        } catch (RuntimeException e) {
            close(node, f);
            throw e;
        }
    }

    /** close(2) of a pressure file: its trigger goes, and the cgroup no longer lists it. */
    private void close(FakeKernel.Cgroups.Node node, PsiFile file) {
        file.close();
        synchronized (kernel.lock) {
            node.psiFiles.remove(file);
        }
    }

    /** rmdir: open pressure files of the cgroup fail later writes with ENODEV. */
    void removed(FakeKernel.Cgroups.Node node) {
        for (PsiFile f : node.psiFiles) {
            f.cgroupRemoved();
        }
    }
}
