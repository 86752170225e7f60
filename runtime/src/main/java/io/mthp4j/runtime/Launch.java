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
 * As a main class (and {@code mthp4j launch}) it starts the command with the same standard streams, waits for it,
 * forwards SIGTERM/SIGINT to it (JVM shutdown) and exits with its status. Either way, and with {@link #start} from
 * a JVM that keeps running, the JVM's own mode is set for the instant of the fork and restored right after, so
 * memory other threads fault in that instant follows the child's mode.
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
        try {
            System.exit(run(mode, command));
        } catch (IOException | RuntimeException e) {
            System.err.println("mthp4j launch: could not start " + String.join(" ", command) + ": " + e.getMessage());
            System.exit(127);
        }
    }

    /**
     * Runs {@code command} in {@code mode} with this JVM's standard streams, forwarding JVM shutdown (SIGTERM,
     * SIGINT) to it, and returns its exit status. This JVM's own mode is set for the fork only.
     *
     * @throws IOException if the command cannot be started
     */
    public static int run(MemoryThp mode, List<String> command) throws IOException, InterruptedException {
        Process child = start(mode, new ProcessBuilder(command).inheritIO());
        Thread forward = new Thread(() -> {
            if (child.isAlive()) {
                child.destroy();
            }
        }, "mthp4j-launch-forward");
        Runtime.getRuntime().addShutdownHook(forward);
        try {
            return child.waitFor();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(forward);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs
            }
        }
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
