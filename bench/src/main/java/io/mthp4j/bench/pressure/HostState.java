package io.mthp4j.bench.pressure;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Every global setting the pressure evaluation changes, with the value it had before: the per-size THP
 * {@code enabled} knobs, {@code vm.overcommit_memory}, {@code vm.nr_hugepages}, the zram swap it sets up and the
 * cgroups it creates. The originals go to a state file (mode 0600) before the first change, so a harness killed
 * with SIGKILL is undone by the next start or by {@code bench/pressure/run --restore}; {@link #restore()} puts
 * everything back and deletes the file. The top-level {@code enabled} and {@code anon_beside_full} are never
 * written (pressure-experiment.md: the configurations write every size, the top level stays).
 */
final class HostState {
    static final Path THP = Path.of("/sys/kernel/mm/transparent_hugepage");
    static final Path OVERCOMMIT = Path.of("/proc/sys/vm/overcommit_memory");
    static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");
    static final Path ZRAM = Path.of("/sys/block/zram0");
    static final Path DEFAULT_STATE = Path.of("/run/mthp4j/pressure-eval.state");

    private final Path stateFile;
    private final Properties original = new Properties();
    private final List<String> log = new ArrayList<>();
    private boolean recorded;

    HostState(Path stateFile) {
        this.stateFile = stateFile;
    }

    /** The per-size {@code enabled} knobs: {@code hugepages-16kB/enabled} ... {@code hugepages-2048kB/enabled}. */
    static List<String> sizeKnobs() throws IOException {
        List<String> knobs = new ArrayList<>();
        try (var dirs = Files.list(THP)) {
            dirs.filter(d -> d.getFileName().toString().matches("hugepages-\\d+kB"))
                    .filter(d -> Files.exists(d.resolve("enabled")))
                    .sorted((a, b) -> Long.compare(sizeKb(a), sizeKb(b)))
                    .forEach(d -> knobs.add(d.getFileName() + "/enabled"));
        }
        return knobs;
    }

    static long sizeKb(Path dir) {
        String n = dir.getFileName().toString();
        return Long.parseLong(n.substring("hugepages-".length(), n.length() - 2));
    }

    /**
     * A numeric sysctl's value. Read in one call: {@code /proc/sys} number files answer a read at an offset above
     * 0 with end-of-file, so {@link Files#readString}, which reads a size-0 file a byte first, sees only the first
     * digit ({@code 9883} reads as {@code 9}).
     */
    static String sysctl(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[4096];
            int n = in.read(buf);
            return n <= 0 ? "" : new String(buf, 0, n, java.nio.charset.StandardCharsets.US_ASCII).trim();
        }
    }

    /** The bracketed word of a sysfs choice file ({@code always inherit madvise [never]} gives {@code never}). */
    static String selected(Path file) throws IOException {
        String text = Files.readString(file).trim();
        int open = text.indexOf('['), close = text.indexOf(']');
        if (open < 0 || close < open) {
            throw new IOException(file + ": expected a bracketed choice, read '" + text + "'");
        }
        return text.substring(open + 1, close);
    }

    /** A snapshot of what the harness may change, for the before/after comparison. */
    static Map<String, String> snapshot() throws IOException {
        Map<String, String> s = new TreeMap<>();
        s.put("enabled (top level)", selected(THP.resolve("enabled")));
        for (String k : sizeKnobs()) {
            s.put(k, selected(THP.resolve(k)));
        }
        s.put("vm.overcommit_memory", sysctl(OVERCOMMIT));
        s.put("vm.nr_hugepages", sysctl(NR_HUGEPAGES));
        s.put("swap devices", String.join(",", swapDevices()));
        s.put("zram0 disksize", Files.exists(ZRAM) ? Files.readString(ZRAM.resolve("disksize")).trim() : "(no zram0)");
        for (Path cg : List.of(Cgroups.V1, Cgroups.V2)) {
            s.put("cgroup " + cg, Files.isDirectory(cg) ? "exists" : "absent");
        }
        return s;
    }

    static List<String> swapDevices() throws IOException {
        List<String> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(Path.of("/proc/swaps"));
        for (String l : lines.subList(Math.min(1, lines.size()), lines.size())) {
            if (!l.isBlank()) {
                out.add(l.trim().split("\\s+")[0]);
            }
        }
        return out;
    }

    /** Records the originals of everything below in the state file, before anything is written. */
    synchronized void record() throws IOException {
        for (String k : sizeKnobs()) {
            original.setProperty("knob." + k, selected(THP.resolve(k)));
        }
        original.setProperty("sysctl.overcommit_memory", sysctl(OVERCOMMIT));
        original.setProperty("sysctl.nr_hugepages", sysctl(NR_HUGEPAGES));
        save();
        recorded = true;
    }

    private synchronized void save() throws IOException {
        Files.createDirectories(stateFile.getParent());
        Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(tmp)) {
            original.store(out, "mthp4j pressure evaluation: the originals of what it changed (bench/pressure/run --restore)");
        }
        try {
            Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Notes that the harness set up zram swap or created a cgroup, so a restore undoes it. */
    synchronized void mark(String key, String value) throws IOException {
        original.setProperty(key, value);
        save();
    }

    /**
     * Notes a process the harness started (with its start time, so that a restore after a kill -9 of the harness
     * stops that process and never another that got its pid).
     */
    synchronized void markChild(long pid, String what) throws IOException {
        String started = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant()).map(Object::toString).orElse("?");
        original.setProperty("child." + pid, started + " " + what);
        save();
    }

    synchronized void unmarkChild(long pid) throws IOException {
        if (original.remove("child." + pid) != null) {
            save();
        }
    }

    /** Stops the harness's processes that outlived it: SIGTERM, SIGKILL after 10 s. */
    private void stopLeftovers(List<String> failures) {
        for (String key : original.stringPropertyNames()) {
            if (!key.startsWith("child.")) {
                continue;
            }
            long pid = Long.parseLong(key.substring("child.".length()));
            String[] v = original.getProperty(key).split(" ", 2);
            ProcessHandle.of(pid).filter(h -> h.info().startInstant().map(Object::toString).orElse("?").equals(v[0])).ifPresent(h -> {
                h.destroy();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    h.destroyForcibly();
                } catch (InterruptedException e) {
                    h.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
                log.add("stopped " + (v.length > 1 ? v[1] : "a process") + " (pid " + pid + ") that the harness had started");
            });
            if (ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(h -> h.info().startInstant().map(Object::toString).orElse("?").equals(v[0])).isPresent()) {
                failures.add("pid " + pid + " (" + (v.length > 1 ? v[1] : "") + ") did not stop");
            }
            original.remove(key);
        }
    }

    boolean stateFileExists() {
        return Files.exists(stateFile);
    }

    /** Loads a state file a killed harness left. */
    void load() throws IOException {
        try (InputStream in = Files.newInputStream(stateFile)) {
            original.load(in);
        }
        recorded = true;
    }

    // --- changes -------------------------------------------------------------------------------------------------

    /** Writes {@code value} to every per-size {@code enabled} knob (16K ... 2M; the top level is left). */
    static void allSizes(String value) throws IOException {
        for (String k : sizeKnobs()) {
            write(THP.resolve(k), value);
        }
    }

    static void write(Path file, String value) throws IOException {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new IOException("could not write '" + value + "' to " + file + ": " + e.getMessage(), e);
        }
    }

    static void dropCaches() throws IOException, InterruptedException {
        Proc.run(List.of("sync"), 60);
        write(Path.of("/proc/sys/vm/drop_caches"), "3");
    }

    static long meminfoKb(String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith(field + ":")) {
                return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("/proc/meminfo has no " + field);
    }

    /**
     * Holds hugetlb pages until MemFree is about {@code freeBytes} (pressure-experiment.md: global pressure, MemFree
     * about 2 GiB). Returns the number of pages held. Allocating them makes kswapd reclaim past its watermark, so
     * MemFree keeps rising for a moment after a write: the pages are topped up until two readings half a second
     * apart agree within 16 pages (32 MiB), or 20 rounds. The first version sized once and the first run of a
     * block ran with about 1 GiB more free memory than the others.
     */
    static long holdHugetlbUntilFree(long freeBytes) throws IOException, InterruptedException {
        long pageKb = meminfoKb("Hugepagesize");
        long pages = Long.parseLong(sysctl(NR_HUGEPAGES));
        int quiet = 0;
        for (int round = 0; round < 20 && quiet < 2; round++) {
            long freeKb = meminfoKb("MemFree");
            long deltaPages = (freeKb - freeBytes / 1024) / pageKb;
            if (Math.abs(deltaPages) < 16) {
                quiet++;
            } else {
                quiet = 0;
                pages = Math.max(0, pages + deltaPages);
                write(NR_HUGEPAGES, Long.toString(pages));
                pages = Long.parseLong(sysctl(NR_HUGEPAGES));
            }
            TimeUnit.MILLISECONDS.sleep(500);
        }
        return pages;
    }

    /** zram0 as an 8 GiB lzo-rle swap device at priority 100 (pressure-experiment.md, Setup). */
    void setUpZram(long bytes) throws IOException, InterruptedException {
        if (!Files.exists(ZRAM)) {
            Proc.run(List.of("modprobe", "zram"), 30);
        }
        if (!Files.exists(ZRAM)) {
            throw new IOException("no /sys/block/zram0 and 'modprobe zram' did not make one: this kernel has no zram;"
                    + " the evaluation needs a swap device");
        }
        String disksize = Files.readString(ZRAM.resolve("disksize")).trim();
        if (!disksize.equals("0") || swapDevices().contains("/dev/zram0")) {
            throw new IOException("/dev/zram0 is already set up (disksize " + disksize + "): the harness sets up its own"
                    + " zram swap and will not take over one in use; swapoff /dev/zram0 && echo 1 > /sys/block/zram0/reset,"
                    + " or free another zram device");
        }
        mark("zram.setup", "true");
        write(ZRAM.resolve("comp_algorithm"), "lzo-rle");
        write(ZRAM.resolve("disksize"), Long.toString(bytes));
        Proc.run(List.of("mkswap", "/dev/zram0"), 60);
        Proc.run(List.of("swapon", "-p", "100", "/dev/zram0"), 60);
        log.add("zram0: " + (bytes >> 30) + " GiB lzo-rle swap on");
    }

    /**
     * Puts back everything recorded, in the reverse order of set-up, and deletes the state file. Each step is tried
     * even when an earlier one fails; the failures are returned (empty: all restored).
     */
    synchronized List<String> restore() {
        List<String> failures = new ArrayList<>();
        if (!recorded) {
            return failures;
        }
        stopLeftovers(failures);
        for (String key : original.stringPropertyNames()) {
            if (key.startsWith("cgroup.")) {
                Path dir = Path.of(original.getProperty(key));
                try {
                    Cgroups.remove(dir);
                    log.add("removed " + dir);
                } catch (IOException | InterruptedException e) {
                    failures.add("cgroup " + dir + ": " + e.getMessage());
                }
            }
        }
        String hp = original.getProperty("sysctl.nr_hugepages");
        if (hp != null) {
            step(failures, "vm.nr_hugepages", () -> write(NR_HUGEPAGES, hp));
        }
        if ("true".equals(original.getProperty("zram.setup"))) {
            step(failures, "zram0", () -> {
                if (swapDevices().contains("/dev/zram0")) {
                    Proc.run(List.of("swapoff", "/dev/zram0"), 600);
                }
                write(ZRAM.resolve("reset"), "1");
            });
        }
        String oc = original.getProperty("sysctl.overcommit_memory");
        if (oc != null) {
            step(failures, "vm.overcommit_memory", () -> write(OVERCOMMIT, oc));
        }
        for (String key : original.stringPropertyNames()) {
            if (key.startsWith("knob.")) {
                String k = key.substring("knob.".length());
                step(failures, k, () -> write(THP.resolve(k), original.getProperty(key)));
            }
        }
        if (failures.isEmpty()) {
            try {
                Files.deleteIfExists(stateFile);
            } catch (IOException e) {
                failures.add("state file " + stateFile + ": " + e.getMessage());
            }
            recorded = false;
        }
        return failures;
    }

    private interface Step {
        void run() throws IOException, InterruptedException;
    }

    private static void step(List<String> failures, String what, Step step) {
        try {
            step.run();
        } catch (IOException | InterruptedException e) {
            failures.add(what + ": " + e.getMessage());
        }
    }

    List<String> log() {
        return log;
    }
}
