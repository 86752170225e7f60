package io.mthp4j.linux;

import com.sun.jna.Memory;
import io.mthp4j.api.Errno;
import io.mthp4j.core.kernel.PsiTrigger;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A daemon thread that waits on several PSI triggers at once with {@code poll(POLLPRI)} and hands each event
 * to a listener (kernel-semantics.md §10.4: at most one event per window per trigger). {@link #close()} wakes
 * the thread through a pipe and waits for it to end; the triggers stay open (their owner closes them).
 */
public final class PsiWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PsiWatcher.class);

    private final List<LinuxPsi.LinuxPsiTrigger> triggers;
    private final Consumer<PsiTrigger> listener;
    private final Memory pollfds;
    private final int wakeRead;
    private final int wakeWrite;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile Throwable failure;

    private PsiWatcher(List<LinuxPsi.LinuxPsiTrigger> triggers, Consumer<PsiTrigger> listener) {
        this.triggers = triggers;
        this.listener = listener;
        this.pollfds = new Memory(8L * (triggers.size() + 1));
        try (Memory fds = new Memory(8)) {
            if (Libc.pipe2(Sys.address(fds), Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0) {
                throw Sys.failure("pipe2", "PSI watcher wake-up pipe", Sys.errno(), null);
            }
            wakeRead = fds.getInt(0);
            wakeWrite = fds.getInt(4);
        }
        thread = new Thread(this::run, "mthp4j-psi-watcher");
        thread.setDaemon(true);
    }

    /**
     * Starts watching. Every trigger must come from the Linux backend's {@code psi()}.
     *
     * @param onEvent called on the watcher thread, once per event, with the trigger that fired
     */
    public static PsiWatcher start(List<? extends PsiTrigger> triggers, Consumer<PsiTrigger> onEvent) {
        Sys.requireAvailable();
        Objects.requireNonNull(onEvent, "onEvent");
        List<LinuxPsi.LinuxPsiTrigger> linux = triggers.stream().map(t -> {
            if (t instanceof LinuxPsi.LinuxPsiTrigger lt) {
                return lt;
            }
            throw new IllegalArgumentException(t + " is not a trigger of the Linux backend");
        }).toList();
        PsiWatcher w = new PsiWatcher(linux, onEvent);
        w.thread.start();
        return w;
    }

    private void run() {
        int n = triggers.size();
        try {
            for (int i = 0; i < n; i++) {
                pollfds.setInt(8L * i, triggers.get(i).fd());
                pollfds.setShort(8L * i + 4, Libc.POLLPRI);
            }
            pollfds.setInt(8L * n, wakeRead);
            pollfds.setShort(8L * n + 4, Libc.POLLIN);
            while (!stopping) {
                for (int i = 0; i <= n; i++) {
                    pollfds.setShort(8L * i + 6, (short) 0);
                }
                int r = Libc.poll(Sys.address(pollfds), n + 1, -1);
                if (r < 0) {
                    int e = Sys.errno();
                    if (Sys.is(e, Errno.EINTR)) {
                        continue;
                    }
                    throw Sys.failure("poll(POLLPRI)", n + " PSI trigger(s)", e, null);
                }
                if (stopping || pollfds.getShort(8L * n + 6) != 0) {
                    return;
                }
                for (int i = 0; i < n; i++) {
                    short revents = pollfds.getShort(8L * i + 6);
                    if ((revents & (Libc.POLLERR | Libc.POLLNVAL)) != 0) {
                        // a closed or dead trigger: stop polling it rather than spin (§5.2)
                        pollfds.setInt(8L * i, -1);
                        LOG.warn("{} has no live trigger any more (revents 0x{}); no longer watched", triggers.get(i),
                                Integer.toHexString(revents));
                    } else if ((revents & Libc.POLLPRI) != 0) {
                        deliver(triggers.get(i));
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            failure = e;
            LOG.error("PSI watcher stopped: {}", e.toString());
        }
    }

    private void deliver(PsiTrigger trigger) {
        try {
            listener.accept(trigger);
        } catch (RuntimeException e) {
            LOG.warn("PSI listener failed on {}: {}", trigger, e.toString());
        }
    }

    /** Whether the thread is still running. */
    public boolean isRunning() {
        return thread.isAlive();
    }

    /** What stopped the thread early, or null. */
    public Throwable failure() {
        return failure;
    }

    /** Stops the thread and waits for it (up to 5 s); the triggers stay open. Idempotent. */
    @Override
    public synchronized void close() {
        if (stopping) {
            return;
        }
        stopping = true;
        try (Memory one = new Memory(1)) {
            one.setByte(0, (byte) 1);
            Libc.write(wakeWrite, Sys.address(one), 1);
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.error("PSI watcher thread did not stop within 5 s");
            return; // keep the pipe and buffer: the thread may still use them
        }
        Libc.close(wakeRead);
        Libc.close(wakeWrite);
        pollfds.close();
    }
}
