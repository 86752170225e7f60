package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.HookPlacement;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.Pressure;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.kernel.ThpSysfs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-memory Linux mTHP kernel for tests: no root, no Linux, deterministic. Code written against
 * {@link KernelBackend} runs on it unchanged, and its files ({@link #readFile}, {@link #writeFile}) have the
 * kernel's paths, formats and errors.
 *
 * <p>It models the THP sysfs files (kernel-semantics.md §3), processes with prctl, madvise and page tables,
 * the anonymous and shmem fault paths with the mTHP fallback and every per-size and vmstat counter (§5, §8),
 * fork sharing and deferred split, khugepaged and MADV_COLLAPSE (§6), a cgroup v2 tree with memcg charging
 * against memory.high and memory.max, a pressure model with PSI (§10), and policy attachment with the rules
 * of both hook series (§14.6, §15.3). What is modeled rather than emulated is listed in docs/fidelity.md.
 *
 * <p>Time is virtual ({@link #clock()}); khugepaged and PSI run when it advances. Thread-safe: one kernel
 * lock guards the memory state.
 */
public final class FakeKernel implements KernelBackend {

    final Object lock = new Object();
    private final FakeKernelConfig config;
    private final FakeClock clock = new FakeClock();
    private final FaultScript faults = new FaultScript();
    private final FakeThpSysfs sysfs;
    private final Cgroups cgroups;
    private final Decisions decisions = new Decisions();
    private final MemoryManager memory;
    private final Shmem shmem;
    private final PsiSystem psi;
    private final FakeHeadroom headroom = new FakeHeadroom(this);
    private final Map<Integer, FakeProcess> processes = new ConcurrentHashMap<>();
    private final AtomicInteger nextPid = new AtomicInteger(100);
    private final FakeProcess current;
    private long pendingStallNanos;
    private volatile HookPlacement placement = HookPlacement.BEFORE_SYSFS_MASK;
    private Attachment global;

    private FakeKernel(FakeKernelConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.sysfs = new FakeThpSysfs(this, config.initialSettings());
        this.psi = new PsiSystem(this, config);
        this.cgroups = new Cgroups();
        this.memory = new MemoryManager(this, config);
        this.shmem = new Shmem(this, memory);
        this.current = spawn(cgroups.root());
        clock.onAdvance(this::timePassed);
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

    /** Physical memory: free pages, and fragmentation or allocation failures to inject. */
    public PhysicalMemory physicalMemory() {
        return memory.physical;
    }

    @Override
    public PageGeometry geometry() {
        return config.geometry();
    }

    @Override
    public ThpSysfs thp() {
        return sysfs;
    }

    FakeThpSysfs sysfs() {
        return sysfs;
    }

    @Override
    public Cgroups cgroups() {
        return cgroups;
    }

    @Override
    public Psi psi() {
        return psi::register;
    }


    /** Usage against memory.max / memory.high (MemTotal for the root), watched on every charge change. */
    @Override
    public io.mthp4j.core.kernel.MemoryHeadroom headroom() {
        return headroom;
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
        return OrderGate.builder(geometry()).placement(placement);
    }

    MemoryManager memory() {
        return memory;
    }

    Shmem shmem() {
        return shmem;
    }

    Memcg rootMemcg() {
        return cgroups.rootNode.memcg;
    }

    // ---- files ----

    /**
     * Reads a file by its absolute path: {@code /sys/kernel/mm/transparent_hugepage/**}, {@code /proc/vmstat},
     * {@code /proc/meminfo}, {@code /proc/pressure/memory}, {@code /proc/<pid>/status}, {@code /proc/<pid>/smaps},
     * and cgroup files under {@code /sys/fs/cgroup}.
     *
     * @throws KernelException ENOENT for a file the kernel does not have
     */
    public String readFile(String path) {
        if (path.startsWith(THP_ROOT)) {
            String text = sysfs.readFile(path.substring(THP_ROOT.length()));
            if (text == null) {
                throw new KernelException("open", path, Errno.ENOENT, "no such file");
            }
            return text;
        }
        faults.beforeCall("read", path);
        synchronized (lock) {
            switch (path) {
                case "/proc/vmstat":
                    return memory.vmstat.render();
                case "/proc/pressure/memory":
                    return psi.render(cgroups.rootNode);
                case "/proc/meminfo":
                    return ProcFiles.meminfo(this);
                default:
                    break;
            }
            if (path.startsWith("/proc/")) {
                String[] parts = path.split("/");
                if (parts.length == 4) {
                    FakeProcess p = "self".equals(parts[2]) ? current : processOrNull(parts[2]);
                    if (p != null && parts[3].equals("status")) {
                        return ProcFiles.status(this, p);
                    }
                    if (p != null && parts[3].equals("smaps")) {
                        return ProcFiles.smaps(this, p);
                    }
                }
            }
            if (path.startsWith(Cgroups.MOUNT)) {
                return cgroups.readFile(path);
            }
        }
        throw new KernelException("open", path, Errno.ENOENT, "no such file in the fake kernel");
    }

    /**
     * Writes a file by its absolute path: the THP sysfs knobs, and the cgroup files {@code cgroup.procs},
     * {@code memory.high}, {@code memory.max} and {@code memory.pressure} (a PSI trigger that stays until the
     * kernel is discarded; use {@link #psi()} for one you can close).
     */
    public void writeFile(String path, String value) {
        try {
            if (path.startsWith(THP_ROOT)) {
                sysfs.writeFile(path.substring(THP_ROOT.length()), value);
                return;
            }
            if (path.startsWith(Cgroups.MOUNT)) {
                cgroups.writeFile(path, value);
                return;
            }
            faults.beforeCall("write", path);
            throw new KernelException(io.mthp4j.api.SysfsText.writeOp(value), path, Errno.ENOENT, "no such writable file in the fake kernel");
        } finally {
            settle();
        }
    }

    private static final String THP_ROOT = io.mthp4j.api.ThpSettings.ROOT + "/";

    /** {@code /proc/vmstat} counter {@code name}. */
    public long vmstat(String name) {
        synchronized (lock) {
            return memory.vmstat.get(name);
        }
    }

    /** A per-size counter, e.g. {@code stat(4, "anon_fault_alloc")} for 64 KiB folios on x86-64. */
    public long stat(int order, String name) {
        return sysfs.stat(order, name);
    }

    // ---- processes ----

    /** Starts a process in {@code cgroup} with no prctl state and no memory. */
    public FakeProcess spawn(CgroupRef cgroup) {
        synchronized (lock) {
            Cgroups.Node node = cgroups.node(cgroup);
            FakeProcess p = new FakeProcess(this, nextPid.getAndIncrement(), node.ref, node.memcg);
            processes.put(p.pid(), p);
            node.procs.add(p.pid());
            psi.tasks(node, 1);
            rebuildGate(p);
            return p;
        }
    }

    /** The live process {@code pid}; ESRCH if there is none. */
    public FakeProcess process(int pid) {
        FakeProcess p = processes.get(pid);
        if (p == null) {
            throw new KernelException("find process", "pid " + pid, Errno.ESRCH, "it exited or never existed");
        }
        return p;
    }

    /** The live processes, by pid. */
    public List<FakeProcess> processes() {
        List<FakeProcess> out = new ArrayList<>(processes.values());
        out.sort(Comparator.comparingInt(FakeProcess::pid));
        return out;
    }

    private FakeProcess processOrNull(String pid) {
        try {
            return processes.get(Integer.parseInt(pid));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    void exited(FakeProcess p) {
        processes.remove(p.pid());
        Cgroups.Node node = cgroups.byPath.get(p.cgroup().path());
        if (node != null && node.procs.remove(p.pid())) {
            psi.tasks(node, -1);
        }
    }

    void moved(FakeProcess p, CgroupRef from, CgroupRef to) {
        Cgroups.Node a = cgroups.node(from);
        Cgroups.Node b = cgroups.node(to);
        a.procs.remove(p.pid());
        b.procs.add(p.pid());
        psi.tasks(a, -1);
        psi.tasks(b, 1);
    }

    void oomKilled(FakeProcess victim) {
        victim.exit();
    }

    /** Live processes whose memcg is {@code scope} or below it, by pid. */
    List<FakeProcess> processesIn(Memcg scope) {
        List<FakeProcess> out = new ArrayList<>();
        for (FakeProcess p : processes.values()) {
            if (!p.exited && scope.contains(p.memcg)) {
                out.add(p);
            }
        }
        out.sort(Comparator.comparingInt(FakeProcess::pid));
        return out;
    }

    // ---- time, stall and PSI ----

    /** Memory stall of a task in {@code memcg}: PSI some and full for it and its ancestors; time passes. */
    void stall(Memcg memcg, long nanos) {
        if (nanos <= 0) {
            return;
        }
        long start = clock.nanos() + pendingStallNanos;
        psi.stall(memcg.node, start, start + nanos);
        pendingStallNanos += nanos;
    }

    /** Lets the stall time of the last operation pass on the clock (outside the kernel lock). */
    void settle() {
        long d;
        synchronized (lock) {
            d = pendingStallNanos;
            pendingStallNanos = 0;
        }
        if (d > 0) {
            clock.advance(Duration.ofNanos(d));
        }
    }

    /** Runs what is due at {@code now}: khugepaged passes and the PSI averaging and trigger work. */
    private void timePassed(long now) {
        synchronized (lock) {
            memory.khugepagedUntil(now);
            psi.advanceTo(cgroups.rootNode, now);
        }
        settle();
    }

    // ---- policy attachment (§14.6, §15.3, §14.8) ----

    /**
     * Where a hook sits relative to the sysfs mask: {@link HookPlacement#BEFORE_SYSFS_MASK} (BPF-THP v7,
     * the default) or after it (one reading of mthp_ext, whose placement is unknown).
     */
    public void hookPlacement(HookPlacement value) {
        synchronized (lock) {
            placement = Objects.requireNonNull(value, "placement");
            processes.values().forEach(this::rebuildGate);
        }
    }

    /**
     * Attaches a host-wide policy, like a BPF-THP v7 struct_ops: only one at a time (EBUSY), replaceable live
     * with {@link Attachment#update}.
     */
    public Attachment attachGlobal(MthpPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        synchronized (lock) {
            faults.beforeCall("attach", "global");
            if (global != null) {
                throw new KernelException("attach bpf_thp_ops", "global", Errno.EBUSY,
                        "a policy is already attached; replace it with update()");
            }
            global = new Attachment(Attachment.Scope.GLOBAL, null, 0, policy);
            processes.values().forEach(this::rebuildGate);
            return global;
        }
    }

    /**
     * Attaches the reference BPF program's behaviour, which applies the decisions published to
     * {@link #decisions()}: the global slot then belongs to it.
     */
    public Attachment loadDecisionProgram() {
        return attachGlobal(decisionPolicy());
    }

    /**
     * Attaches a policy to a cgroup subtree, like mthp_ext v2: EBUSY if the cgroup or any descendant already
     * has one (attaching under or over an attached cgroup fails); children created later inherit it; detach
     * clears the whole subtree.
     */
    public Attachment attachCgroup(CgroupRef cgroup, MthpPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        synchronized (lock) {
            faults.beforeCall("attach", cgroup.path());
            Cgroups.Node node = cgroups.node(cgroup);
            List<Cgroups.Node> subtree = new ArrayList<>();
            cgroups.collect(node, subtree);
            for (Cgroups.Node n : subtree) {
                if (n.mthpOps != null) {
                    throw new KernelException("attach bpf_mthp_ops", cgroup.path(), Errno.EBUSY,
                            "sub-cgroup has already registered (" + n.ref.path() + ")");
                }
            }
            Attachment a = new Attachment(Attachment.Scope.CGROUP, cgroup, 0, policy);
            subtree.forEach(n -> n.mthpOps = a);
            rebuildGates();
            return a;
        }
    }

    /**
     * Attaches a policy to one process, like the per-process BPF-THP of v10+: EBUSY if it has one; inherited
     * by fork and kept by exec. A process policy takes the place of the global one for that process.
     */
    public Attachment attachProcess(FakeProcess process, MthpPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        synchronized (lock) {
            faults.beforeCall("attach", "pid " + process.pid());
            if (process.processPolicy != null) {
                throw new KernelException("attach bpf_thp_ops", "pid " + process.pid(), Errno.EBUSY,
                        "the process already has a policy");
            }
            Attachment a = new Attachment(Attachment.Scope.PROCESS, null, process.pid(), policy);
            process.processPolicy = a.asPolicy();
            rebuildGate(process);
            return a;
        }
    }

    /** An attached policy. Detaching twice is harmless; {@link #update} after detach is ENOENT. */
    public final class Attachment implements AutoCloseable {

        enum Scope { GLOBAL, CGROUP, PROCESS }

        private final Scope scope;
        private final CgroupRef cgroup;
        private final int pid;
        private volatile MthpPolicy policy;
        private volatile boolean attached = true;
        private final MthpPolicy view = (vma, tva, orders) -> this.policy.chooseOrders(vma, tva, orders);

        private Attachment(Scope scope, CgroupRef cgroup, int pid, MthpPolicy policy) {
            this.scope = scope;
            this.cgroup = cgroup;
            this.pid = pid;
            this.policy = policy;
        }

        MthpPolicy asPolicy() {
            return view;
        }

        /** Replaces the policy in place (bpf_link__update_map): only the global hook allows it (v7 .update). */
        public void update(MthpPolicy replacement) {
            Objects.requireNonNull(replacement, "replacement");
            synchronized (lock) {
                if (!attached) {
                    throw new KernelException("update bpf_link", describe(), Errno.ENOENT, "it was detached");
                }
                if (scope == Scope.CGROUP) {
                    throw new KernelException("update bpf_link", describe(), Errno.EOPNOTSUPP,
                            "mthp_ext has no live replacement: detach and attach again");
                }
                policy = replacement;
            }
        }

        /** Detaches; a cgroup attachment clears the whole subtree (v2 unreg, no owner check). */
        public void detach() {
            synchronized (lock) {
                if (!attached) {
                    return;
                }
                attached = false;
                switch (scope) {
                    case GLOBAL -> {
                        global = null;
                        processes.values().forEach(FakeKernel.this::rebuildGate);
                    }
                    case CGROUP -> {
                        Cgroups.Node node = cgroups.byPath.get(cgroup.path());
                        if (node != null) {
                            List<Cgroups.Node> subtree = new ArrayList<>();
                            cgroups.collect(node, subtree);
                            subtree.forEach(n -> n.mthpOps = null);
                        }
                        rebuildGates();
                    }
                    case PROCESS -> {
                        FakeProcess p = processes.get(pid);
                        if (p != null && p.processPolicy == view) {
                            p.processPolicy = null;
                            rebuildGate(p);
                        }
                    }
                }
            }
        }

        public boolean attached() {
            return attached;
        }

        @Override
        public void close() {
            detach();
        }

        private String describe() {
            return scope == Scope.GLOBAL ? "global" : scope == Scope.CGROUP ? cgroup.path() : "pid " + pid;
        }
    }

    private void rebuildGates() {
        processes.values().forEach(this::rebuildGate);
    }

    /** The gate a process's faults use: the process or global hook, then its cgroup's hook (§14.8, §15.2). */
    void rebuildGate(FakeProcess p) {
        MthpPolicy first = p.processPolicy != null ? p.processPolicy : global != null ? global.asPolicy() : null;
        p.bpfThpFaultEnter = first != null; // a kernel running BPF-THP has the series' patch 04 [inferred choice]
        Cgroups.Node node = cgroups.byPath.get(p.cgroup().path());
        MthpPolicy second = node != null && node.mthpOps != null ? node.mthpOps.asPolicy() : null;
        MthpPolicy policy = first == null ? second : second == null ? first
                : (vma, tva, orders) -> {
                    long o = first.chooseOrders(vma, tva, orders) & orders;
                    return o == 0 ? 0 : o & second.chooseOrders(vma, tva, o);
                };
        OrderGate.Builder b = gateBuilder();
        if (policy != null) {
            b.policy(policy);
        }
        p.gate = b.build();
    }

    // ---- the cgroup v2 tree ----

    /** The cgroup v2 hierarchy, mounted at {@value #MOUNT}: mkdir, rmdir, files, and what a scan reads. */
    public final class Cgroups implements CgroupTree {

        /** Where the hierarchy's files are. */
        public static final String MOUNT = "/sys/fs/cgroup";

        final class Node {
            final CgroupRef ref;
            final Node parent;
            final List<Node> children = new ArrayList<>();
            final java.util.Set<Integer> procs = ConcurrentHashMap.newKeySet();
            final Memcg memcg;
            final PsiGroup psi;
            final List<PsiFile> psiFiles = new ArrayList<>();
            int subtreeTasks;
            Attachment mthpOps;
            volatile boolean removed;

            Node(CgroupRef ref, Node parent) {
                this.ref = ref;
                this.parent = parent;
                this.memcg = new Memcg(parent == null ? null : parent.memcg, this);
                this.psi = new PsiGroup(FakeKernel.this.psi.params(), clock.nanos(), parent == null ? null : parent.psi);
                this.mthpOps = parent == null ? null : parent.mthpOps; // cgroup_bpf_set_mthp_ops
            }
        }

        private final Map<String, Node> byPath = new ConcurrentHashMap<>();
        private final Map<Long, Node> byId = new ConcurrentHashMap<>();
        private final AtomicLong nextId = new AtomicLong(2);
        final Node rootNode;

        Cgroups() {
            rootNode = new Node(new CgroupRef(1, "/"), null);
            byPath.put("/", rootNode);
            byId.put(rootNode.ref.id(), rootNode);
        }

        @Override
        public CgroupRef root() {
            return rootNode.ref;
        }

        /** {@code mkdir}: EEXIST if present, ENOENT if the parent is missing. Ids are never reused. */
        public CgroupRef mkdir(String path) {
            synchronized (lock) {
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
        }

        /** {@code rmdir}: EBUSY while it has tasks or children. Its charges stay with its ancestors. */
        public void rmdir(CgroupRef cgroup) {
            synchronized (lock) {
                faults.beforeCall("rmdir", cgroup.path());
                Node node = node(cgroup);
                if (node == rootNode || !node.procs.isEmpty() || !node.children.isEmpty()) {
                    throw new KernelException("rmdir", cgroup.path(), Errno.EBUSY, "it still has tasks or child cgroups");
                }
                node.parent.children.remove(node);
                byPath.remove(cgroup.path());
                byId.remove(cgroup.id());
                node.removed = true;
                psi.removed(node);
            }
        }

        /** The cgroup at {@code path}; ENOENT if there is none. */
        public CgroupRef lookup(String path) {
            Node n = byPath.get(path);
            if (n == null) {
                throw new KernelException("open", path, Errno.ENOENT, "no such cgroup");
            }
            return n.ref;
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

        void collect(Node node, List<Node> out) {
            out.add(node);
            List<Node> children = node.children;
            for (int i = 0; i < children.size(); i++) { // no iterator per node: scans walk 10,000s of cgroups
                collect(children.get(i), out);
            }
        }

        @Override
        public List<CgroupRef> walk(CgroupRef from) {
            synchronized (lock) {
                faults.beforeCall("walk", from.path());
                List<Node> nodes = new ArrayList<>();
                collect(node(from), nodes);
                return nodes.stream().map(n -> n.ref).toList();
            }
        }

        @Override
        public boolean hasTasks(CgroupRef cgroup) {
            return !node(cgroup).procs.isEmpty();
        }

        @Override
        public CgroupMemory memory(CgroupRef cgroup) {
            faults.beforeCall("read", file(cgroup, "memory.stat"));
            synchronized (lock) {
                Memcg m = node(cgroup).memcg;
                int shift = geometry().pageShift();
                return new CgroupMemory(m.charged << shift, m.anon << shift, m.shmem << shift, 0, m.anonThp << shift,
                        limit(m.high), limit(m.max));
            }
        }

        private long limit(long pages) {
            return pages == Memcg.NO_LIMIT ? CgroupMemory.NO_LIMIT : pages << geometry().pageShift();
        }

        @Override
        public Pressure pressure(CgroupRef cgroup) {
            faults.beforeCall("read", cgroup.isRoot() ? "/proc/pressure/memory" : file(cgroup, "memory.pressure"));
            synchronized (lock) {
                return psi.read(node(cgroup));
            }
        }

        private String file(CgroupRef cgroup, String name) {
            return MOUNT + (cgroup.isRoot() ? "" : cgroup.path()) + "/" + name;
        }

        /** Splits {@code /sys/fs/cgroup/a/b/memory.max} into the node and the file name. */
        private Map.Entry<Node, String> resolve(String path) {
            String rest = path.substring(MOUNT.length());
            int slash = rest.lastIndexOf('/');
            if (slash < 0) {
                throw new KernelException("open", path, Errno.ENOENT, "no such file");
            }
            String dir = slash == 0 ? "/" : rest.substring(0, slash);
            Node node = byPath.get(dir);
            if (node == null) {
                throw new KernelException("open", path, Errno.ENOENT, "no such cgroup");
            }
            return Map.entry(node, rest.substring(slash + 1));
        }

        String readFile(String path) {
            Map.Entry<Node, String> e = resolve(path);
            Node node = e.getKey();
            Memcg m = node.memcg;
            int shift = geometry().pageShift();
            return switch (e.getValue()) {
                case "cgroup.procs" -> node.procs.stream().sorted().map(pid -> pid + "\n").reduce("", String::concat);
                case "memory.current" -> (m.charged << shift) + "\n";
                case "memory.swap.current" -> (m.swap << shift) + "\n";
                case "memory.high" -> limitText(m.high);
                case "memory.max" -> limitText(m.max);
                case "memory.stat" -> ProcFiles.memoryStat(FakeKernel.this, m);
                case "memory.events" -> ProcFiles.memoryEvents(m.events);
                case "memory.events.local" -> ProcFiles.memoryEvents(m.eventsLocal);
                case "memory.pressure" -> psi.render(node);
                default -> throw new KernelException("open", path, Errno.ENOENT, "no such file in the fake cgroup");
            };
        }

        private String limitText(long pages) {
            return pages == Memcg.NO_LIMIT ? "max\n" : (pages << geometry().pageShift()) + "\n";
        }

        void writeFile(String path, String value) {
            faults.beforeCall("write", path);
            synchronized (lock) {
                Map.Entry<Node, String> e = resolve(path);
                Node node = e.getKey();
                String op = io.mthp4j.api.SysfsText.writeOp(value);
                switch (e.getValue()) {
                    case "cgroup.procs" -> {
                        int pid;
                        try {
                            pid = Integer.parseInt(value.strip());
                        } catch (NumberFormatException ex) {
                            throw new KernelException(op, path, Errno.EINVAL, "write one pid");
                        }
                        FakeProcess p = processes.get(pid);
                        if (p == null) {
                            throw new KernelException(op, path, Errno.ESRCH, "no process " + pid);
                        }
                        p.moveTo(node.ref);
                    }
                    case "memory.high" -> {
                        node.memcg.high = parseLimit(op, path, value);
                        if (node.memcg.charged > node.memcg.high) {
                            memory.reclaim(null, node.memcg, node.memcg.charged - node.memcg.high);
                        }
                        node.memcg.notifyWatches();
                    }
                    case "memory.max" -> {
                        node.memcg.max = parseLimit(op, path, value);
                        shrinkToMax(node.memcg);
                        node.memcg.notifyWatches();
                    }
                    case "memory.pressure" -> psi.registerFromFile(node, path, value);
                    default -> throw new KernelException(op, path, Errno.EACCES, "not writable in the fake cgroup");
                }
            }
        }

        /** memory_max_write: reclaim, then OOM-kill in the cgroup until usage fits. */
        private void shrinkToMax(Memcg m) {
            for (int round = 0; round < 1000 && m.charged > m.max; round++) {
                if (memory.reclaim(null, m, m.charged - m.max) > 0) {
                    continue;
                }
                if (processesIn(m).isEmpty()) {
                    return;
                }
                memory.oomKill(null, m, "memory.max of " + m.node.ref.path() + " was lowered");
            }
        }

        /** memparse with "max": bytes, optionally with K, M, G or T; the limit is kept in pages (rounded down). */
        private long parseLimit(String op, String path, String value) {
            String v = value.strip();
            if (v.equals("max")) {
                return Memcg.NO_LIMIT;
            }
            long mult = 1;
            char last = v.isEmpty() ? ' ' : Character.toUpperCase(v.charAt(v.length() - 1));
            int exp = "KMGTPE".indexOf(last);
            if (exp >= 0) {
                mult = 1L << (10 * (exp + 1));
                v = v.substring(0, v.length() - 1);
            }
            try {
                long bytes = Math.multiplyExact(Long.parseUnsignedLong(v), mult);
                if (bytes < 0) {
                    throw new NumberFormatException();
                }
                return bytes >>> geometry().pageShift();
            } catch (NumberFormatException | ArithmeticException ex) {
                throw new KernelException(op, path, Errno.EINVAL, "write \"max\" or a number of bytes (suffixes K, M, G)");
            }
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

    /** Whether THP could be used for {@code vma} of {@code p} (smaps THPeligible). */
    boolean thpEligible(FakeProcess p, VmaInfo vma) {
        long all = vma.kind() == io.mthp4j.api.VmaKind.ANON ? geometry().allAnonOrders() : geometry().allFileOrders();
        return p.gate.allowableOrders(sysfs.settings(), p.mode, vma, TvaType.SMAPS, all) != 0;
    }

    // ---- invariants, for tests ----

    /** Checks the model's internal invariants; throws AssertionError naming the first that fails. */
    public void checkInvariants() {
        synchronized (lock) {
            Invariants.check(this, memory, cgroups.rootNode);
        }
    }
}
