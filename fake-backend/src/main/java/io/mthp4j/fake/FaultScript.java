package io.mthp4j.fake;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Scripted failures, MockWebServer style: {@link #failNext} makes the next call of an operation on an object
 * fail with an errno, once; {@link #calls()} lists what was asked of the kernel, the most recent
 * {@value #RECORDED} calls (a bounded record, so a fake kernel driven for hours, such as a controller loop in a
 * benchmark, does not keep every call it ever served).
 */
public final class FaultScript {

    private record Scripted(String operation, String objectPrefix, Errno errno) {
    }

    /** How many of the most recent calls {@link #calls()} keeps. */
    public static final int RECORDED = 10_000;

    private final Deque<Scripted> scripted = new ArrayDeque<>();
    // A ring of the last RECORDED calls; operation and object kept apart so recording allocates nothing.
    private final String[] operations = new String[RECORDED];
    private final String[] objects = new String[RECORDED];
    private long recorded;

    /**
     * The next {@code operation} ({@code read}, {@code write}, {@code prctl}, {@code madvise}, {@code psi})
     * on an object starting with {@code objectPrefix} fails with {@code errno}.
     */
    public synchronized void failNext(String operation, String objectPrefix, Errno errno) {
        scripted.add(new Scripted(operation, objectPrefix, errno));
    }

    /** The most recent calls (at most {@value #RECORDED}), oldest first, as {@code "<operation> <object>"}. */
    public synchronized List<String> calls() {
        int n = (int) Math.min(recorded, RECORDED);
        List<String> out = new ArrayList<>(n);
        for (long i = recorded - n; i < recorded; i++) {
            int slot = (int) (i % RECORDED);
            out.add(operations[slot] + " " + objects[slot]);
        }
        return List.copyOf(out);
    }

    synchronized void beforeCall(String operation, String object) {
        int slot = (int) (recorded++ % RECORDED);
        operations[slot] = operation;
        objects[slot] = object;
        if (scripted.isEmpty()) {
            return;
        }
        for (var it = scripted.iterator(); it.hasNext(); ) {
            Scripted s = it.next();
            if (s.operation.equals(operation) && object.startsWith(s.objectPrefix)) {
                it.remove();
                throw new KernelException(operation, object, s.errno, "scripted by the test");
            }
        }
    }
}
