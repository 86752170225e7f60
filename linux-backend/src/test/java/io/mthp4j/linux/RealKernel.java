package io.mthp4j.linux;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Assumptions for tests that need the real kernel: they are disabled with the reason where it is missing
 * (not Linux, unknown architecture, not root, a missing tool), never silently green.
 */
final class RealKernel {

    private RealKernel() {
    }

    /** Linux on a known architecture, as root. */
    static void assumeRoot() {
        assumeTrue(Libc.AVAILABLE, () -> "needs the Linux backend: " + Libc.UNAVAILABLE_REASON);
        assumeTrue(isRoot(), "needs root (real THP sysfs, bpf(2), pagemap)");
    }

    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /** The tool on PATH, or the test is disabled saying which tool and how to get it. */
    static Path assumeTool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        assumeTrue(false, name + " is not installed (run scripts/setup-ci)");
        return null;
    }

    /** Runs a command; returns exit status and combined output. */
    record Result(int status, String output) {
    }

    static Result run(Path workDir, String... command) {
        try {
            Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            throw new AssertionError("could not run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs {@code mainClass} of the test class path in a child JVM, after {@code prefix} (e.g. setpriv and its options). */
    static Result runJava(Class<?> mainClass, List<String> prefix, String... args) {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        return run(Path.of("").toAbsolutePath(), command.toArray(String[]::new));
    }

    /**
     * Open descriptors of this process that mthp4j could leak: BPF objects and pressure files. Other
     * descriptors come and go with the JVM's own work (class loading, surefire's streams) and would make a
     * plain count flaky.
     */
    static int openFds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.filter(RealKernel::ours).count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static boolean ours(Path fd) {
        try {
            String target = Files.readSymbolicLink(fd).toString();
            return target.contains("bpf") || target.contains("pressure");
        } catch (IOException e) {
            return false; // closed while listing
        }
    }

    /** Deletes a directory tree (pins and directories in bpffs, scratch directories). */
    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(all::add);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(all.get(i));
            } catch (IOException e) {
                throw new AssertionError("could not delete " + all.get(i), e);
            }
        }
    }
}
