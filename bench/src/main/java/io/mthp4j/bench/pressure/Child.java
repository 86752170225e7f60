package io.mthp4j.bench.pressure;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A process the harness started (Redis, the JVM workload, the mthp4j daemon): every line it prints is kept with
 * the time it arrived (seconds since the run's start) and appended to a log file, so that policy switches can be
 * placed on the run's time line.
 */
final class Child implements AutoCloseable {
    /** One line of output, {@code seconds} after the run started. */
    record Line(double seconds, boolean stderr, String text) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%+8.3fs %s", seconds, text);
        }
    }

    private final String name;
    private final Process process;
    private final long startNanos;
    private final List<Line> lines = new ArrayList<>();
    private final Writer log;
    private final List<Thread> pumps = new ArrayList<>();

    private Child(String name, Process process, long startNanos, Path logFile) throws IOException {
        this.name = name;
        this.process = process;
        this.startNanos = startNanos;
        this.log = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        pump(process.getInputStream(), false);
        pump(process.getErrorStream(), true);
    }

    /** Starts {@code command}; {@code startNanos} is the run's time origin ({@link System#nanoTime()}). */
    static Child start(String name, List<String> command, long startNanos, Path logFile) throws IOException {
        Process p = new ProcessBuilder(command).start();
        return new Child(name, p, startNanos, logFile);
    }

    private void pump(InputStream in, boolean stderr) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    Line line = new Line((System.nanoTime() - startNanos) / 1e9, stderr, l);
                    synchronized (this) {
                        lines.add(line);
                        log.write(name + (stderr ? " ! " : " | ") + line + "\n");
                        log.flush();
                        notifyAll();
                    }
                }
            } catch (IOException e) {
                // the process closed its output or died: its lines so far are kept
            }
        }, name + (stderr ? "-err" : "-out"));
        t.setDaemon(true);
        pumps.add(t);
        t.start();
    }

    /** After the exit: waits (up to 5 s) until the last lines the process wrote have been read. */
    private void drain() throws InterruptedException {
        for (Thread t : pumps) {
            t.join(5_000);
        }
    }

    /** Waits for a line that matches, or until the process exits or the timeout passes; null if none came. */
    synchronized Line await(Predicate<String> match, long timeoutMillis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        int seen = 0;
        while (true) {
            for (; seen < lines.size(); seen++) {
                if (match.test(lines.get(seen).text())) {
                    return lines.get(seen);
                }
            }
            long left = end - System.nanoTime();
            if (left <= 0 || (!process.isAlive() && seen == lines.size() && pumps.stream().noneMatch(Thread::isAlive))) {
                return null;
            }
            wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left))));
        }
    }

    synchronized List<Line> lines() {
        return new ArrayList<>(lines);
    }

    void send(String line) throws IOException {
        PrintWriter w = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        w.println(line);
        w.flush();
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Waits for the exit; the status, or null on timeout. */
    Integer waitFor(long timeoutMillis) throws InterruptedException {
        if (!process.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
            return null;
        }
        drain();
        return process.exitValue();
    }

    /** The exit described: {@code exit 0}, {@code killed by SIGKILL}. */
    static String describe(int status) {
        if (status > 128) {
            int sig = status - 128;
            String name = switch (sig) {
                case 9 -> "SIGKILL";
                case 15 -> "SIGTERM";
                case 2 -> "SIGINT";
                case 6 -> "SIGABRT";
                case 11 -> "SIGSEGV";
                default -> "signal " + sig;
            };
            return "killed by " + name;
        }
        return "exit " + status;
    }

    /** SIGTERM, then SIGKILL after {@code graceMillis}; returns the exit status. */
    int stop(long graceMillis) throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(graceMillis, TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
        if (process.isAlive()) {
            return -1;
        }
        drain();
        return process.exitValue();
    }

    @Override
    public void close() {
        try {
            stop(10_000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            try {
                log.close();
            } catch (IOException e) {
                // the log is best effort
            }
        }
    }
}
