package io.mthp4j.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The options of one command and the parser for them (no parsing library is on the project's list).
 * <ul>
 *   <li>long options {@code --name value} or {@code --name=value}; short ones {@code -n value}, {@code -nvalue},
 *       and bundled flags {@code -abc};</li>
 *   <li>{@code --} ends the options; a lone {@code -} is a positional argument;</li>
 *   <li>{@code -h}/{@code --help} is known to every command and wins over any other error;</li>
 *   <li>an unknown option, a missing value, a value given to a flag, an option given twice, or too many
 *       arguments throws a {@link CliException} with exit code {@link ExitCode#USAGE} and one line that says
 *       what to do.</li>
 * </ul>
 * Immutable once built.
 */
public final class Options {

    /**
     * One option.
     *
     * @param longName  the name after {@code --}
     * @param shortName the letter after {@code -}, or 0 for none
     * @param valueName the name of its value in the help ({@code MS}, {@code FILE}); null for a flag
     * @param help      one line of help
     */
    public record Spec(String longName, char shortName, String valueName, String help) {
        public Spec {
            Objects.requireNonNull(longName, "longName");
            Objects.requireNonNull(help, "help");
            if (longName.length() < 2 || longName.startsWith("-") || longName.contains("=")) {
                throw new IllegalArgumentException("long option names have two or more characters, no '-' first and no '=': "
                        + longName);
            }
            if (shortName != 0 && !Character.isLetterOrDigit(shortName)) {
                throw new IllegalArgumentException("short option names are a letter or digit: " + shortName);
            }
        }

        boolean takesValue() {
            return valueName != null;
        }

        String display() {
            return "--" + longName;
        }
    }

    private static final Spec HELP = new Spec("help", 'h', null, "print this help and exit");

    private final String command;
    private final String usage;
    private final String description;
    private final int maxPositionals;
    private final Map<String, Spec> byLong;
    private final Map<Character, Spec> byShort;

    private Options(Builder b) {
        this.command = b.command;
        this.usage = b.usage;
        this.description = b.description;
        this.maxPositionals = b.maxPositionals;
        this.byLong = Collections.unmodifiableMap(new LinkedHashMap<>(b.byLong));
        this.byShort = Collections.unmodifiableMap(new LinkedHashMap<>(b.byShort));
    }

    /**
     * Starts the options of {@code command} ({@code "mthp4j simulate"}); {@code usage} is what follows the
     * command in the help's first line ({@code "[options] [SCENARIO]"}).
     */
    public static Builder builder(String command, String usage, String description) {
        return new Builder(command, usage, description);
    }

    public String command() {
        return command;
    }

    /** The help text: usage, description, one line per option. */
    public String help() {
        StringBuilder b = new StringBuilder();
        b.append("Usage: ").append(command).append(' ').append(usage).append("\n\n");
        b.append(description.strip()).append("\n\nOptions:\n");
        List<String> left = new ArrayList<>();
        int width = 0;
        for (Spec s : byLong.values()) {
            String l = (s.shortName() != 0 ? "-" + s.shortName() + ", " : "    ") + "--" + s.longName()
                    + (s.takesValue() ? " " + s.valueName() : "");
            left.add(l);
            width = Math.max(width, l.length());
        }
        int i = 0;
        for (Spec s : byLong.values()) {
            String l = left.get(i++);
            b.append("  ").append(l).append(" ".repeat(width - l.length() + 2)).append(s.help()).append('\n');
        }
        return b.toString();
    }

    /** Parses {@code args} (the arguments after the command's name). */
    public Parsed parse(List<String> args) {
        Objects.requireNonNull(args, "args");
        for (String a : args) {
            if (a.equals("--")) {
                break;
            }
            if (a.equals("--help") || a.equals("-h")) {
                return new Parsed(this, Map.of("help", List.of("")), List.of());
            }
        }
        Map<String, List<String>> values = new LinkedHashMap<>();
        List<String> positionals = new ArrayList<>();
        boolean optionsEnded = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (optionsEnded || a.equals("-") || !a.startsWith("-")) {
                positionals.add(a);
            } else if (a.equals("--")) {
                optionsEnded = true;
            } else if (a.startsWith("--")) {
                int eq = a.indexOf('=');
                String name = eq < 0 ? a.substring(2) : a.substring(2, eq);
                Spec s = byLong.get(name);
                if (s == null) {
                    throw unknown(a.substring(0, eq < 0 ? a.length() : eq));
                }
                if (!s.takesValue()) {
                    if (eq >= 0) {
                        throw CliException.usage("option " + s.display() + " takes no value (got '" + a.substring(eq + 1)
                                + "'); " + seeHelp());
                    }
                    put(values, s, "");
                } else if (eq >= 0) {
                    put(values, s, a.substring(eq + 1));
                } else {
                    put(values, s, valueAfter(args, i++, s));
                }
            } else {
                // -x, -xVALUE, -abc (bundled flags)
                for (int j = 1; j < a.length(); j++) {
                    char c = a.charAt(j);
                    Spec s = byShort.get(c);
                    if (s == null) {
                        throw unknown("-" + c);
                    }
                    if (!s.takesValue()) {
                        put(values, s, "");
                        continue;
                    }
                    if (j + 1 < a.length()) {
                        put(values, s, a.substring(j + 1));
                    } else {
                        put(values, s, valueAfter(args, i++, s));
                    }
                    break;
                }
            }
        }
        if (positionals.size() > maxPositionals) {
            throw CliException.usage(maxPositionals == 0
                    ? "takes no arguments, got '" + positionals.get(0) + "'; " + seeHelp()
                    : "takes at most " + maxPositionals + " argument" + (maxPositionals == 1 ? "" : "s") + ", got "
                    + positionals.size() + " (" + String.join(" ", positionals) + "); " + seeHelp());
        }
        return new Parsed(this, values, positionals);
    }

    private String valueAfter(List<String> args, int i, Spec s) {
        if (i + 1 >= args.size()) {
            throw CliException.usage("option " + s.display() + " needs a value (" + s.valueName() + "); " + seeHelp());
        }
        return args.get(i + 1);
    }

    private void put(Map<String, List<String>> values, Spec s, String value) {
        if (values.containsKey(s.longName())) {
            throw CliException.usage("option " + s.display() + " was given twice; give it once");
        }
        values.put(s.longName(), List.of(value));
    }

    private CliException unknown(String option) {
        return CliException.usage("unknown option " + option + "; " + seeHelp());
    }

    String seeHelp() {
        return "see '" + command + " --help'";
    }

    /** Builds {@link Options}. */
    public static final class Builder {
        private final String command;
        private final String usage;
        private final String description;
        private int maxPositionals;
        private final Map<String, Spec> byLong = new LinkedHashMap<>();
        private final Map<Character, Spec> byShort = new LinkedHashMap<>();

        private Builder(String command, String usage, String description) {
            this.command = Objects.requireNonNull(command, "command");
            this.usage = Objects.requireNonNull(usage, "usage");
            this.description = Objects.requireNonNull(description, "description");
        }

        /** A flag (no value). */
        public Builder flag(String longName, char shortName, String help) {
            return add(new Spec(longName, shortName, null, help));
        }

        /** An option with a value. */
        public Builder option(String longName, char shortName, String valueName, String help) {
            return add(new Spec(longName, shortName, Objects.requireNonNull(valueName, "valueName"), help));
        }

        /** How many positional arguments the command takes at most (default 0). */
        public Builder positionals(int max) {
            if (max < 0) {
                throw new IllegalArgumentException("max positionals must not be negative, was " + max);
            }
            maxPositionals = max;
            return this;
        }

        private Builder add(Spec s) {
            if (s != HELP && (s.longName().equals("help") || s.shortName() == 'h')) {
                throw new IllegalArgumentException("--help / -h is built in");
            }
            if (byLong.containsKey(s.longName())) {
                throw new IllegalArgumentException("option --" + s.longName() + " was already defined");
            }
            if (s.shortName() != 0 && byShort.containsKey(s.shortName())) {
                throw new IllegalArgumentException("option -" + s.shortName() + " was already defined (for --"
                        + byShort.get(s.shortName()).longName() + ")");
            }
            byLong.put(s.longName(), s);
            if (s.shortName() != 0) {
                byShort.put(s.shortName(), s);
            }
            return this;
        }

        public Options build() {
            add(HELP);
            return new Options(this);
        }
    }

    /** What {@link #parse} found. Value accessors convert and report bad values as usage errors. */
    public static final class Parsed {
        private final Options options;
        private final Map<String, List<String>> values;
        private final List<String> positionals;

        private Parsed(Options options, Map<String, List<String>> values, List<String> positionals) {
            this.options = options;
            this.values = values;
            this.positionals = List.copyOf(positionals);
        }

        /** Whether {@code --help} was asked for. */
        public boolean help() {
            return values.containsKey("help");
        }

        /** Whether the option (by long name) was given. */
        public boolean has(String longName) {
            spec(longName);
            return values.containsKey(longName);
        }

        /** The option's value, or {@code fallback} if it was not given. */
        public String value(String longName, String fallback) {
            spec(longName);
            List<String> v = values.get(longName);
            return v == null ? fallback : v.get(0);
        }

        public List<String> positionals() {
            return positionals;
        }

        /** A whole number in {@code [min, max]}, or {@code fallback}. */
        public long longValue(String longName, long fallback, long min, long max) {
            String v = value(longName, null);
            if (v == null) {
                return fallback;
            }
            long n;
            try {
                n = Long.parseLong(v.strip());
            } catch (NumberFormatException e) {
                throw bad(longName, v, "a whole number");
            }
            if (n < min || n > max) {
                throw bad(longName, v, "a number from " + min + " to " + max);
            }
            return n;
        }

        /** A duration ({@code 100ms}, {@code 2s}; a bare number is in {@code bareUnit}), or {@code fallback}. */
        public java.time.Duration duration(String longName, java.time.Duration fallback, java.time.temporal.ChronoUnit bareUnit) {
            return converted(longName, fallback, v -> Units.parseDuration(v, bareUnit));
        }

        /** A size in bytes ({@code 16M}, {@code 2G}; a bare number is in {@code bareUnit} bytes), or {@code fallback}. */
        public long size(String longName, long fallback, long bareUnit) {
            return converted(longName, fallback, v -> Units.parseSize(v, bareUnit));
        }

        /** The value through a {@link Units} parser, whose message says what was expected. */
        private <T> T converted(String longName, T fallback, java.util.function.Function<String, T> parser) {
            String v = value(longName, null);
            if (v == null) {
                return fallback;
            }
            try {
                return parser.apply(v);
            } catch (IllegalArgumentException e) {
                throw bad(longName, v, e.getMessage());
            }
        }

        /** A usage error about this option's value. */
        public CliException bad(String longName, String value, String expected) {
            Spec s = spec(longName);
            return CliException.usage("bad value '" + value + "' for " + s.display() + ": expected " + expected + "; "
                    + options.seeHelp());
        }

        private Spec spec(String longName) {
            Spec s = options.byLong.get(longName);
            if (s == null) {
                throw new IllegalArgumentException("no option --" + longName + " was defined for " + options.command);
            }
            return s;
        }
    }
}
