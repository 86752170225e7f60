package io.mthp4j.runtime;

import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.linux.LinuxKernel;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Starts a child process with a chosen THP mode, like systemd's {@code MemoryTHP=} (linux-interfaces.md §9.4):
 * prctl is inherited across fork and kept across exec (kernel-semantics.md §9).
 *
 * <pre>
 *   java -jar mthp4j-runtime.jar disable redis-server --disable-thp no
 *   java -cp ... io.mthp4j.runtime.Launch madvise java -jar service.jar
 * </pre>
 *
 * As a main class it is the dedicated launcher: it sets its own mode, starts the command with the same standard
 * streams, waits for it, forwards SIGTERM/SIGINT to it (JVM shutdown) and exits with its status. {@link #start}
 * does the same from inside a JVM that keeps running: it sets this JVM's mode for the instant of the fork and
 * restores it, so memory other threads fault in that instant follows the child's mode.
 */
public final class Launch {

    private static final Object FORK_LOCK = new Object();

    private Launch() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 2) {
            System.err.println("usage: Launch inherit|disable|madvise|system <command> [args...]   (as systemd's MemoryTHP=)");
            System.exit(2);
        }
        MemoryThp mode;
        try {
            mode = MemoryThp.parse(args[0]);
        } catch (IllegalArgumentException e) {
            System.err.println("mthp4j launch: " + e.getMessage());
            System.exit(2);
            return;
        }
        List<String> command = Arrays.asList(args).subList(1, args.length);
        Process child;
        try {
            mode.apply(LinuxKernel.open().currentProcess()); // dedicated launcher: its own mode, inherited by the child
            child = new ProcessBuilder(command).inheritIO().start();
        } catch (IOException | RuntimeException e) {
            System.err.println("mthp4j launch: could not start " + String.join(" ", command) + ": " + e.getMessage());
            System.exit(127);
            return;
        }
        Process started = child;
        Thread forward = new Thread(() -> {
            if (started.isAlive()) {
                started.destroy();
            }
        }, "mthp4j-launch-forward");
        Runtime.getRuntime().addShutdownHook(forward);
        int status = child.waitFor();
        try {
            Runtime.getRuntime().removeShutdownHook(forward);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs
        }
        System.exit(status);
    }

    /**
     * Starts {@code builder}'s command with {@code mode}, from a JVM that keeps its own mode: this process's mode
     * is set for the fork and restored right after, also if the start fails.
     */
    public static Process start(MemoryThp mode, ProcessBuilder builder) throws IOException {
        return start(mode, builder, LinuxKernel.open().currentProcess());
    }

    static Process start(MemoryThp mode, ProcessBuilder builder, ThpProcess self) throws IOException {
        Objects.requireNonNull(builder, "builder");
        if (mode == MemoryThp.INHERIT) {
            return builder.start();
        }
        synchronized (FORK_LOCK) {
            ProcessThpMode own = self.thpMode();
            mode.apply(self);
            try {
                return builder.start();
            } finally {
                self.setThpMode(own);
            }
        }
    }
}
