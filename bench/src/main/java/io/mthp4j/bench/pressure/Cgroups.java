package io.mthp4j.bench.pressure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The evaluation's own cgroup, {@code mthp4j-eval}, in the cgroup v1 memory hierarchy (the hard limit,
 * {@code memory.limit_in_bytes}, pressure-experiment.md) and in cgroup v2 (its {@code memory.pressure} for mthp_ext,
 * and the path mthp4j follows; on our machines v2 has no memory controller, linux-interfaces.md §4). Only this
 * cgroup is ever created, written or removed, and only processes the harness started are moved into it.
 */
final class Cgroups {
    static final String NAME = "mthp4j-eval";
    static final Path V1_ROOT = mount("cgroup", "memory");
    static final Path V2_ROOT = mount("cgroup2", null);
    static final Path V1 = V1_ROOT == null ? Path.of("/sys/fs/cgroup/memory", NAME) : V1_ROOT.resolve(NAME);
    static final Path V2 = V2_ROOT == null ? Path.of("/sys/fs/cgroup/unified", NAME) : V2_ROOT.resolve(NAME);

    private Cgroups() {
    }

    private static Path mount(String type, String option) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 3 && f[2].equals(type) && (option == null || List.of(f[3].split(",")).contains(option))) {
                    return Path.of(f[1]);
                }
            }
        } catch (IOException e) {
            // not Linux: the harness refuses to start before it gets here
        }
        return null;
    }

    /** Why the hard-limit pressures cannot run here, or null. */
    static String limitUnavailable() {
        if (V1_ROOT == null) {
            return "no cgroup v1 memory hierarchy is mounted (the hard limit is a v1 memory.limit_in_bytes, as on our"
                    + " machines); on a cgroup v2 host run the hard-limit cells by hand with memory.max";
        }
        if (V2_ROOT == null) {
            return "no cgroup v2 hierarchy is mounted (mthp4j follows the workload's v2 path)";
        }
        return null;
    }

    static void create(HostState state) throws IOException {
        for (Path dir : List.of(V1, V2)) {
            if (Files.isDirectory(dir)) {
                throw new IOException(dir + " exists already: another evaluation is running, or one was killed before it"
                        + " could remove it; if no evaluation runs, 'bench/pressure/run --restore' removes it");
            }
        }
        for (Path dir : List.of(V1, V2)) {
            state.mark("cgroup." + dir, dir.toString());
            Files.createDirectory(dir);
        }
    }

    /** The hard limit on the v1 memcg, or none ({@code bytes < 0}). */
    static void limit(long bytes) throws IOException {
        HostState.write(V1.resolve("memory.limit_in_bytes"), bytes < 0 ? "-1" : Long.toString(bytes));
    }

    /** The v1 memcg's {@code oom_kill} count (memory.oom_control). */
    static long oomKills() throws IOException {
        for (String l : Files.readAllLines(V1.resolve("memory.oom_control"))) {
            if (l.startsWith("oom_kill ")) {
                return Long.parseLong(l.substring(8).trim());
            }
        }
        return -1;
    }

    static long v1(String file) throws IOException {
        return Long.parseLong(Files.readString(V1.resolve(file)).trim());
    }

    /** The pids in a cgroup. */
    static List<Long> procs(Path dir) throws IOException {
        List<Long> pids = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("cgroup.procs"))) {
            if (!l.isBlank()) {
                pids.add(Long.parseLong(l.trim()));
            }
        }
        return pids;
    }

    /**
     * Removes one of the harness's cgroups. Its processes are the harness's own workloads, stopped before this is
     * called; a process still in it after 10 s is reported, not killed.
     */
    static void remove(Path dir) throws IOException, InterruptedException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        for (int i = 0; i < 100 && !procs(dir).isEmpty(); i++) {
            TimeUnit.MILLISECONDS.sleep(100);
        }
        if (!procs(dir).isEmpty()) {
            throw new IOException(dir + " still holds processes " + procs(dir) + "; stop them and rmdir " + dir);
        }
        Files.delete(dir);
    }

    /**
     * A command that joins the evaluation's cgroups (v2 too when {@code joinV2}), sets its OOM score to 1000 (the
     * workload, not the harness, is what a global OOM kill should take, pressure-experiment.md) and execs
     * {@code command}.
     */
    static List<String> joining(boolean joinV2, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("sh", "-c",
                "echo $$ > " + V1.resolve("cgroup.procs") + " && "
                        + (joinV2 ? "echo $$ > " + V2.resolve("cgroup.procs") + " && " : "")
                        + "echo 1000 > /proc/self/oom_score_adj && exec \"$@\"",
                "sh"));
        cmd.addAll(command);
        return cmd;
    }
}
