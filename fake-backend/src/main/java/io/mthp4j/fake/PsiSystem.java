package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * PSI for the fake kernel (kernel-semantics.md §10): stall propagation to ancestors, the pressure files, and
 * triggers with the kernel's validation and at most one event per window. Runs under the kernel lock.
 */
final class PsiSystem {

    private final FakeKernel kernel;
    private final List<Trigger> triggers = new ArrayList<>();

    PsiSystem(FakeKernel kernel) {
        this.kernel = kernel;
    }

    /** A task of {@code node} stalled on memory over {@code [start, end)}: the node and every ancestor see it. */
    void stall(FakeKernel.Cgroups.Node node, long start, long end) {
        for (FakeKernel.Cgroups.Node n = node; n != null; n = n.parent) {
            n.psi.stall(start, end);
        }
    }

    String render(FakeKernel.Cgroups.Node node) {
        return node.psi.render();
    }

    void advanceTo(long now) {
        for (Trigger t : List.copyOf(triggers)) {
            t.node.psi.advanceTo(now);
            t.evaluate(now);
        }
    }

    PsiTrigger register(CgroupRef cgroup, Psi.Kind kind, long thresholdMicros, long windowMicros) {
        String file = cgroup.isRoot() ? "/proc/pressure/memory" : FakeKernel.Cgroups.MOUNT + cgroup.path() + "/memory.pressure";
        kernel.faults().beforeCall("psi", file);
        synchronized (kernel.lock) {
            FakeKernel.Cgroups.Node node = kernel.cgroups().node(cgroup);
            return create(node, file, kind, thresholdMicros, windowMicros);
        }
    }

    void registerFromFile(FakeKernel.Cgroups.Node node, String path, String text) {
        String[] words = text.strip().split("\\s+");
        if (words.length != 3 || !(words[0].equals("some") || words[0].equals("full"))) {
            throw new KernelException(io.mthp4j.api.SysfsText.writeOp(text), path, Errno.EINVAL,
                    "write \"some|full <threshold us> <window us>\"");
        }
        try {
            create(node, path, words[0].equals("some") ? Psi.Kind.SOME : Psi.Kind.FULL,
                    Long.parseUnsignedLong(words[1]), Long.parseUnsignedLong(words[2]));
        } catch (NumberFormatException e) {
            throw new KernelException(io.mthp4j.api.SysfsText.writeOp(text), path, Errno.EINVAL, "two unsigned numbers");
        }
    }

    /** psi_trigger_create's checks in the kernel's order (§10.3). */
    private Trigger create(FakeKernel.Cgroups.Node node, String file, Psi.Kind kind, long thresholdMicros, long windowMicros) {
        String op = "write \"" + kind.word() + " " + thresholdMicros + " " + windowMicros + "\"";
        if (windowMicros <= 0 || windowMicros > 10_000_000) {
            throw new KernelException(op, file, Errno.EINVAL, "the window must be in 1..10000000 us");
        }
        if (!kernel.config().capSysResource() && windowMicros % 2_000_000 != 0) {
            throw new KernelException(op, file, Errno.EINVAL,
                    "without CAP_SYS_RESOURCE the window must be a multiple of 2 s (2000000 us)");
        }
        if (thresholdMicros <= 0 || thresholdMicros > windowMicros) {
            throw new KernelException(op, file, Errno.EINVAL, "the threshold must be in 1..window");
        }
        Trigger t = new Trigger(node, kind, thresholdMicros * 1000, windowMicros * 1000, kernel.clock().nanos());
        triggers.add(t);
        return t;
    }

    /** One trigger: growth over the window against the threshold; at most one event per window. */
    final class Trigger implements PsiTrigger {
        final FakeKernel.Cgroups.Node node;
        final Psi.Kind kind;
        final long threshold;
        final long window;
        long windowStart;
        long windowStartTotal;
        long lastEvent = Long.MIN_VALUE / 2;
        volatile boolean pending;
        volatile boolean closed;

        Trigger(FakeKernel.Cgroups.Node node, Psi.Kind kind, long threshold, long window, long now) {
            this.node = node;
            this.kind = kind;
            this.threshold = threshold;
            this.window = window;
            this.windowStart = now;
            this.windowStartTotal = total();
        }

        private long total() {
            return kind == Psi.Kind.SOME ? node.psi.someNanos() : node.psi.fullNanos();
        }

        void evaluate(long now) {
            if (closed) {
                return;
            }
            long growth = total() - windowStartTotal;
            if (growth >= threshold && now >= lastEvent + window) {
                pending = true;
                lastEvent = now;
                kernel.clock().wakeAll();
            }
            if (now - windowStart >= window) {
                windowStart = now;
                windowStartTotal = total();
            }
        }

        @Override
        public boolean await(Duration timeout) throws InterruptedException {
            FakeClock clock = kernel.clock();
            long deadline = clock.nanos() + timeout.toNanos();
            boolean fired = clock.awaitUntil(deadline, () -> pending || closed);
            if (fired && pending) {
                pending = false;
                return true;
            }
            return false;
        }

        @Override
        public void close() {
            closed = true;
            synchronized (kernel.lock) {
                triggers.remove(this);
            }
            kernel.clock().wakeAll();
        }
    }
}
