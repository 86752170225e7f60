package io.mthp4j.core.policy;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * THP only for listed cgroups and processes: the BPF-THP production deployment (kernel-semantics.md §14.7,
 * where the program allows THP for tasks under one cgroup). Entries are added and removed at run time from any
 * thread; reads are lock-free and allocation-free (an immutable snapshot swapped atomically).
 *
 * <ul>
 *   <li>A <b>path</b> entry covers that cgroup and every descendant, like {@code bpf_task_under_cgroup}.</li>
 *   <li>An <b>id</b> entry covers that cgroup instance and, from the scan that sees them, its descendants: ids
 *       are never reused, so a cgroup removed and made again is not covered. The descendants are learnt from the
 *       hierarchy {@link #decide} walks (pre-order); until a scan has seen a descendant, a per-call answer knows
 *       only the listed id itself.</li>
 *   <li>A <b>pid</b> entry covers the VMAs of that process. It applies where the policy is asked per call
 *       ({@link #chooseOrders}); a per-cgroup {@link DecisionTable} cannot carry it, so {@link #decide} ignores it.</li>
 * </ul>
 * Listed VMAs keep the allowed orders (default: every order, i.e. the kernel decides); the rest get base pages
 * only, or, with {@link Unlisted#NO_OPINION}, no opinion (for use as a rule in {@link Policies#firstMatch}).
 */
public final class AllowList implements CgroupPolicy {

    private record Snapshot(long[] ids, int[] pids, String[] paths) {
        static final Snapshot EMPTY = new Snapshot(new long[0], new int[0], new String[0]);
    }

    private final AtomicReference<Snapshot> entries = new AtomicReference<>(Snapshot.EMPTY);
    /** Ids a scan found listed, themselves or through an ancestor (sorted; written by the scanning thread). */
    private volatile long[] covered = new long[0];
    private final long allowed;
    private final DecisionTable listedTable;
    private final DecisionTable unlistedTable;

    private AllowList(long allowed, boolean unlistedNoOpinion) {
        this.allowed = allowed;
        this.listedTable = DecisionTable.uniform(allowed);
        this.unlistedTable = unlistedNoOpinion ? null : DecisionTable.uniform(0);
    }

    /** What VMAs that are not listed get. */
    public enum Unlisted {
        /** Base pages only (the deployment's rule: THP only for the listed). */
        BASE_PAGES,
        /** No opinion: the kernel decides (to use the list as a rule in {@link Policies#firstMatch}). */
        NO_OPINION
    }

    /** An empty list: listed VMAs keep every order, unlisted ones get base pages. */
    public static AllowList create() {
        return create(-1L, Unlisted.BASE_PAGES);
    }

    /** An empty list: listed VMAs keep {@code allowedOrders} of their request, unlisted ones get {@code unlisted}. */
    public static AllowList create(long allowedOrders, Unlisted unlisted) {
        return new AllowList(allowedOrders, java.util.Objects.requireNonNull(unlisted, "unlisted") == Unlisted.NO_OPINION);
    }

    // ---- changes (thread-safe) ----

    /** Lists a cgroup by id; returns whether it was new. */
    public boolean addCgroup(long id) {
        if (id <= 0) {
            throw new IllegalArgumentException("a cgroup id is positive (the inode number of its directory), was " + id);
        }
        return update(s -> contains(s.ids, id) ? s : new Snapshot(insert(s.ids, id), s.pids, s.paths));
    }

    /** Unlists a cgroup id; returns whether it was listed. */
    public boolean removeCgroup(long id) {
        return update(s -> contains(s.ids, id) ? new Snapshot(remove(s.ids, id), s.pids, s.paths) : s);
    }

    /** Lists a cgroup path and its descendants ({@code /} lists everything); returns whether it was new. */
    public boolean addPath(String path) {
        String p = normalise(path);
        return update(s -> Arrays.asList(s.paths).contains(p) ? s : new Snapshot(s.ids, s.pids, append(s.paths, p)));
    }

    /** Unlists a cgroup path (descendants listed on their own stay listed); returns whether it was listed. */
    public boolean removePath(String path) {
        String p = normalise(path);
        return update(s -> {
            List<String> rest = new ArrayList<>(Arrays.asList(s.paths));
            return rest.remove(p) ? new Snapshot(s.ids, s.pids, rest.toArray(new String[0])) : s;
        });
    }

    /** Lists a process; returns whether it was new. */
    public boolean addPid(int pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("a pid is positive, was " + pid);
        }
        return update(s -> Arrays.binarySearch(s.pids, pid) >= 0 ? s : new Snapshot(s.ids, insert(s.pids, pid), s.paths));
    }

    /** Unlists a process; returns whether it was listed. */
    public boolean removePid(int pid) {
        return update(s -> Arrays.binarySearch(s.pids, pid) >= 0 ? new Snapshot(s.ids, remove(s.pids, pid), s.paths) : s);
    }

    private boolean update(java.util.function.UnaryOperator<Snapshot> change) {
        while (true) {
            Snapshot now = entries.get();
            Snapshot next = change.apply(now);
            if (next == now) {
                return false;
            }
            if (entries.compareAndSet(now, next)) {
                return true;
            }
        }
    }

    // ---- reads (lock-free, allocation-free) ----

    /** Whether the cgroup is listed, by id or by a path that is it or an ancestor. */
    public boolean listed(CgroupRef cgroup) {
        Snapshot s = entries.get();
        return listed(s, cgroup);
    }

    private static boolean listed(Snapshot s, CgroupRef cgroup) {
        if (cgroup.id() != 0 && contains(s.ids, cgroup.id())) {
            return true;
        }
        String path = cgroup.path();
        for (String p : s.paths) {
            if (under(path, p)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the process is listed. */
    public boolean listed(int pid) {
        return Arrays.binarySearch(entries.get().pids, pid) >= 0;
    }

    private boolean listed(VmaInfo vma) {
        Snapshot s = entries.get();
        long id = vma.cgroup().id();
        return (vma.pid() != 0 && Arrays.binarySearch(s.pids, vma.pid()) >= 0)
                || (id != 0 && (listed(s, vma.cgroup()) || contains(covered, id)));
    }

    /** Whether {@code path} is {@code ancestor} or below it, without allocating. */
    static boolean under(String path, String ancestor) {
        if (!path.startsWith(ancestor)) {
            return false;
        }
        return path.length() == ancestor.length() || ancestor.length() == 1 || path.charAt(ancestor.length()) == '/';
    }

    @Override
    public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
        if (listed(vma)) {
            return orders & allowed;
        }
        return unlistedTable == null ? orders : 0;
    }

    @Override
    public boolean matches(VmaInfo vma) {
        return unlistedTable != null || listed(vma);
    }

    @Override
    public DecisionTable decide(CgroupSample sample) {
        long id = sample.cgroup().id();
        long[] now = covered;
        // Parents are decided first in a scan, so the parent's coverage is current (a removed id entry included).
        boolean in = listed(sample.cgroup()) || (sample.parentId() != 0 && contains(now, sample.parentId()));
        if (in != contains(now, id)) {
            covered = in ? insert(now, id) : remove(now, id);
        }
        return in ? listedTable : unlistedTable;
    }

    @Override
    public void forget(long cgroupId) {
        long[] now = covered;
        if (contains(now, cgroupId)) {
            covered = remove(now, cgroupId);
        }
    }

    @Override
    public boolean needsSamples() {
        return false;
    }

    @Override
    public String toString() {
        Snapshot s = entries.get();
        return "allow-list[cgroups " + Arrays.toString(s.ids) + ", paths " + Arrays.toString(s.paths) + ", pids "
                + Arrays.toString(s.pids) + (unlistedTable == null ? ", unlisted: no opinion" : ", unlisted: base pages") + "]";
    }

    // ---- sorted-array helpers ----

    private static boolean contains(long[] sorted, long v) {
        return Arrays.binarySearch(sorted, v) >= 0;
    }

    private static long[] insert(long[] sorted, long v) {
        int at = -Arrays.binarySearch(sorted, v) - 1;
        long[] out = new long[sorted.length + 1];
        System.arraycopy(sorted, 0, out, 0, at);
        out[at] = v;
        System.arraycopy(sorted, at, out, at + 1, sorted.length - at);
        return out;
    }

    private static int[] insert(int[] sorted, int v) {
        int at = -Arrays.binarySearch(sorted, v) - 1;
        int[] out = new int[sorted.length + 1];
        System.arraycopy(sorted, 0, out, 0, at);
        out[at] = v;
        System.arraycopy(sorted, at, out, at + 1, sorted.length - at);
        return out;
    }

    private static long[] remove(long[] sorted, long v) {
        return Arrays.stream(sorted).filter(x -> x != v).toArray();
    }

    private static int[] remove(int[] sorted, int v) {
        return Arrays.stream(sorted).filter(x -> x != v).toArray();
    }

    private static String[] append(String[] a, String v) {
        String[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = v;
        return out;
    }

    private static String normalise(String path) {
        java.util.Objects.requireNonNull(path, "path");
        if (!path.startsWith("/") || path.contains("//") || (path.length() > 1 && path.endsWith("/"))) {
            throw new IllegalArgumentException("a cgroup path is relative to the hierarchy root and looks like /a/b, was \""
                    + path + "\"");
        }
        return path;
    }
}
