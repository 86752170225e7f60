package io.mthp4j.fake;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Scripted failures, MockWebServer style: {@link #failNext} makes the next call of an operation on an object
 * fail with an errno, once; {@link #calls()} lists what was asked of the kernel.
 */
public final class FaultScript {

    private record Scripted(String operation, String objectPrefix, Errno errno) {
    }

    private final Deque<Scripted> scripted = new ArrayDeque<>();
    private final List<String> calls = new ArrayList<>();

    /**
     * The next {@code operation} ({@code read}, {@code write}, {@code prctl}, {@code madvise}, {@code psi})
     * on an object starting with {@code objectPrefix} fails with {@code errno}.
     */
    public synchronized void failNext(String operation, String objectPrefix, Errno errno) {
        scripted.add(new Scripted(operation, objectPrefix, errno));
    }

    /** Every call made so far, oldest first, as {@code "<operation> <object>"}. */
    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    synchronized void beforeCall(String operation, String object) {
        calls.add(operation + " " + object);
        for (var it = scripted.iterator(); it.hasNext(); ) {
            Scripted s = it.next();
            if (s.operation.equals(operation) && object.startsWith(s.objectPrefix)) {
                it.remove();
                throw new KernelException(operation, object, s.errno, "scripted by the test");
            }
        }
    }
}
