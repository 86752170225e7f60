package io.mthp4j.runtime;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.HeadroomPolicy;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A built-in policy named in text, for configuration without code: the system property {@value #PROPERTY} or the
 * environment variable {@value #ENV} (the property wins), or the Java agent's argument.
 *
 * <pre>
 *   mthp-ext                                   mthp_ext with the sample's defaults (kernel-semantics.md §15.6)
 *   mthp-ext:threshold=100ms,min=16M           with parameters
 *   tva-aware:threshold=200ms,hysteresis=3     the tva-aware variant
 *   headroom                                   base pages from 80% of the own cgroup's hard limit (docs/host-enforcement.md)
 *   headroom:high=85,low=75,quiet=3            with parameters
 *   mthp-ext:high=80                           mthp_ext with the headroom option (80%, back below 70%)
 *   disable | madvise                          no policy: the process's prctl mode, as systemd's MemoryTHP=
 * </pre>
 *
 * Parameters of {@code mthp-ext} and {@code tva-aware} (docs/policies.md): {@code threshold} and {@code interval}
 * (durations: {@code 100ms}, {@code 2s}, a bare number is milliseconds; at least 1 ms), {@code order} (0 ..,
 * clamped to the PMD order), {@code min} (bytes with {@code K}, {@code M}, {@code G}; a bare number is MiB as
 * the sample's {@code -m}), {@code fixed} and {@code debug} ({@code true}/{@code false}, or the bare word for
 * true), {@code hysteresis} (quiet checks, 0 ..). Headroom (all three names; {@code headroom} only takes these
 * and {@code order}): {@code high} and {@code low} in percent of the hard limit ({@code 0 < low <= high <= 100};
 * {@code headroom} defaults to 80 and 70, {@code low} defaults to {@code high - 10}), {@code quiet} (scans below
 * {@code low} before huge orders return, default 3); on mthp-ext and tva-aware {@code high} turns the headroom
 * option on. A bad value is one {@link IllegalArgumentException} that names it and says what is accepted.
 *
 * @param name       {@code mthp-ext}, {@code tva-aware}, {@code headroom}, {@code disable} or {@code madvise}
 * @param threshold  {@code threshold}, or null for the default
 * @param interval   {@code interval}, or null
 * @param order      {@code order}, or null
 * @param minBytes   {@code min} in bytes, or null
 * @param fixed      {@code fixed}
 * @param debug      {@code debug}
 * @param hysteresis {@code hysteresis}
 * @param high       {@code high} (percent), or null: no headroom rule (the {@code headroom} policy's default)
 * @param low        {@code low} (percent), or null for the default
 * @param quiet      {@code quiet}, or null for the default
 */
public record PolicySpec(String name, Duration threshold, Duration interval, Integer order, Long minBytes, boolean fixed,
                         boolean debug, int hysteresis, Integer high, Integer low, Integer quiet) {

    /** The system property naming a policy. */
    public static final String PROPERTY = "mthp4j.policy";
    /** The environment variable naming a policy. */
    public static final String ENV = "MTHP4J_POLICY";

    static final List<String> NAMES = List.of("mthp-ext", "tva-aware", "headroom", "disable", "madvise");
    static final List<String> PARAMETERS = List.of("threshold", "interval", "order", "min", "fixed", "debug", "hysteresis",
            "high", "low", "quiet");
    private static final List<String> HEADROOM_PARAMETERS = List.of("order", "high", "low", "quiet");

    /** A spec of mthp-ext or tva-aware without the headroom option. */
    public PolicySpec(String name, Duration threshold, Duration interval, Integer order, Long minBytes, boolean fixed,
                      boolean debug, int hysteresis) {
        this(name, threshold, interval, order, minBytes, fixed, debug, hysteresis, null, null, null);
    }

    public PolicySpec {
        Objects.requireNonNull(name, "name");
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown policy \"" + name + "\"; built-in: " + String.join(", ", NAMES));
        }
        if (high == null && !name.equals("headroom") && (low != null || quiet != null)) {
            throw new IllegalArgumentException((low != null ? "low" : "quiet") + " needs high (the headroom option: high=80)");
        }
        int h = highOrDefault(high);
        int l = lowOrDefault(high, low);
        if (h < 1 || h > 100 || l < 1 || l > h) {
            throw new IllegalArgumentException("headroom shares must satisfy 0 < low <= high <= 100 (percent), were high=" + h
                    + ", low=" + l);
        }
        if (quiet != null && quiet < 0) {
            throw new IllegalArgumentException("quiet must be 0 or more, was " + quiet);
        }
    }

    /** Whether it names a prctl mode instead of a policy. */
    public boolean isOptOut() {
        return name.equals("disable") || name.equals("madvise");
    }

    /** The prctl mode of {@code disable} / {@code madvise}. */
    public MemoryThp optOut() {
        if (!isOptOut()) {
            throw new IllegalStateException(name + " is a policy, not a prctl mode");
        }
        return MemoryThp.parse(name);
    }

    /** The headroom rule's upper share in percent (80 unless given), used only when {@link #hasHeadroom()}. */
    public int highPercent() {
        return highOrDefault(high);
    }

    private static int highOrDefault(Integer high) {
        return high != null ? high : 80;
    }

    private static int lowOrDefault(Integer high, Integer low) {
        return low != null ? low : high != null ? Math.max(1, high - 10) : 70;
    }

    /** The lower share in percent ({@code high - 10} unless given; 70 for the {@code headroom} policy's default). */
    public int lowPercent() {
        return lowOrDefault(high, low);
    }

    /** Quiet scans below the lower share before huge orders return (3 unless given). */
    public int quietScans() {
        return quiet != null ? quiet : 3;
    }

    /** Whether the policy has a headroom rule: the {@code headroom} policy, or {@code high} on the others. */
    public boolean hasHeadroom() {
        return name.equals("headroom") || high != null;
    }

    /** The policy for a kernel of {@code geometry}. */
    public CgroupPolicy policy(PageGeometry geometry) {
        if (isOptOut()) {
            throw new IllegalStateException(name + " is a prctl mode, not a policy");
        }
        if (name.equals("headroom")) {
            HeadroomPolicy.Builder h = HeadroomPolicy.builder(geometry).shares(highPercent() / 100.0, lowPercent() / 100.0)
                    .quietScans(quietScans());
            if (order != null) {
                h.order(order);
            }
            return h.build();
        }
        PressurePolicy.Builder b = name.equals("mthp-ext") ? PressurePolicy.mthpExt(geometry) : PressurePolicy.tvaAware(geometry);
        if (threshold != null) {
            b.threshold(threshold);
        }
        if (interval != null) {
            b.interval(interval);
        }
        if (order != null) {
            b.order(order);
        }
        if (minBytes != null) {
            b.minMemory(minBytes);
        }
        if (hasHeadroom()) {
            b.headroom(highPercent() / 100.0, lowPercent() / 100.0, quietScans());
        }
        return b.fixed(fixed).debug(debug).hysteresis(hysteresis).build();
    }

    /** The configured spec: the property, else the environment variable; empty if neither is set (or blank). */
    public static Optional<PolicySpec> configured() {
        String text = System.getProperty(PROPERTY);
        String from = "-D" + PROPERTY;
        if (text == null || text.isBlank()) {
            text = System.getenv(ENV);
            from = ENV;
        }
        if (text == null || text.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(text));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(from + "=\"" + text + "\": " + e.getMessage(), e);
        }
    }

    /**
     * Parses {@code name[:key=value,...]}.
     *
     * @throws IllegalArgumentException naming the bad part and what is accepted
     */
    public static PolicySpec parse(String text) {
        Objects.requireNonNull(text, "text");
        String t = text.strip();
        int colon = t.indexOf(':');
        String name = (colon < 0 ? t : t.substring(0, colon)).strip().toLowerCase(Locale.ROOT).replace('_', '-');
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown policy \"" + name + "\"; built-in: " + String.join(", ", NAMES)
                    + " (e.g. mthp-ext:threshold=100ms,min=16M)");
        }
        Duration threshold = null;
        Duration interval = null;
        Integer order = null;
        Long min = null;
        boolean fixed = false;
        boolean debug = false;
        int hysteresis = 0;
        Integer high = null;
        Integer low = null;
        Integer quiet = null;
        Set<String> seen = new LinkedHashSet<>();
        String rest = colon < 0 ? "" : t.substring(colon + 1).strip();
        if (!rest.isEmpty() && (name.equals("disable") || name.equals("madvise"))) {
            throw new IllegalArgumentException(name + " takes no parameters, was given \"" + rest + "\"");
        }
        for (String part : rest.isEmpty() ? new String[0] : rest.split(",", -1)) {
            String p = part.strip();
            int eq = p.indexOf('=');
            String key = (eq < 0 ? p : p.substring(0, eq)).strip().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? null : p.substring(eq + 1).strip();
            if (!PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("unknown parameter \"" + key + "\" of " + name + "; known: " + String.join(", ", PARAMETERS));
            }
            if (name.equals("headroom") && !HEADROOM_PARAMETERS.contains(key)) {
                throw new IllegalArgumentException("parameter " + key + " does not apply to headroom; it takes "
                        + String.join(", ", HEADROOM_PARAMETERS));
            }
            if (!seen.add(key)) {
                throw new IllegalArgumentException("parameter " + key + " is given twice");
            }
            if (value == null && !key.equals("fixed") && !key.equals("debug")) {
                throw new IllegalArgumentException("parameter " + key + " needs a value (" + key + "=...)");
            }
            switch (key) {
                case "threshold" -> threshold = value(key, value, PolicySpec::duration);
                case "interval" -> interval = value(key, value, PolicySpec::duration);
                case "order" -> order = value(key, value, v -> nonNegative(Long.parseLong(v), Integer.MAX_VALUE).intValue());
                case "min" -> min = value(key, value, PolicySpec::bytes);
                case "fixed" -> fixed = value == null || value(key, value, PolicySpec::bool);
                case "debug" -> debug = value == null || value(key, value, PolicySpec::bool);
                case "hysteresis" -> hysteresis = value(key, value, v -> nonNegative(Long.parseLong(v), Integer.MAX_VALUE).intValue());
                case "high" -> high = value(key, value, PolicySpec::percent);
                case "low" -> low = value(key, value, PolicySpec::percent);
                case "quiet" -> quiet = value(key, value, v -> nonNegative(Long.parseLong(v), Integer.MAX_VALUE).intValue());
                default -> throw new AssertionError(key);
            }
        }
        return new PolicySpec(name, threshold, interval, order, min, fixed, debug, hysteresis, high, low, quiet);
    }

    private static <T> T value(String key, String value, Function<String, T> parser) {
        try {
            return parser.apply(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad " + key + " \"" + value + "\": " + expected(key), e);
        }
    }

    private static String expected(String key) {
        return switch (key) {
            case "threshold", "interval" -> "a duration of at least 1 ms such as 100ms or 2s (a bare number is ms)";
            case "min" -> "a size such as 16M, 512K or 1G (a bare number is MiB, B for bytes)";
            case "fixed", "debug" -> "true or false";
            case "high", "low" -> "a percentage of the hard limit, 1 to 100 (low at most high)";
            default -> "a whole number, 0 or more";
        };
    }

    private static Long nonNegative(long v, long max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("out of range");
        }
        return v;
    }

    private static Integer percent(String v) {
        String s = v.endsWith("%") ? v.substring(0, v.length() - 1).strip() : v;
        long n = Long.parseLong(s);
        if (n < 1 || n > 100) {
            throw new IllegalArgumentException("out of range");
        }
        return (int) n;
    }

    private static Duration duration(String v) {
        String s = v.toLowerCase(Locale.ROOT);
        long millis;
        if (s.endsWith("ms")) {
            millis = Long.parseLong(s.substring(0, s.length() - 2).strip());
        } else if (s.endsWith("s")) {
            millis = Math.multiplyExact(Long.parseLong(s.substring(0, s.length() - 1).strip()), 1000L);
        } else {
            millis = Long.parseLong(s);
        }
        if (millis < 1) {
            throw new IllegalArgumentException("below 1 ms");
        }
        return Duration.ofMillis(millis);
    }

    private static long bytes(String v) {
        String s = v.toUpperCase(Locale.ROOT);
        int shift = 20;
        if (s.endsWith("B")) {
            shift = 0;
            s = s.substring(0, s.length() - 1).strip();
        } else if (!s.isEmpty() && "KMG".indexOf(s.charAt(s.length() - 1)) >= 0) {
            shift = 10 * ("KMG".indexOf(s.charAt(s.length() - 1)) + 1);
            s = s.substring(0, s.length() - 1).strip();
        }
        long n = Long.parseLong(s);
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("out of range");
        }
        return n << shift;
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("not a boolean");
        };
    }

    /** The canonical text: parses back to an equal spec. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(name);
        String sep = ":";
        if (threshold != null) {
            b.append(sep).append("threshold=").append(threshold.toMillis()).append("ms");
            sep = ",";
        }
        if (interval != null) {
            b.append(sep).append("interval=").append(interval.toMillis()).append("ms");
            sep = ",";
        }
        if (order != null) {
            b.append(sep).append("order=").append(order);
            sep = ",";
        }
        if (minBytes != null) {
            b.append(sep).append("min=").append(minBytes % (1 << 20) == 0 ? (minBytes >> 20) + "M" : minBytes % 1024 == 0
                    ? (minBytes >> 10) + "K" : minBytes + "B");
            sep = ",";
        }
        if (fixed) {
            b.append(sep).append("fixed");
            sep = ",";
        }
        if (debug) {
            b.append(sep).append("debug");
            sep = ",";
        }
        if (hysteresis != 0) {
            b.append(sep).append("hysteresis=").append(hysteresis);
            sep = ",";
        }
        if (high != null) {
            b.append(sep).append("high=").append(high);
            sep = ",";
        }
        if (low != null) {
            b.append(sep).append("low=").append(low);
            sep = ",";
        }
        if (quiet != null) {
            b.append(sep).append("quiet=").append(quiet);
        }
        return b.toString();
    }
}
