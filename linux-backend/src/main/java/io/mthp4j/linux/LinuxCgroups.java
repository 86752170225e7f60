package io.mthp4j.linux;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.Pressure;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The cgroup v2 hierarchy found in {@code /proc/self/mountinfo} (linux-interfaces.md §4; on our machines
 * {@code /sys/fs/cgroup/unified}, without the memory controller). A cgroup's id is its directory's inode
 * number. Memory counters come from v2 {@code memory.stat} where the memory controller is, and otherwise from
 * the cgroup v1 memory hierarchy at the same relative path. A cgroup that vanished, or whose path now holds a
 * new cgroup (ids are never reused), gives ENOENT.
 */
final class LinuxCgroups implements CgroupTree {

    /**
     * Which v1 {@code memory.stat} fields stand for v2's {@code anon}, {@code shmem}, {@code file},
     * {@code anon_thp}. The reference leaves it open (linux-interfaces.md §4, [unknown: make it a parameter]);
     * the default is {@link #HIERARCHICAL} because v2's counters include descendants.
     */
    enum V1Stats {
        /** {@code total_rss}, {@code total_shmem}, {@code total_cache}, {@code total_rss_huge}. */
        HIERARCHICAL("total_"),
        /** {@code rss}, {@code shmem}, {@code cache}, {@code rss_huge}: this cgroup's own pages only. */
        LOCAL("");

        final String prefix;

        V1Stats(String prefix) {
            this.prefix = prefix;
        }
    }

    static final Path SYSTEM_PRESSURE = Path.of("/proc/pressure/memory");

    private final Path v2Root;
    private final Path v1MemoryRoot;
    private final V1Stats v1Stats;
    private final CgroupRef root;

    LinuxCgroups(Path v2Root, Path v1MemoryRoot, V1Stats v1Stats) {
        this.v2Root = Objects.requireNonNull(v2Root, "v2Root");
        this.v1MemoryRoot = v1MemoryRoot;
        this.v1Stats = Objects.requireNonNull(v1Stats, "v1Stats");
        this.root = new CgroupRef(inode(v2Root, "/"), "/");
    }

    /** The cgroup2 mount and the v1 memory mount (if any) of this machine. */
    static LinuxCgroups detect(V1Stats v1Stats) {
        MountInfo mounts = MountInfo.read();
        MountInfo.Mount v2 = mounts.first("cgroup2");
        if (v2 == null) {
            throw new KernelException("find cgroup2 mount", MountInfo.PROC_SELF_MOUNTINFO.toString(), Errno.ENOENT.value(),
                    "no cgroup v2 hierarchy is mounted; mount one with: mount -t cgroup2 none /sys/fs/cgroup/unified", null);
        }
        MountInfo.Mount v1 = mounts.cgroupV1("memory");
        return new LinuxCgroups(v2.mountPoint(), v1 == null ? null : v1.mountPoint(), v1Stats);
    }

    Path v2Root() {
        return v2Root;
    }

    /** The v1 memory hierarchy, or null when there is none. */
    Path v1MemoryRoot() {
        return v1MemoryRoot;
    }

