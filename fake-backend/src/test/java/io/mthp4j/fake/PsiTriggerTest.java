package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PsiTriggerTest {

    static final long MS = PsiGroupTest.MS;
    static final long S = PsiGroupTest.S;

    long now;
    final PsiGroup group = new PsiGroup(PsiParams.defaults(), 0, null);

    PsiTriggerModel register(String text, boolean privileged) {
        PsiFile f = new PsiFile(group, "/proc/pressure/memory", PsiFile.Kind.PROC, true, privileged, () -> now);
        f.write(text + "\0");
        return f.trigger();
    }

    /** Runs to {@code end} jiffy by jiffy, recording each event's time and consuming it as a poller would. */
    static List<Long> run(PsiGroup g, PsiTriggerModel t, long end, Set<Long> averagingTimes) {
        List<Long> events = new ArrayList<>();
        t.onEvent(() -> {
            if (t.consumeEvent()) {
                events.add(t.lastEventNanos());
            }
        });
        for (long at = g.processedNanos(); at <= end; at += 4 * MS) {
            long next = g.nextAveragingNanos();
            if (next <= at) {
                averagingTimes.add(next);
            }
            g.advanceTo(at);
        }
        return events;
    }

    @Test
    void unprivilegedTriggersFireOnlyOnAveragingTicksAtMostOncePerWindow() {
        group.busy(0, true);
        PsiTriggerModel t = register("some 150000 2000000", false);
        group.stall(3 * S, 20 * S, false);
        Set<Long> ticks = new HashSet<>();
        List<Long> events = run(group, t, 25 * S, ticks);
        // ticks come every 2.004 s plus timer-wheel lateness, so a tick can fall just short of the window
        // after the last event; the event then waits for the next tick (4 s apart), as on the real machine
        assertTrue(events.size() >= 5 && events.size() <= 9, "events " + events);
        for (long e : events) {
            assertTrue(ticks.contains(e), e + " is not an averaging tick " + ticks);
        }
        for (int i = 1; i < events.size(); i++) {
            assertTrue(events.get(i) - events.get(i - 1) >= 2 * S, "two events in one window: " + events);
        }
        assertTrue(events.get(0) >= 4 * S, "the first averaging tick after the stall starts: " + events);
    }

    @Test
    void privilegedTriggersArePolledTenTimesPerWindow() {
        group.busy(0, true);
        PsiTriggerModel t = register("some 150000 1000000", true);
        group.stall(3 * S, 20 * S, false);
        List<Long> events = run(group, t, 25 * S, new HashSet<>());
        long first = events.get(0);
        assertTrue(first >= 3150 * MS && first <= 3300 * MS, "about 150 ms of stall plus one 100 ms poll period: " + events);
        for (int i = 1; i < events.size(); i++) {
            assertTrue(events.get(i) - events.get(i - 1) >= S, "two events in one window: " + events);
        }
        assertTrue(events.size() >= 15, "about one per 1 s window over 17 s: " + events);
    }

    /**
     * Unprivileged: the window starts at creation, so the stall itself is the growth. Privileged: the RT
     * poller starts two jiffies after the stall begins (a level-0 timer of one jiffy) and resets the window
     * there (init_rtpoll_triggers), so the first 8 ms of the stall do not count.
     */
    @Test
    void firesWhenGrowthReachesTheThresholdButNotBelow() {
        for (boolean privileged : new boolean[] {false, true}) {
            long leadIn = privileged ? 8 : 0;
            for (long stallMs : new long[] {149 + leadIn, 150 + leadIn}) {
                PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
                g.busy(0, true);
                PsiFile f = new PsiFile(g, "/proc/pressure/memory", PsiFile.Kind.PROC, true, privileged, () -> 0);
                f.write("some 150000 2000000\0");
                g.stall(3 * S, 3 * S + stallMs * MS, false);
                g.advanceTo(12 * S);
                assertEquals(stallMs - leadIn >= 150, f.trigger().eventPending(), "privileged " + privileged + ", stall " + stallMs + " ms");
                assertEquals(stallMs - leadIn >= 150 ? PsiFile.POLLPRI : 0, f.poll(PsiFile.POLLPRI));
                assertEquals(0, f.poll(PsiFile.POLLPRI), "polling consumes the event");
            }
        }
    }

    @Test
    void noEventInTheFirstWindowAfterBoot() {
        group.busy(0, true);
        PsiTriggerModel t = register("some 100000 1000000", true);
        group.stall(0, 900 * MS, false);
        group.advanceTo(990 * MS);
        assertFalse(t.eventPending(), "last_event_time starts at 0, so now >= 0 + window is needed");
        group.stall(1000 * MS, 1500 * MS, false);
        group.advanceTo(2 * S);
        assertTrue(t.eventPending(), "the breach stayed pending and fires once the first window is over");
    }

    /**
     * psi_trigger_create starts every window at the RT poller's total; for an unprivileged trigger on a group
     * whose poller never ran that is 0, so the first averaging tick with any new stall sees all stall since
     * boot as growth and fires.
     */
    @Test
    void unprivilegedWindowStartsFromThePollTotalAsInTheKernel() {
        group.busy(0, true);
        group.stall(0, S, false);
        group.advanceTo(10 * S);
        now = 10 * S;
        PsiTriggerModel t = register("some 500000 2000000", false);
        group.stall(10 * S, 10 * S + 10 * MS, false);
        group.advanceTo(14 * S);
        assertTrue(t.eventPending(), "10 ms of new stall fires a 500 ms threshold");
    }

    @Test
    void windowUpdateInterpolatesThePreviousWindowWithAU32Remaining() {
        PsiTriggerModel t = new PsiTriggerModel(group, PsiGroup.SOME, 1, 2 * S, true);
        t.windowReset(0, 0, 1_000_000_000L);
        assertEquals(500_000_000L + 100, t.windowUpdate(S, 100), "half the window left: half the previous growth");
        PsiTriggerModel ten = new PsiTriggerModel(group, PsiGroup.SOME, 1, 10 * S, true);
        ten.windowReset(0, 0, 1_000_000_000L);
        // remaining = 9e9 ns does not fit in u32: 9e9 mod 2^32 = 410065408
        assertEquals(41_006_540L, ten.windowUpdate(S, 0));
        assertEquals(7, ten.windowUpdate(11 * S + 1, 7), "a window that is over restarts");
    }

    @Test
    void destroyingTheLastPrivilegedTriggerStopsThePoller() {
        group.busy(0, true);
        PsiFile f = new PsiFile(group, "/proc/pressure/memory", PsiFile.Kind.PROC, true, true, () -> now);
        f.write("some 1 500000\0");
        PsiTriggerModel t = f.trigger();
        f.close();
        group.stall(S, 3 * S, false);
        group.advanceTo(4 * S);
        assertFalse(t.eventPending());
        assertEquals(0, t.eventCount());
    }

    @Test
    void atMostOneEventPerWindowForAnyStallPattern() {
        qt().withExamples(Math.max(1, PsiGroupTest.EXAMPLES / 10))
                .forAll(PsiGroupTest.intervals(), integers().between(0, 5), integers().between(1, 100))
                .checkAssert((ivs, windowChoice, thresholdPct) -> {
                    boolean privileged = windowChoice >= 2;
                    long windowUs = privileged ? new long[] {500_000, 1_000_000, 3_000_000, 10_000_000}[windowChoice - 2]
                            : (windowChoice + 1) * 2_000_000L;
                    long thresholdUs = Math.max(1, windowUs * thresholdPct / 100);
                    PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
                    g.busy(0, true);
                    PsiFile f = new PsiFile(g, "/proc/pressure/memory", PsiFile.Kind.PROC, true, privileged, () -> 0);
                    f.write((ivs.size() % 2 == 0 ? "some " : "full ") + thresholdUs + " " + windowUs + "\n");
                    PsiTriggerModel t = f.trigger();
                    List<Long> events = new ArrayList<>();
                    t.onEvent(() -> {
                        if (t.consumeEvent()) {
                            events.add(t.lastEventNanos());
                        }
                    });
                    for (long[] iv : ivs) {
                        g.stall(iv[0], iv[1], iv[2] == 1);
                    }
                    g.advanceTo(50 * S);
                    assertEquals(events.size(), t.eventCount());
                    for (int i = 1; i < events.size(); i++) {
                        assertTrue(events.get(i) - events.get(i - 1) >= windowUs * 1000, "events " + events);
                    }
                    long stalled = PsiGroupTest.unionUpTo(ivs, false, 50 * S);
                    if (stalled == 0) {
                        assertTrue(events.isEmpty(), "no stall, no event");
                    }
                });
    }
}
