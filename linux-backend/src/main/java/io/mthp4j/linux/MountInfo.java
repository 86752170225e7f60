package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code /proc/self/mountinfo}: where bpffs, cgroup2 and the v1 memory hierarchy are mounted. */
record MountInfo(List<Mount> mounts) {

    static final Path PROC_SELF_MOUNTINFO = Path.of("/proc/self/mountinfo");

    /**
     * One line.
     *
     * @param mountPoint   where it is mounted
     * @param fsType       {@code bpf}, {@code cgroup2}, {@code cgroup}, ...
     * @param superOptions per-superblock options (for cgroup v1: the controllers, e.g. {@code rw,memory})
     */
    record Mount(Path mountPoint, String fsType, String superOptions) {
        boolean hasSuperOption(String option) {
            for (String o : superOptions.split(",")) {
                if (o.equals(option)) {
                    return true;
                }
            }
            return false;
        }
    }

    static MountInfo read() {
        try {
            return parse(Files.readString(PROC_SELF_MOUNTINFO));
        } catch (IOException e) {
            throw new KernelException("read", PROC_SELF_MOUNTINFO.toString(), Errno.EIO.value(), e.toString(), e);
        }
    }

    /** Parses the format of proc(5): fields, an optional-fields list ended by "-", then type, source, options. */
    static MountInfo parse(String text) {
        List<Mount> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(" ");
            int dash = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (f.length < 5 || dash < 0 || dash + 1 >= f.length) {
                continue;
            }
            String type = f[dash + 1];
            String options = dash + 3 < f.length ? f[dash + 3] : "";
            out.add(new Mount(Path.of(unescape(f[4])), type, options));
        }
        return new MountInfo(List.copyOf(out));
    }

    /** The mount that holds {@code path}: the last-mounted one with the longest mount point that is a prefix. */
    Mount covering(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Mount best = null;
        for (Mount m : mounts) {
            if (abs.startsWith(m.mountPoint())
                    && (best == null || m.mountPoint().getNameCount() >= best.mountPoint().getNameCount())) {
                best = m;
            }
        }
        return best;
    }

    /** The first mount of {@code fsType}, or null. */
    Mount first(String fsType) {
        return mounts.stream().filter(m -> m.fsType().equals(fsType)).findFirst().orElse(null);
    }

    /** The cgroup v1 mount carrying {@code controller}, or null. */
    Mount cgroupV1(String controller) {
        return mounts.stream().filter(m -> m.fsType().equals("cgroup") && m.hasSuperOption(controller)).findFirst().orElse(null);
    }

    /** Undoes mountinfo's octal escapes ({@code \040} for a space, ...). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 4 <= s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
