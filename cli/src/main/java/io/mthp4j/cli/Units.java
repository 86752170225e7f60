package io.mthp4j.cli;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * Sizes, durations and rates as users type them. Every parser throws {@link IllegalArgumentException} whose
 * message is what was expected, for the caller to put in context (option name, file and line).
 */
public final class Units {

    private Units() {
    }

    /**
     * A size in bytes: a whole number with an optional unit {@code K M G T} (powers of 1024, optionally followed
     * by {@code B} or {@code iB}); a bare number is in {@code bareUnit} bytes.
     */
    public static long parseSize(String text, long bareUnit) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        long unit = bareUnit;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> unit = 0;
            }
            if (unit != 0) {
                t = t.substring(0, t.length() - 1);
            } else {
                unit = bareUnit;
            }
        }
        long n = wholeNumber(t, "a size such as 512M, 2G or 4096 (units K, M, G, T)");
        try {
            return Math.multiplyExact(n, unit);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("a size below 8 EiB");
        }
    }

    /** A duration: a whole number with {@code us ms s m h}; a bare number is in {@code bareUnit}. */
    public static Duration parseDuration(String text, ChronoUnit bareUnit) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        String expected = "a duration such as 100ms, 2s or 1m (units us, ms, s, m, h)";
        ChronoUnit unit = bareUnit;
        String[][] suffixes = {{"us", "MICROS"}, {"ms", "MILLIS"}, {"s", "SECONDS"}, {"m", "MINUTES"}, {"h", "HOURS"}};
        for (String[] s : suffixes) {
            if (t.endsWith(s[0]) && t.length() > s[0].length() && Character.isDigit(t.charAt(t.length() - s[0].length() - 1))) {
                unit = ChronoUnit.valueOf(s[1]);
                t = t.substring(0, t.length() - s[0].length());
                break;
            }
        }
        long n = wholeNumber(t, expected);
        try {
            return Duration.of(n, unit);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(expected);
        }
    }

    /** A rate per second: {@code 20000/s}, {@code 20k/s}, {@code 1200/m} or a bare number (per second). */
    public static double parseRate(String text) {
        String expected = "a rate such as 20000/s, 20k/s or 600/m";
        String t = text.strip().toLowerCase(Locale.ROOT);
        double per = 1;
        int slash = t.indexOf('/');
        if (slash >= 0) {
            String u = t.substring(slash + 1);
            per = switch (u) {
                case "s" -> 1;
                case "m" -> 60;
                case "h" -> 3600;
                default -> throw new IllegalArgumentException(expected);
            };
            t = t.substring(0, slash);
        }
        long mult = 1;
        if (t.endsWith("k")) {
            mult = 1000;
            t = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m") && slash >= 0) {
            mult = 1_000_000;
            t = t.substring(0, t.length() - 1);
        }
        return wholeNumber(t, expected) * (double) mult / per;
    }

    /** A percentage {@code 10%} (or a fraction {@code 0.1}) as a fraction in [0, 1]. */
    public static double parseFraction(String text) {
        String expected = "a percentage from 0% to 100%";
        String t = text.strip();
        double v;
        try {
            v = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1)) / 100 : Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(expected);
        }
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(expected);
        }
        return v;
    }

    private static long wholeNumber(String t, String expected) {
        if (t.isEmpty() || !t.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException(expected);
        }
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(expected);
        }
    }

    /** {@code 4K}, {@code 2M}, {@code 1.5G}: the largest unit that leaves a short number. */
    public static String formatBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"K", "M", "G", "T"};
        double v = bytes;
        int u = -1;
        while (u < units.length - 1 && v >= 1024) {
            v /= 1024;
            u++;
        }
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v)) + units[u];
    }

    /** A duration as {@code 100ms} or {@code 2s}. */
    public static String formatDuration(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 == 0 && ms != 0) {
            return ms / 1000 + "s";
        }
        return d.toNanos() % 1_000_000 == 0 ? ms + "ms" : d.toNanos() / 1000 + "us";
    }
}