    /** Whether the v2 root offers the memory controller to its children. */
    boolean memoryOnV2() {
        try {
            return (" " + Files.readString(v2Root.resolve("cgroup.controllers")).strip() + " ").contains(" memory ");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public CgroupRef root() {
        return root;
    }

    /** The directory of a cgroup, after checking it still is that cgroup. */
    Path dir(CgroupRef cgroup) {
        Path dir = cgroup.isRoot() ? v2Root : v2Root.resolve(cgroup.path().substring(1));
        long ino = inode(dir, cgroup.path());
        if (ino != cgroup.id()) {
            throw new KernelException("open", dir.toString(), Errno.ENOENT.value(),
                    "cgroup id " + cgroup.id() + " was removed; the path now holds cgroup id " + ino, null);
        }
        return dir;
    }

    /** The cgroup at a path relative to the root ({@code /a/b}). */
    CgroupRef at(String path) {
        Path dir = path.equals("/") ? v2Root : v2Root.resolve(path.substring(1));
        return new CgroupRef(inode(dir, path), path);
    }

    private static long inode(Path dir, String path) {
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new NoSuchFileException(dir.toString());
            }
            return (Long) Files.getAttribute(dir, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new KernelException("open", dir.toString(), Errno.ENOENT.value(), "cgroup " + path + " does not exist (removed?)", e);
        } catch (IOException e) {
            throw new KernelException("stat", dir.toString(), Errno.EIO.value(), e.toString(), e);
        }
    }

    @Override
    public List<CgroupRef> walk(CgroupRef from) {
        List<CgroupRef> out = new ArrayList<>();
        Path dir = dir(from);
        out.add(from);
        walk(dir, from.path(), out);
        return out;
    }

    private void walk(Path dir, String path, List<CgroupRef> out) {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))) {
            s.forEach(children::add);
        } catch (NoSuchFileException vanished) {
            return; // removed during the walk: skip its subtree for this scan
        } catch (IOException e) {
            throw new KernelException("list", dir.toString(), Errno.EIO.value(), e.toString(), e);
        }
        children.sort(null);
        for (Path child : children) {
            String childPath = (path.equals("/") ? "" : path) + "/" + child.getFileName();
            try {
                CgroupRef ref = new CgroupRef(inode(child, childPath), childPath);
                out.add(ref);
                walk(child, childPath, out);
            } catch (KernelException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
            }
        }
    }

    @Override
    public boolean hasTasks(CgroupRef cgroup) {
        return !ProcText.read(dir(cgroup).resolve("cgroup.procs"), "the cgroup was removed").isBlank();
    }

    @Override
    public CgroupMemory memory(CgroupRef cgroup) {
        Path dir = dir(cgroup);
        if (Files.exists(dir.resolve("memory.stat"))) {
            return v2Memory(dir);
        }
        Path v1 = v1Dir(cgroup);
        if (v1 != null && Files.exists(v1.resolve("memory.stat"))) {
            return v1Memory(v1);
        }
        throw new KernelException("read memory.stat", dir.toString(), Errno.ENOENT.value(), "no memory controller for this cgroup: cgroup v2"
                + " has none here and " + (v1MemoryRoot == null ? "there is no v1 memory hierarchy"
                : "the v1 memory hierarchy has no cgroup at " + v1), null);
    }

    /** The v1 memory cgroup at the same relative path (it may not exist), or null without a v1 memory hierarchy. */
    Path v1Dir(CgroupRef cgroup) {
        return v1MemoryRoot == null ? null : cgroup.isRoot() ? v1MemoryRoot : v1MemoryRoot.resolve(cgroup.path().substring(1));
    }

    private static CgroupMemory v2Memory(Path dir) {
        Map<String, Long> stat = ProcText.keyValues(ProcText.read(dir.resolve("memory.stat"), "the cgroup was removed"));
        return new CgroupMemory(number(dir.resolve("memory.current")), stat.getOrDefault("anon", 0L),
                stat.getOrDefault("shmem", 0L), stat.getOrDefault("file", 0L), stat.getOrDefault("anon_thp", 0L),
                limit(dir.resolve("memory.high")), limit(dir.resolve("memory.max")));
    }

    private CgroupMemory v1Memory(Path dir) {
        Map<String, Long> stat = ProcText.keyValues(ProcText.read(dir.resolve("memory.stat"), "the cgroup was removed"));
        String p = v1Stats.prefix;
        long max = number(dir.resolve("memory.limit_in_bytes"));
        // v1 shows "no limit" as PAGE_COUNTER_MAX pages, a number near 2^63
        return new CgroupMemory(number(dir.resolve("memory.usage_in_bytes")), stat.getOrDefault(p + "rss", 0L),
                stat.getOrDefault(p + "shmem", 0L), stat.getOrDefault(p + "cache", 0L), stat.getOrDefault(p + "rss_huge", 0L),
                CgroupMemory.NO_LIMIT, max >= (1L << 62) ? CgroupMemory.NO_LIMIT : max);
    }

    static long number(Path file) {
        String t = ProcText.read(file, "the cgroup was removed").strip();
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new KernelException("parse", file.toString(), Errno.EIO.value(), "not a number: \"" + t + "\"", e);
        }
    }

    static long limit(Path file) {
        String t = ProcText.read(file, "the cgroup was removed").strip();
        return t.equals("max") ? CgroupMemory.NO_LIMIT : number(file);
    }

    /** The memory pressure file of a cgroup; the root's is the system-wide one (kernel-semantics.md §10.1). */
    Path pressureFile(CgroupRef cgroup) {
        return cgroup.isRoot() ? SYSTEM_PRESSURE : dir(cgroup).resolve("memory.pressure");
    }

    @Override
    public Pressure pressure(CgroupRef cgroup) {
        Path file = pressureFile(cgroup);
        return ProcText.pressure(file, ProcText.read(file, cgroup.isRoot() ? "PSI is off (boot with psi=1)" : "the cgroup was removed"));
    }

    // ---- for tests and tools: cgroups this process creates ----

    /** {@code mkdir} of a v2 cgroup. */
    CgroupRef mkdir(String path) {
        Path dir = v2Root.resolve(path.substring(1));
        try {
            Files.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new KernelException("mkdir", dir.toString(), Errno.EEXIST.value(), null, e);
        } catch (IOException e) {
            throw new KernelException("mkdir", dir.toString(), Errno.EIO.value(), e.toString(), e);
        }
        return at(path);
    }

    /** {@code rmdir} of a v2 cgroup (it must have no tasks and no children). */
    void rmdir(CgroupRef cgroup) {
        Path dir = dir(cgroup);
        try {
            Files.delete(dir);
        } catch (IOException e) {
            throw new KernelException("rmdir", dir.toString(), Errno.EBUSY.value(), "it still has tasks or children: " + e, e);
        }
    }
}
