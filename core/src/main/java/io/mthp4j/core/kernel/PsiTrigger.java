package io.mthp4j.core.kernel;

import java.time.Duration;

/** A registered PSI trigger: at most one event per window; destroyed on close. */
public interface PsiTrigger extends AutoCloseable {

    /**
     * Waits up to {@code timeout} (on the backend's clock) for an event and consumes it.
     *
     * @return true if an event fired, false on timeout
     */
    boolean await(Duration timeout) throws InterruptedException;

    /** Destroys the trigger. Idempotent. */
    @Override
    void close();
}
