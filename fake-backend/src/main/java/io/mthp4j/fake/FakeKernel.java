package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.Pressure;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.kernel.ThpProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-memory Linux mTHP kernel for tests: no root, no Linux, deterministic. Code written against
 * {@link KernelBackend} runs on it unchanged.
 *
 * <p>This first slice models the THP sysfs files with the kernel's formats and write errors, a cgroup v2
 * tree, PSI trigger registration with the kernel's validation, processes with their prctl state and VMA
 * advice, and a decision sink whose {@link #decisionPolicy()} reads published decisions the way the
 * reference BPF program does. Page faults, folios, khugepaged, memcg charging and the pressure model are
 * not built yet: PSI totals stay 0 and triggers never fire.
 */
public final class FakeKernel implements KernelBackend {

    private final FakeKernelConfig config;
    private final FakeClock clock = new FakeClock();
    private final FaultScript faults = new FaultScript();
    private final FakeThpSysfs sysfs;
    private final Cgroups cgroups = new Cgroups();
    private final Decisions decisions = new Decisions();
    private final Map<Integer, FakeProcess> processes = new ConcurrentHashMap<>();
    private final AtomicInteger nextPid = new AtomicInteger(100);
    private final FakeProcess current;

    private FakeKernel(FakeKernelConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.sysfs = new FakeThpSysfs(this, config.initialSettings());
        this.current = spawn(cgroups.root());
    }

    /** A fresh kernel with this configuration. */
    public static FakeKernel create(FakeKernelConfig config) {
        return new FakeKernel(config);
    }

    /** A fresh x86-64 kernel with our machines' settings. */
    public static FakeKernel create() {
        return create(FakeKernelConfig.x86_64());
    }

    public FakeKernelConfig config() {
        return config;
    }

    public FakeClock clock() {
        return clock;
    }

    /** Scripted errors and the record of calls. */
    public FaultScript faults() {
        return faults;
    }

    @Override
    public PageGeometry geometry() {
        return config.geometry();
    }

    @Override
    public FakeThpSysfs thp() {
        return sysfs;
    }

    @Override
    public Cgroups cgroups() {
        return cgroups;
    }

    @Override
    public Psi psi() {
        return this::registerTrigger;
    }

    @Override
    public FakeProcess currentProcess() {
        return current;
    }

    @Override
    public DecisionSink decisions() {
        return decisions;
    }

    @Override
    public long bootTimeNanos() {
        return clock.nanos();
    }

    /** A gate over this kernel's geometry, for callers that ask the order question directly. */
    public OrderGate.Builder gateBuilder() {
        return OrderGate.builder(geometry());
    }

    // ---- processes ----

    /** Starts a process in {@code cgroup} with no prctl state. */
    public FakeProcess spawn(CgroupRef cgroup) {
        Cgroups.Node node = cgroups.node(cgroup);
        FakeProcess p = new FakeProcess(this, nextPid.getAndIncrement(), node.ref);
        processes.put(p.pid(), p);
        node.procs.add(p.pid());
        return p;
    }

    /** The live process {@code pid}; ESRCH if there is none. */
    public FakeProcess process(int pid) {
        FakeProcess p = processes.get(pid);
        if (p == null) {
            throw new KernelException("find process", "pid " + pid, Errno.ESRCH, "it exited or never existed");
        }
        return p;
    }

    void exited(FakeProcess p) {
        processes.remove(p.pid());
        cgroups.node(p.cgroup()).procs.remove(p.pid());
    }

    void moved(FakeProcess p, CgroupRef from, CgroupRef to) {
        cgroups.node(from).procs.remove(p.pid());
        cgroups.node(to).procs.add(p.pid());
    }

    // ---- PSI (kernel-semantics.md §10.3) ----

    private PsiTrigger registerTrigger(CgroupRef cgroup, Psi.Kind kind, long thresholdMicros, long windowMicros) {
        String file = cgroup.isRoot() ? "/proc/pressure/memory" : cgroup.path() + "/memory.pressure";
        faults.beforeCall("psi", file);
        cgroups.node(cgroup);
        String op = "write \"" + kind.word() + " " + thresholdMicros + " " + windowMicros + "\"";
        if (windowMicros <= 0 || windowMicros > 10_000_000) {
            throw new KernelException(op, file, Errno.EINVAL, "the window must be in 1..10000000 us");
        }
        if (!config.capSysResource() && windowMicros % 2_000_000 != 0) {
            throw new KernelException(op, file, Errno.EINVAL,
                    "without CAP_SYS_RESOURCE the window must be a multiple of 2 s (2000000 us)");
        }
        if (thresholdMicros <= 0 || thresholdMicros > windowMicros) {
            throw new KernelException(op, file, Errno.EINVAL, "the threshold must be in 1..window");
        }
        return new PsiTrigger() {
            private volatile boolean closed;
            private volatile boolean pending;

            @Override
            public boolean await(Duration timeout) throws InterruptedException {
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
                clock.wakeAll();
            }
        };
    }

    // ---- the cgroup v2 tree ----

    /** The cgroup v2 hierarchy: mkdir, rmdir, and what a scan reads. */
    public final class Cgroups implements CgroupTree {

        final class Node {
            final CgroupRef ref;
            final Node parent;
            final List<Node> children = new ArrayList<>();
            final java.util.Set<Integer> procs = ConcurrentHashMap.newKeySet();
            final AtomicLong someMicros = new AtomicLong();
            final AtomicLong fullMicros = new AtomicLong();
            volatile boolean removed;

            Node(CgroupRef ref, Node parent) {
                this.ref = ref;
                this.parent = parent;
            }
        }

        private final Map<String, Node> byPath = new ConcurrentHashMap<>();
        private final Map<Long, Node> byId = new ConcurrentHashMap<>();
        private final AtomicLong nextId = new AtomicLong(2);
        private final Node rootNode = new Node(new CgroupRef(1, "/"), null);

        Cgroups() {
            byPath.put("/", rootNode);
            byId.put(rootNode.ref.id(), rootNode);
        }

        @Override
        public CgroupRef root() {
            return rootNode.ref;
        }

        /** {@code mkdir}: EEXIST if present, ENOENT if the parent is missing. Ids are never reused. */
        public synchronized CgroupRef mkdir(String path) {
            faults.beforeCall("mkdir", path);
            if (!path.startsWith("/") || path.length() < 2 || path.endsWith("/") || path.contains("//")) {
                throw new KernelException("mkdir", path, Errno.EINVAL, "a cgroup path looks like /a/b");
            }
            if (byPath.containsKey(path)) {
                throw new KernelException("mkdir", path, Errno.EEXIST, null);
            }
            int slash = path.lastIndexOf('/');
            Node parent = byPath.get(slash == 0 ? "/" : path.substring(0, slash));
            if (parent == null) {
                throw new KernelException("mkdir", path, Errno.ENOENT, "the parent cgroup does not exist");
            }
            Node node = new Node(new CgroupRef(nextId.getAndIncrement(), path), parent);
            parent.children.add(node);
            byPath.put(path, node);
            byId.put(node.ref.id(), node);
            return node.ref;
        }

        /** {@code rmdir}: EBUSY while it has tasks or children. */
        public synchronized void rmdir(CgroupRef cgroup) {
            faults.beforeCall("rmdir", cgroup.path());
            Node node = node(cgroup);
            if (node == rootNode || !node.procs.isEmpty() || !node.children.isEmpty()) {
                throw new KernelException("rmdir", cgroup.path(), Errno.EBUSY, "it still has tasks or child cgroups");
            }
            node.parent.children.remove(node);
            byPath.remove(cgroup.path());
            byId.remove(cgroup.id());
            node.removed = true;
        }

        Node node(CgroupRef cgroup) {
            Node node = byPath.get(cgroup.path());
            if (node == null || node.ref.id() != cgroup.id()) {
                throw new KernelException("open", cgroup.path(), Errno.ENOENT, "the cgroup was removed");
            }
            return node;
        }

        /** The parent of a cgroup, or null for the root. */
        CgroupRef parent(long id) {
            Node n = byId.get(id);
            return n == null || n.parent == null ? null : n.parent.ref;
        }

        @Override
        public synchronized List<CgroupRef> walk(CgroupRef from) {
            faults.beforeCall("walk", from.path());
            List<CgroupRef> out = new ArrayList<>();
            walk(node(from), out);
            return out;
        }

        private void walk(Node node, List<CgroupRef> out) {
            out.add(node.ref);
            for (Node child : node.children) {
                walk(child, out);
            }
        }

        @Override
        public boolean hasTasks(CgroupRef cgroup) {
            return !node(cgroup).procs.isEmpty();
        }

        @Override
        public CgroupMemory memory(CgroupRef cgroup) {
            faults.beforeCall("read", cgroup.path() + "/memory.stat");
            node(cgroup);
            return new CgroupMemory(0, 0, 0, 0, 0, CgroupMemory.NO_LIMIT, CgroupMemory.NO_LIMIT);
        }

        @Override
        public Pressure pressure(CgroupRef cgroup) {
            faults.beforeCall("read", cgroup.isRoot() ? "/proc/pressure/memory" : cgroup.path() + "/memory.pressure");
            Node node = node(cgroup);
            return new Pressure(new Pressure.Line(0, 0, 0, node.someMicros.get()),
                    new Pressure.Line(0, 0, 0, node.fullMicros.get()));
        }
    }

    // ---- decisions ----

    private record Published(DecisionTable table, long generation, long expiresAtNanos) {
    }

    /** Decisions published to this kernel, read by {@link #decisionPolicy()}. */
    private final class Decisions implements DecisionSink {
        final Map<Long, Published> entries = new ConcurrentHashMap<>();

        @Override
        public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
            faults.beforeCall("publish", Long.toString(cgroupId));
            entries.put(cgroupId, new Published(Objects.requireNonNull(table, "table"), generation, expiresAtBootNanos));
        }

        @Override
        public void withdraw(long cgroupId) {
            faults.beforeCall("withdraw", Long.toString(cgroupId));
            entries.remove(cgroupId);
        }
    }

    /**
     * A policy that applies published decisions as the reference BPF program does: the VMA's cgroup, else the
     * nearest ancestor with an entry, else the host-wide entry (id 0); an expired entry has no opinion.
     */
    public MthpPolicy decisionPolicy() {
        return (vma, tvaType, orders) -> {
            Published p = null;
            for (CgroupRef c = vma.cgroup(); c != null && p == null; c = cgroups.parent(c.id())) {
                p = decisions.entries.get(c.id());
            }
            if (p == null) {
                p = decisions.entries.get(0L);
            }
            if (p == null || clock.nanos() >= p.expiresAtNanos()) {
                return orders;
            }
            return orders & p.table().allowed(tvaType, vma.vmaType());
        };
    }
}
