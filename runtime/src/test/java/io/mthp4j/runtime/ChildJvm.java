package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.linux.LinuxKernel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Child JVMs for the real-kernel tests, so the test JVM's own prctl state is never at stake, and the
 * assumptions those tests need: Linux, root, the backend (disabled with the reason elsewhere).
 */
final class ChildJvm implements AutoCloseable {

    private final Process process;
    private final PrintStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = new ArrayList<>();

    private ChildJvm(Process process) {
        this.process = process;
        this.in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (all) {
                        all.add(line);
                    }
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the child is gone
            }
        }, "child-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static void assumeRealKernel() {
        assumeTrue(LinuxKernel.unavailableReason() == null, () -> "needs the Linux backend: " + LinuxKernel.unavailableReason());
        assumeTrue(isRoot(), "needs root (prctl is fine unprivileged, but cgroups, pagemap and kpageflags are not)");
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).anyMatch(l -> l.split("\\s+")[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The java command for {@code mainClass} of the test class path, with JVM options. */
    static List<String> java(List<String> jvmOptions, Class<?> mainClass, String... args) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c.addAll(jvmOptions);
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        c.add(mainClass.getName());
        c.addAll(List.of(args));
        return c;
    }

    /** Starts a command (stderr merged into stdout). */
    static ChildJvm start(List<String> command) throws IOException {
        return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /** Waits for a line that starts with {@code prefix}; the lines before it are kept in {@link #output()}. */
    String await(String prefix, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line;
            }
            if (line == null && !process.isAlive() && lines.isEmpty()) {
                break;
            }
        }
        throw new AssertionError("no line starting with \"" + prefix + "\" within " + seconds + " s; the child said:\n" + output());
    }

    void send(String command) {
        in.println(command);
    }

    String output() {
        synchronized (all) {
            return String.join("\n", all);
        }
    }

    int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("the child did not exit within " + seconds + " s:\n" + output());
        }
        Thread.sleep(50); // let the reader drain
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
