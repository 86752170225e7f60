package io.mthp4j.api;

import java.util.Objects;

/**
 * A cgroup as the kernel names it: its id (the inode number of its directory, never reused) and its path
 * relative to the hierarchy root ({@code "/"} for the root).
 *
 * @param id   cgroup id; 0 means "no cgroup known" (the host-wide default)
 * @param path path from the hierarchy root, starting with {@code /}
 */
public record CgroupRef(long id, String path) {

    /** The host-wide default: no particular cgroup. */
    public static final CgroupRef NONE = new CgroupRef(0, "/");

    public CgroupRef {
        Objects.requireNonNull(path, "path");
        if (id < 0) {
            throw new IllegalArgumentException("cgroup id must not be negative, was " + id);
        }
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("cgroup path must start with '/', was \"" + path + "\"");
        }
    }

    /** Whether this is the root of its hierarchy. */
    public boolean isRoot() {
        return path.equals("/");
    }

    /** The last path element, {@code "/"} for the root (as the mthp_ext sample prints it). */
    public String name() {
        return isRoot() ? "/" : path.substring(path.lastIndexOf('/') + 1);
    }

    @Override
    public String toString() {
        return path + " (id " + id + ")";
    }
}
