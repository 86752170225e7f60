package io.mthp4j.fake;

import io.mthp4j.core.kernel.Pressure;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory PSI state of one group (a cgroup, or the system for {@code /proc/pressure/memory}), ported from
 * mainline {@code kernel/sched/psi.c} (6.18) with the kernel's integer arithmetic: per-aggregator totals
 * ({@code collect_percpu_times}), the 2 s averages ({@code update_averages}, {@code calc_avgs},
 * {@code calc_load}, {@code calc_load_n}), the averaging work and its clock ({@code psi_avgs_work}), the RT
 * poller ({@code psi_rtpoll_work}) and trigger evaluation ({@code update_triggers}, {@code window_update}).
 * kernel-semantics.md §10.1, §10.2, §10.4.
 *
 * <p>Simplifications (docs/fidelity.md "PSI"): a group has one CPU; task states are replaced by stall
 * intervals ({@link #stall}) and a busy flag ({@link #busy}), and psi_group_change runs at the boundaries of
 * their unions. Time is virtual nanoseconds since boot; jiffies are {@code nanos / (10^9 / HZ)}.
 *
 * <p>Input: {@link #stall} with non-decreasing starts, never before the time already processed. The
 * {@linkplain #PsiGroup(PsiParams, long, PsiGroup) parent} gets every stall too, as psi_task_change walks all
 * ancestor groups. {@link #advanceTo} runs every timer due (the averaging work, the RT poller); readers call
 * it themselves. Thread-safe (one lock per group); {@link #stall}, {@link #busy} and {@link #advanceTo}
 * allocate nothing once the interval buffers have grown to the workload's size.
 */
final class PsiGroup {

    // kernel/sched/psi.c and include/linux/sched/loadavg.h
    static final int FSHIFT = 11;
    static final long FIXED_1 = 1L << FSHIFT;
    static final long EXP_10S = 1677;
    static final long EXP_60S = 1981;
    static final long EXP_300S = 2034;
    static final long[] EXPS = {EXP_10S, EXP_60S, EXP_300S};
    static final int UPDATES_PER_WINDOW = 10;
    static final long U32_MASK = 0xFFFF_FFFFL;
    static final long ULLONG_MAX = -1L;

    // enum psi_states restricted to memory; NONIDLE last as in the kernel
    static final int SOME = 0;
    static final int FULL = 1;
    static final int NONIDLE = 2;
    // enum psi_aggregators
    static final int AVGS = 0;
    static final int POLL = 1;

    private final PsiParams params;
    private final PsiGroup parent;
    private final long jiffy;
    private final long psiPeriod;

    /** Unions of the state intervals: MEM_SOME, MEM_FULL, NONIDLE (stalled or busy). */
    private final IntervalUnion[] states = {new IntervalUnion(), new IntervalUnion(), new IntervalUnion()};
    private boolean busy;
    private long processed;

    // per aggregator: groupc->times_prev (u32 semantics), group->total
    private final long[][] timesPrev = new long[2][3];
    private final long[][] total = new long[2][2];

    // averages
    private long avgLastUpdate;
    private long avgNextUpdate;
    private final long[] avgTotal = new long[2];
    private final long[][] avg = new long[2][3];
    private boolean avgsPending;
    private long avgsAt;

    // triggers; list_add puts new triggers first, as here at index 0
    private final List<PsiTriggerModel> avgTriggers = new ArrayList<>();
    private final List<PsiTriggerModel> rtpollTriggers = new ArrayList<>();
    private final int[] rtpollNrTriggers = new int[2];
    private int rtpollStates;
    private long rtpollMinPeriod = U32_MASK;
    private final long[] rtpollTotal = new long[2];
    private long rtpollNextUpdate = ULLONG_MAX;
    private long rtpollUntil;
    private boolean rtpollTask;
    private boolean rtpollScheduled;
    private boolean rtpollTimerArmed;
    private long rtpollAt;

    /**
     * group_init at {@code createdNanos}: the averaging clock starts here (the first averages are due one
     * psi_period later).
     *
     * @param parent the parent group (the system group for a top-level cgroup), or null for the system group
     */
    PsiGroup(PsiParams params, long createdNanos, PsiGroup parent) {
        this.params = params;
        this.parent = parent;
        this.jiffy = params.jiffyNanos();
        this.psiPeriod = params.psiPeriodNanos();
        if (createdNanos < 0) {
            throw new IllegalArgumentException("creation time must be >= 0 ns since boot, was " + createdNanos);
        }
        this.processed = createdNanos;
        this.avgLastUpdate = createdNanos;
        this.avgNextUpdate = createdNanos + psiPeriod;
    }

    PsiParams params() {
        return params;
    }

    // ---------------------------------------------------------------- input

    /**
     * Memory stall during {@code [startNanos, endNanos)}; {@code full} (nobody in the group productive)
     * implies some. Overlaps with earlier intervals count once. Also fed to every ancestor.
     *
     * @throws IllegalArgumentException if the start is before an earlier stall's start or before the time
     *         already processed (the kernel cannot account stall in the past), or the end is before the start
     */
    void stall(long startNanos, long endNanos, boolean full) {
        for (PsiGroup g = this; g != null; g = g.parent) {
            g.stallHere(startNanos, endNanos, full);
        }
    }

    private synchronized void stallHere(long start, long end, boolean full) {
        if (!params.enabled()) {
            return; // psi_memstall_enter returns at once when PSI is disabled
        }
        if (end < start) {
            throw new IllegalArgumentException("stall ends before it starts: [" + start + ", " + end + ") ns");
        }
        if (start < processed) {
            throw new IllegalArgumentException("stall starting at " + start + " ns is in the past: PSI already ran to "
                    + processed + " ns; report stalls when they start");
        }
        long last = Math.max(states[SOME].lastStart(), states[NONIDLE].lastStart());
        if (start < last) {
            throw new IllegalArgumentException("stalls must arrive in non-decreasing start order: " + start
                    + " ns after a state change at " + last + " ns");
        }
        if (end == start) {
            return;
        }
        states[SOME].add(start, end);
        if (full) {
            states[FULL].add(start, end);
        }
        states[NONIDLE].add(start, end);
    }

    /**
     * Whether the group has runnable tasks from {@code nowNanos} on (a workload that runs when it is not
     * stalled). Non-idle time weights the aggregation and keeps the averaging clock running
     * (collect_percpu_times, psi_avgs_work); a group that is never busy is non-idle only while stalled.
     */
    synchronized void busy(long nowNanos, boolean value) {
        if (nowNanos < processed) {
            throw new IllegalArgumentException("busy change at " + nowNanos + " ns is in the past (processed to "
                    + processed + " ns)");
        }
        if (!params.enabled() || value == busy) {
            return;
        }
        busy = value;
        IntervalUnion nonIdle = states[NONIDLE];
        if (value) {
            if (nowNanos < nonIdle.lastStart()) {
                throw new IllegalArgumentException("busy from " + nowNanos + " ns is before a stall starting at "
                        + nonIdle.lastStart() + " ns");
            }
            nonIdle.add(nowNanos, Long.MAX_VALUE);
        } else {
            nonIdle.closeOpenEnd(Math.max(nowNanos, states[SOME].lastEnd()));
        }
    }

    // ---------------------------------------------------------------- time

    /** Runs everything due up to {@code nowNanos}: state changes, the averaging work, the RT poller. */
    synchronized void advanceTo(long nowNanos) {
        if (nowNanos < processed) {
            return; // already there
        }
        while (true) {
            long change = Math.min(Math.min(states[SOME].nextBoundary(), states[FULL].nextBoundary()),
                    states[NONIDLE].nextBoundary());
            long avgs = avgsPending ? avgsAt : Long.MAX_VALUE;
            long poll = rtpollTimerArmed ? rtpollAt : Long.MAX_VALUE;
            long t = Math.min(change, Math.min(avgs, poll));
            if (t > nowNanos) {
                break;
            }
            if (t == change) {
                groupChange(t);
            } else if (t == avgs) {
                avgsWork(t);
            } else {
                rtpollTimerArmed = false;
                rtpollWork(t); // poll_timer_fn wakes the psimon thread at once
            }
        }
        processed = nowNanos;
    }

    /** psi_group_change (the accounting part is implicit in the interval unions). */
    private void groupChange(long now) {
        for (IntervalUnion u : states) {
            u.processBoundariesAt(now);
        }
        int stateMask = stateMask();
        if ((stateMask & rtpollStates) != 0) {
            scheduleRtpollWork(now, 1, false);
        }
        if (!avgsPending) { // wake_clock && !delayed_work_pending
            avgsPending = true;
            avgsAt = timerFire(now, params.psiFreqJiffies());
        }
    }

    private int stateMask() {
        int mask = 0;
        for (int s = 0; s < 3; s++) {
            if (states[s].active()) {
                mask |= 1 << s;
            }
        }
        return mask;
    }

    /** psi_avgs_work. The model's CPU is not the worker's, so it reschedules iff NONIDLE time moved. */
    private void avgsWork(long now) {
        avgsPending = false;
        int changed = collectPercpuTimes(AVGS, now);
        if (now >= avgNextUpdate) {
            updateTriggers(AVGS, now);
            avgNextUpdate = updateAverages(now);
        }
        if ((changed & (1 << NONIDLE)) != 0) {
            avgsPending = true;
            avgsAt = timerFire(now, nsecsToJiffies(avgNextUpdate - now) + 1);
        }
    }

    /** get_recent_times + collect_percpu_times for one CPU; returns the changed-states mask. */
    private int collectPercpuTimes(int aggregator, long now) {
        long[] prev = timesPrev[aggregator];
        long[] delta = scratch;
        int changed = 0;
        for (int s = 0; s < 3; s++) {
            long times = states[s].measureUpTo(now);
            delta[s] = (times - prev[s]) & U32_MASK; // u32 buckets
            prev[s] = times;
            if (delta[s] != 0) {
                changed |= 1 << s;
            }
        }
        long nonidle = nsecsToJiffies(delta[NONIDLE]);
        long divisor = Math.max(nonidle, 1);
        for (int s = 0; s < 2; s++) {
            // deltas[s] += (u64)times[s] * nonidle; total += deltas[s] / max(nonidle_total, 1)
            total[aggregator][s] += Long.divideUnsigned(delta[s] * nonidle, divisor);
        }
        return changed;
    }

    private final long[] scratch = new long[3];

    /** update_averages. */
    private long updateAverages(long now) {
        long missedPeriods = 0;
        long expires = avgNextUpdate;
        if (now - expires >= psiPeriod) {
            missedPeriods = (now - expires) / psiPeriod;
        }
        long next = expires + (1 + missedPeriods) * psiPeriod;
        long period = now - (avgLastUpdate + missedPeriods * psiPeriod);
        avgLastUpdate = now;
        for (int s = 0; s < 2; s++) {
            long sample = (total[AVGS][s] - avgTotal[s]) & U32_MASK; // u32 sample
            if (Long.compareUnsigned(sample, period) > 0) {
                sample = period;
            }
            avgTotal[s] += sample;
            calcAvgs(avg[s], (int) missedPeriods, sample, period);
        }
        return next;
    }

    /** calc_avgs. */
    static void calcAvgs(long[] avg, int missedPeriods, long time, long period) {
        if (missedPeriods != 0) {
            for (int w = 0; w < 3; w++) {
                avg[w] = calcLoadN(avg[w], EXPS[w], 0, missedPeriods);
            }
        }
        long pct = Long.divideUnsigned(time * 100, period);
        pct *= FIXED_1;
        for (int w = 0; w < 3; w++) {
            avg[w] = calcLoad(avg[w], EXPS[w], pct);
        }
    }

    /** calc_load (include/linux/sched/loadavg.h). */
    static long calcLoad(long load, long exp, long active) {
        long newload = load * exp + active * (FIXED_1 - exp);
        if (active >= load) {
            newload += FIXED_1 - 1;
        }
        return newload / FIXED_1;
    }

    /** calc_load_n (kernel/sched/loadavg.c). */
    static long calcLoadN(long load, long exp, long active, int n) {
        return calcLoad(load, fixedPowerInt(exp, FSHIFT, n), active);
    }

    /** fixed_power_int (include/linux/sched/loadavg.h): x^n in fixed point, rounding each step. */
    static long fixedPowerInt(long x, int fracBits, int n) {
        long result = 1L << fracBits;
        if (n != 0) {
            while (true) {
                if ((n & 1) != 0) {
                    result *= x;
                    result += 1L << (fracBits - 1);
                    result >>>= fracBits;
                }
                n >>>= 1;
                if (n == 0) {
                    break;
                }
                x *= x;
                x += 1L << (fracBits - 1);
                x >>>= fracBits;
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- RT poller

    /** psi_schedule_rtpoll_work. */
    private void scheduleRtpollWork(long now, long delayJiffies, boolean force) {
        boolean was = rtpollScheduled;
        rtpollScheduled = true;
        if (was && !force) {
            return;
        }
        if (rtpollTask) {
            rtpollTimerArmed = true; // mod_timer
            rtpollAt = timerFire(now, delayJiffies);
        } else {
            rtpollScheduled = false;
        }
    }

    /** psi_rtpoll_work. */
    private void rtpollWork(long now) {
        boolean forceReschedule = false;
        if (Long.compareUnsigned(now, rtpollUntil) > 0) {
            rtpollScheduled = false;
        } else {
            forceReschedule = true;
        }
        int changed = collectPercpuTimes(POLL, now);
        if ((changed & rtpollStates) != 0) {
            if (Long.compareUnsigned(now, rtpollUntil) > 0) {
                initRtpollTriggers(now);
            }
            rtpollUntil = now + rtpollMinPeriod * UPDATES_PER_WINDOW;
        }
        if (Long.compareUnsigned(now, rtpollUntil) > 0) {
            rtpollNextUpdate = ULLONG_MAX;
            return;
        }
        if (Long.compareUnsigned(now, rtpollNextUpdate) >= 0) {
            if ((changed & rtpollStates) != 0) {
                updateTriggers(POLL, now);
                System.arraycopy(total[POLL], 0, rtpollTotal, 0, 2);
            }
            rtpollNextUpdate = now + rtpollMinPeriod;
        }
        scheduleRtpollWork(now, nsecsToJiffies(rtpollNextUpdate - now) + 1, forceReschedule);
    }

    /** init_rtpoll_triggers. */
    private void initRtpollTriggers(long now) {
        for (PsiTriggerModel t : rtpollTriggers) {
            t.windowReset(now, total[POLL][t.state()], 0);
        }
        System.arraycopy(total[POLL], 0, rtpollTotal, 0, 2);
        rtpollNextUpdate = now + rtpollMinPeriod;
    }

    // ---------------------------------------------------------------- triggers

    /** update_triggers. */
    private void updateTriggers(int aggregator, long now) {
        long[] tot = total[aggregator];
        List<PsiTriggerModel> triggers = aggregator == AVGS ? avgTriggers : rtpollTriggers;
        long[] aggregatorTotal = aggregator == AVGS ? avgTotal : rtpollTotal;
        for (int i = 0, n = triggers.size(); i < n; i++) {
            triggers.get(i).update(now, tot, aggregatorTotal);
        }
    }

    /**
     * The part of psi_trigger_create after parsing and validation: registers a trigger on this group at
     * {@code nowNanos}. The tracking window starts at the RT poller's total even for an unprivileged trigger,
     * as in the kernel (see {@link PsiTriggerModel}).
     */
    synchronized PsiTriggerModel createTrigger(boolean full, long thresholdUs, long windowUs, boolean privileged,
                                               long nowNanos) {
        advanceTo(nowNanos);
        int state = full ? FULL : SOME;
        PsiTriggerModel t = new PsiTriggerModel(this, state, thresholdUs * 1000, windowUs * 1000, privileged);
        t.windowReset(nowNanos, total[POLL][state], 0);
        if (privileged) {
            rtpollTask = true; // kthread_create("psimon")
            rtpollTriggers.add(0, t);
            rtpollMinPeriod = Math.min(rtpollMinPeriod, t.windowSizeNanos() / UPDATES_PER_WINDOW);
            rtpollNrTriggers[state]++;
            rtpollStates |= 1 << state;
        } else {
            avgTriggers.add(0, t);
        }
        return t;
    }

    /** psi_trigger_destroy. Idempotent. */
    synchronized void destroyTrigger(PsiTriggerModel t) {
        if (t.group() != this || t.destroyed()) {
            return;
        }
        t.markDestroyed(); // wakes waiters
        if (!t.privileged()) {
            avgTriggers.remove(t);
            return;
        }
        rtpollTriggers.remove(t);
        if (--rtpollNrTriggers[t.state()] == 0) {
            rtpollStates &= ~(1 << t.state());
        }
        if (rtpollMinPeriod == t.windowSizeNanos() / UPDATES_PER_WINDOW) {
            long period = ULLONG_MAX;
            for (PsiTriggerModel other : rtpollTriggers) {
                period = Long.compareUnsigned(period, other.windowSizeNanos() / UPDATES_PER_WINDOW) < 0 ? period
                        : other.windowSizeNanos() / UPDATES_PER_WINDOW;
            }
            rtpollMinPeriod = period;
        }
        if (rtpollStates == 0) {
            rtpollUntil = 0;
            rtpollTask = false;
            rtpollTimerArmed = false;
            rtpollScheduled = false;
        }
    }

    // ---------------------------------------------------------------- readers

    /**
     * What a read of the pressure file does first (psi_show): run what is due, collect the times and, if
     * the period is over, update the averages (but not the triggers).
     */
    private void show(long now) {
        advanceTo(now);
        collectPercpuTimes(AVGS, now);
        if (now >= avgNextUpdate) {
            avgNextUpdate = updateAverages(now);
        }
    }

    /** Reads the file at {@code nowNanos} (psi_show) and appends its exact text to {@code out}. */
    synchronized void render(long nowNanos, StringBuilder out) {
        show(nowNanos);
        for (int s = 0; s < 2; s++) {
            out.append(s == SOME ? "some" : "full");
            for (int w = 0; w < 3; w++) {
                out.append(w == 0 ? " avg10=" : w == 1 ? " avg60=" : " avg300=");
                appendLoad(out, avg[s][w]);
            }
            out.append(" total=").append(Long.divideUnsigned(total[AVGS][s], 1000)).append('\n');
        }
    }

    /** The file's text at {@code nowNanos}: {@code "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull ...\n"}. */
    String render(long nowNanos) {
        StringBuilder sb = new StringBuilder(112);
        render(nowNanos, sb);
        return sb.toString();
    }

    /** Reads the file at {@code nowNanos} (psi_show) and returns the values as printed. */
    synchronized Pressure read(long nowNanos) {
        show(nowNanos);
        return new Pressure(line(SOME), line(FULL));
    }

    private Pressure.Line line(int s) {
        return new Pressure.Line(loadPercent(avg[s][0]), loadPercent(avg[s][1]), loadPercent(avg[s][2]),
                Long.divideUnsigned(total[AVGS][s], 1000));
    }

    /** %lu.%02lu of LOAD_INT / LOAD_FRAC. */
    static void appendLoad(StringBuilder out, long fixed) {
        long frac = loadFrac(fixed);
        out.append(loadInt(fixed)).append('.');
        if (frac < 10) {
            out.append('0');
        }
        out.append(frac);
    }

    static long loadInt(long fixed) {
        return fixed >>> FSHIFT;
    }

    static long loadFrac(long fixed) {
        return loadInt((fixed & (FIXED_1 - 1)) * 100);
    }

    /** The printed value as a double (LOAD_INT + LOAD_FRAC / 100). */
    static double loadPercent(long fixed) {
        return loadInt(fixed) + loadFrac(fixed) / 100.0;
    }

    /** The averages as fixed-point values (percent × 2048), without running anything; {@code window} 0..2. */
    synchronized long avgFixed(boolean full, int window) {
        return avg[full ? FULL : SOME][window];
    }

    /** The time this group has run to. */
    synchronized long processedNanos() {
        return processed;
    }

    /** When the averaging work will run next, or {@link Long#MAX_VALUE} if its clock is stopped. */
    synchronized long nextAveragingNanos() {
        return avgsPending ? avgsAt : Long.MAX_VALUE;
    }

    // ---------------------------------------------------------------- jiffies and timers

    long nsecsToJiffies(long nanos) {
        return Long.divideUnsigned(nanos, jiffy);
    }

    /**
     * When a timer armed at {@code now} with {@code delay} jiffies runs: at jiffy {@code jiffies + delay}, or
     * as the timer wheel rounds it (calc_wheel_index / calc_index: level n has granularity 8^n jiffies and
     * expiries are rounded up past the bucket, so a level-0 timer runs one jiffy late).
     */
    long timerFire(long now, long delayJiffies) {
        long expires = now / jiffy + delayJiffies;
        if (params.timerWheel()) {
            int level = 0;
            while (level < 8 && delayJiffies >= levelStart(level + 1)) {
                level++;
            }
            int shift = 3 * level;
            expires = ((expires + (1L << shift)) >>> shift) << shift;
        }
        return expires * jiffy;
    }

    /** LVL_START(n) = (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT). */
    private static long levelStart(int n) {
        return 63L << ((n - 1) * 3);
    }
}
