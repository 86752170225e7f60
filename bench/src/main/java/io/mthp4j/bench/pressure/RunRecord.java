package io.mthp4j.bench.pressure;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One measured run: which cell, what the workload achieved, whether it survived, and what the kernel did.
 *
 * @param workload  {@code redis} or {@code jvm-kv}
 * @param pressure  the pressure's name
 * @param config    the configuration's name
 * @param rep       the repetition, from 1
 * @param survived  the workload was alive at the end of the measured phase
 * @param outcome   {@code ok}, {@code killed by SIGKILL (OOM kill)}, {@code timeout}, {@code failed: ...}
 * @param opsPerSec throughput, NaN when the run produced none
 * @param p50Ms     latency percentiles in ms, NaN when none
 * @param seconds   the measured phase's wall time
 * @param switches  policy switches on the run's time line (the daemon's or the registration's log lines)
 * @param deltas    nonzero counter deltas over the measured phase ({@link Counters}: per-size stats, vmstat, PSI µs, memcg)
 * @param hugetlb   hugetlb pages held for global pressure (0 otherwise)
 * @param peakBytes the v1 memcg's max_usage_in_bytes over the measured phase
 * @param freeAtStart MemFree when the measured phase started, bytes
 */
record RunRecord(String workload, String pressure, String config, int rep, boolean survived, String outcome,
                 double opsPerSec, double p50Ms, double p95Ms, double p99Ms, double seconds, List<String> switches,
                 Map<String, Long> deltas, long hugetlb, long peakBytes, long freeAtStart) {

    long delta(String key) {
        return deltas.getOrDefault(key, 0L);
    }

    /** Pages swapped out, all sizes (vmstat {@code pswpout}, in base pages). */
    long pswpout() {
        return delta("vmstat/pswpout");
    }

    long pswpin() {
        return delta("vmstat/pswpin");
    }

    /** {@code <size>/<stat>} summed over every mTHP and PMD size (16K ... 2M): e.g. large folios swapped out whole. */
    long allSizes(String stat) {
        long sum = 0;
        for (Map.Entry<String, Long> e : deltas.entrySet()) {
            if (e.getKey().endsWith("/" + stat) && !e.getKey().startsWith("vmstat/")) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    /** Whether the kernel's OOM killer took the workload (a memcg OOM kill, or SIGKILL without one under global pressure). */
    boolean oomKilled() {
        return outcome.contains("OOM");
    }

    /** One JSON object, one line. */
    String json() {
        StringBuilder b = new StringBuilder("{");
        field(b, "workload", workload);
        field(b, "pressure", pressure);
        field(b, "config", config);
        b.append("\"rep\":").append(rep).append(',');
        b.append("\"survived\":").append(survived).append(',');
        field(b, "outcome", outcome);
        number(b, "opsPerSec", opsPerSec);
        number(b, "p50Ms", p50Ms);
        number(b, "p95Ms", p95Ms);
        number(b, "p99Ms", p99Ms);
        number(b, "seconds", seconds);
        b.append("\"hugetlbPages\":").append(hugetlb).append(',');
        b.append("\"peakBytes\":").append(peakBytes).append(',');
        b.append("\"memFreeAtStart\":").append(freeAtStart).append(',');
        b.append("\"switches\":[");
        List<String> quoted = new ArrayList<>();
        switches.forEach(s -> quoted.add(quote(s)));
        b.append(String.join(",", quoted)).append("],\"deltas\":{");
        List<String> kv = new ArrayList<>();
        deltas.forEach((k, v) -> kv.add(quote(k) + ":" + v));
        return b.append(String.join(",", kv)).append("}}").toString();
    }

    private static void field(StringBuilder b, String key, String value) {
        b.append(quote(key)).append(':').append(quote(value)).append(',');
    }

    private static void number(StringBuilder b, String key, double v) {
        b.append(quote(key)).append(':').append(Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "null").append(',');
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
