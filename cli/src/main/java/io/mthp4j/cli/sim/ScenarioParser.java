package io.mthp4j.cli.sim;

import io.mthp4j.cli.Units;
import io.mthp4j.cli.sim.Scenario.Advice;
import io.mthp4j.cli.sim.Scenario.Condition;
import io.mthp4j.cli.sim.Scenario.Kind;
import io.mthp4j.cli.sim.Scenario.Limit;
import io.mthp4j.cli.sim.Scenario.Pattern;
import io.mthp4j.cli.sim.Scenario.PolicyParameters;
import io.mthp4j.cli.sim.Scenario.Region;
import io.mthp4j.cli.sim.Scenario.Workload;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Parses the scenario file format (docs/cli.md, "Scenario files"): one statement per line, {@code #} starts a
 * comment, {@code key=value} attributes. {@code region} lines belong to the {@code workload} above them,
 * {@code limit} lines to the {@code condition} above them. Every error names the file and line, what is wrong
 * and what is expected.
 */
public final class ScenarioParser {

    static final long PAGE = 4096;
    static final long MAX_MEMORY = 1L << 40;
    static final Duration MAX_DURATION = Duration.ofHours(1);
    static final int MAX_COUNT = 4096;
    static final double MAX_RATE = 10_000_000;

    private static final List<String> KEYS = List.of("name", "duration", "step", "memory", "swap", "seed",
            "cap_sys_resource", "policy", "workload", "region", "condition", "limit", "host_memory");

    private final String source;
    private int line;

    private String name = "unnamed";
    private Duration duration = Duration.ofSeconds(10);
    private Duration step = Duration.ofMillis(100);
    private long memory = 4L << 30;
    private long swap = 2L << 30;
    private long seed = 1;
    private boolean capSysResource;
    private PolicyParameters policy = PolicyParameters.DEFAULT;
    private final List<WorkloadBuilder> workloads = new ArrayList<>();
    private final List<ConditionBuilder> conditions = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();
    /** Which of workload / condition the last block opened: where region and limit lines go. */
    private Object block;

    private ScenarioParser(String source) {
        this.source = source;
    }

    /**
     * Parses {@code text}; {@code source} names it in error messages (a file name, {@code default}).
     *
     * @throws ScenarioException for any error, with the line
     */
    public static Scenario parse(String source, String text) {
        ScenarioParser p = new ScenarioParser(source);
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            p.line = i + 1;
            p.statement(lines[i]);
        }
        p.line = 0;
        return p.build();
    }

    private void statement(String raw) {
        int hash = raw.indexOf('#');
        String text = (hash < 0 ? raw : raw.substring(0, hash)).strip();
        if (text.isEmpty()) {
            return;
        }
        String[] words = text.split("\\s+");
        String key = words[0].toLowerCase(Locale.ROOT);
        String rest = text.substring(words[0].length()).strip();
        switch (key) {
            case "name" -> name = once(key, required(key, rest, "a name"));
            case "duration" -> {
                once(key, rest);
                duration = duration(single(key, words), "duration");
                if (duration.isZero() || duration.compareTo(MAX_DURATION) > 0) {
                    throw error("duration must be more than 0 and at most 1h, was " + single(key, words));
                }
            }
            case "step" -> {
                once(key, rest);
                step = duration(single(key, words), "step");
                if (step.toMillis() < 1) {
                    throw error("step must be at least 1ms, was " + single(key, words));
                }
            }
            case "memory" -> {
                once(key, rest);
                memory = size(single(key, words), "memory");
                if (memory < 64L << 20 || memory > MAX_MEMORY) {
                    throw error("memory must be from 64M to 1T, was " + single(key, words));
                }
            }
            case "swap" -> {
                once(key, rest);
                swap = size(single(key, words), "swap");
                if (swap > MAX_MEMORY) {
                    throw error("swap must be at most 1T, was " + single(key, words));
                }
            }
            case "seed" -> {
                once(key, rest);
                try {
                    seed = Long.parseLong(single(key, words));
                } catch (NumberFormatException e) {
                    throw error("seed must be a whole number, was " + single(key, words));
                }
            }
            case "cap_sys_resource" -> {
                once(key, rest);
                capSysResource = yesNo(key, single(key, words));
            }
            case "policy" -> {
                once(key, rest);
                policy = policy(words);
            }
            case "workload" -> workload(words);
            case "region" -> region(words);
            case "condition" -> {
                String n = required(key, rest, "a name");
                for (ConditionBuilder c : conditions) {
                    if (c.name.equals(n)) {
                        throw error("condition '" + n + "' is defined twice (first on line " + c.line + "); give each a"
                                + " different name");
                    }
                }
                ConditionBuilder c = new ConditionBuilder(n, line);
                conditions.add(c);
                block = c;
            }
            case "limit" -> limit(words);
            case "host_memory" -> hostMemory(words);
            default -> throw error("unknown statement '" + words[0] + "'; expected one of " + String.join(", ", KEYS));
        }
    }

    private PolicyParameters policy(String[] words) {
        Map<String, String> a = attributes(words, 1, List.of("threshold", "interval", "order", "min", "hysteresis"));
        Duration threshold = a.containsKey("threshold") ? duration(a.get("threshold"), "threshold") : PolicyParameters.DEFAULT.threshold();
        Duration interval = a.containsKey("interval") ? duration(a.get("interval"), "interval") : PolicyParameters.DEFAULT.interval();
        if (threshold.toMillis() < 1 || interval.toMillis() < 1) {
            throw error("policy threshold and interval must be at least 1ms");
        }
        if (threshold.compareTo(interval) > 0) {
            throw error("policy threshold (" + Units.formatDuration(threshold) + ") must not exceed the interval ("
                    + Units.formatDuration(interval) + "): the kernel rejects such a PSI trigger");
        }
        int order = a.containsKey("order") ? (int) number(a.get("order"), "order", 0, 13) : -1;
        long min = a.containsKey("min") ? size(a.get("min"), "min") : PolicyParameters.DEFAULT.minMemory();
        int hysteresis = a.containsKey("hysteresis") ? (int) number(a.get("hysteresis"), "hysteresis", 0, 1000) : 0;
        return new PolicyParameters(threshold, interval, order, min, hysteresis);
    }

    private void workload(String[] words) {
        if (words.length < 2 || words[1].contains("=")) {
            throw error("workload needs a name first: workload NAME cgroup=PATH [count=N]");
        }
        String n = words[1];
        for (WorkloadBuilder w : workloads) {
            if (w.name.equals(n)) {
                throw error("workload '" + n + "' is defined twice (first on line " + w.line + "); give each a different name");
            }
        }
        Map<String, String> a = attributes(words, 2, List.of("cgroup", "count"));
        String cgroup = a.get("cgroup");
        if (cgroup == null) {
            throw error("workload '" + n + "' needs cgroup=PATH (for example cgroup=/" + n + ")");
        }
        checkCgroupPath(cgroup, true);
        int count = a.containsKey("count") ? (int) number(a.get("count"), "count", 1, MAX_COUNT) : 1;
        WorkloadBuilder w = new WorkloadBuilder(n, cgroup, count, line);
        workloads.add(w);
        block = w;
    }

    private void region(String[] words) {
        if (!(block instanceof WorkloadBuilder w)) {
            throw error("a region belongs to a workload: put it under a 'workload NAME cgroup=PATH' line");
        }
        if (words.length < 3 || words[1].contains("=") || words[2].contains("=")) {
            throw error("region needs a name and a size first: region NAME SIZE [kind=anon|shmem] [advise=...] [access=...]"
                    + " [rate=N/s] [prefill=yes|no]");
        }
        String n = words[1];
        for (Region r : w.regions) {
            if (r.name().equals(n)) {
                throw error("workload '" + w.name + "' already has a region '" + n + "'");
            }
        }
        long bytes = size(words[2], "region size");
        if (bytes < PAGE || bytes % PAGE != 0 || bytes > MAX_MEMORY) {
            throw error("region size must be a multiple of 4K from 4K to 1T, was " + words[2]);
        }
        Map<String, String> a = attributes(words, 3, List.of("kind", "advise", "access", "rate", "prefill"));
        Kind kind = choice("kind", a.getOrDefault("kind", "anon"), Kind.class);
        Advice advice = choice("advise", a.getOrDefault("advise", "none"), Advice.class);
        String access = a.getOrDefault("access", "random");
        Pattern pattern;
        double hotFraction = 0;
        double hotProbability = 0;
        if (access.toLowerCase(Locale.ROOT).startsWith("hot")) {
            String[] parts = access.split(":");
            if (parts.length != 3 || !parts[0].equalsIgnoreCase("hot")) {
                throw error("bad access '" + access + "': expected hot:SHARE:PROBABILITY, for example hot:10%:90% (90% of"
                        + " the writes go to the first 10% of the region)");
            }
            pattern = Pattern.HOT;
            hotFraction = fraction(parts[1], "hot share");
            hotProbability = fraction(parts[2], "hot probability");
            if (hotFraction == 0) {
                throw error("the hot share of 'access=" + access + "' must be more than 0%");
            }
        } else {
            pattern = choice("access", access, Pattern.class);
        }
        double rate = 0;
        if (a.containsKey("rate")) {
            try {
                rate = Units.parseRate(a.get("rate"));
            } catch (IllegalArgumentException e) {
                throw error("bad rate '" + a.get("rate") + "': expected " + e.getMessage());
            }
            if (rate > MAX_RATE) {
                throw error("rate must be at most 10M/s, was " + a.get("rate"));
            }
        }
        boolean prefill = a.containsKey("prefill") && yesNo("prefill", a.get("prefill"));
        w.regions.add(new Region(n, kind, bytes, advice, pattern, hotFraction, hotProbability, rate, prefill));
    }

    private void limit(String[] words) {
        if (!(block instanceof ConditionBuilder c)) {
            throw error("a limit belongs to a condition: put it under a 'condition NAME' line");
        }
        if (words.length < 3 || words[1].contains("=")) {
            throw error("limit needs a cgroup and a limit: limit CGROUP memory.high=SIZE [memory.max=SIZE]");
        }
        String cgroup = words[1];
        checkCgroupPath(cgroup, false);
        Map<String, String> a = attributes(words, 2, List.of("memory.high", "memory.max"));
        for (Map.Entry<String, String> e : a.entrySet()) {
            long bytes = e.getValue().equalsIgnoreCase("max") ? Long.MAX_VALUE : size(e.getValue(), e.getKey());
            if (bytes < PAGE) {
                throw error(e.getKey() + " must be at least 4K (or max), was " + e.getValue());
            }
            c.limits.add(new Limit(cgroup, e.getKey(), bytes));
            c.limitLines.add(line);
        }
    }

    private void hostMemory(String[] words) {
        if (!(block instanceof ConditionBuilder c)) {
            throw error("host_memory belongs to a condition: put it under a 'condition NAME' line (the host's memory for"
                    + " every condition is 'memory SIZE')");
        }
        if (c.hostMemory != 0) {
            throw error("host_memory is given twice for condition '" + c.name + "'; give it once");
        }
        String v = single("host_memory", words);
        c.hostMemory = size(v, "host_memory");
        if (c.hostMemory < 64L << 20 || c.hostMemory > MAX_MEMORY) {
            throw error("host_memory must be from 64M to 1T, was " + v);
        }
    }

    private Scenario build() {
        if (workloads.isEmpty()) {
            throw error("no workload: add at least one 'workload NAME cgroup=PATH' with a 'region NAME SIZE' under it");
        }
        List<Workload> ws = new ArrayList<>();
        for (WorkloadBuilder w : workloads) {
            if (w.regions.isEmpty()) {
                line = w.line;
                throw error("workload '" + w.name + "' has no region: add 'region NAME SIZE ...' under it");
            }
            ws.add(new Workload(w.name, w.cgroup, w.count, w.regions));
        }
        if (step.compareTo(duration) > 0) {
            throw error("step (" + Units.formatDuration(step) + ") must not be longer than the duration ("
                    + Units.formatDuration(duration) + ")");
        }
        List<Condition> cs = new ArrayList<>();
        for (ConditionBuilder c : conditions) {
            for (int i = 0; i < c.limits.size(); i++) {
                Limit l = c.limits.get(i);
                if (!coversAWorkload(ws, l.cgroup())) {
                    line = c.limitLines.get(i);
                    throw error("limit on " + l.cgroup() + ": no workload runs in or under that cgroup; use one of the"
                            + " workloads' cgroups or an ancestor of one");
                }
            }
            cs.add(new Condition(c.name, c.limits, c.hostMemory));
        }
        if (cs.isEmpty()) {
            cs.add(new Condition("no limits", List.of(), 0));
        }
        return new Scenario(name, duration, step, memory, swap, seed, capSysResource, policy, ws, cs);
    }

    private static boolean coversAWorkload(List<Workload> ws, String cgroup) {
        for (Workload w : ws) {
            for (int i = 0; i < w.count(); i++) {
                String c = w.cgroupOf(i);
                if (cgroup.equals("/") || c.equals(cgroup) || c.startsWith(cgroup + "/")) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---- pieces ----

    private String once(String key, String value) {
        if (!seen.add(key)) {
            throw error("'" + key + "' is given twice; give it once");
        }
        return value;
    }

    private String required(String key, String rest, String what) {
        if (rest.isEmpty()) {
            throw error("'" + key + "' needs " + what);
        }
        return rest;
    }

    private String single(String key, String[] words) {
        if (words.length != 2) {
            throw error("'" + key + "' takes one value, got " + (words.length - 1));
        }
        return words[1];
    }

    private Map<String, String> attributes(String[] words, int from, List<String> allowed) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = from; i < words.length; i++) {
            String w = words[i];
            int eq = w.indexOf('=');
            if (eq <= 0 || eq == w.length() - 1) {
                throw error("expected KEY=VALUE, got '" + w + "'; keys here: " + String.join(", ", allowed));
            }
            String k = w.substring(0, eq).toLowerCase(Locale.ROOT);
            if (!allowed.contains(k)) {
                throw error("unknown attribute '" + k + "'; expected one of " + String.join(", ", allowed));
            }
            if (out.put(k, w.substring(eq + 1)) != null) {
                throw error("attribute '" + k + "' is given twice");
            }
        }
        return out;
    }

    private void checkCgroupPath(String path, boolean template) {
        String check = template ? path.replace("{i}", "0") : path;
        if (!check.startsWith("/") || check.contains("//") || (check.length() > 1 && check.endsWith("/"))
                || check.contains("/../") || check.endsWith("/..") || check.contains("/./") || check.contains("{")) {
            throw error("bad cgroup path '" + path + "': expected an absolute path such as /kv or /small/s{i}"
                    + (template ? " ({i} is the instance number)" : ""));
        }
    }

    private Duration duration(String text, String what) {
        try {
            return Units.parseDuration(text, ChronoUnit.MILLIS);
        } catch (IllegalArgumentException e) {
            throw error("bad " + what + " '" + text + "': expected " + e.getMessage());
        }
    }

    private long size(String text, String what) {
        try {
            return Units.parseSize(text, 1);
        } catch (IllegalArgumentException e) {
            throw error("bad " + what + " '" + text + "': expected " + e.getMessage());
        }
    }

    private double fraction(String text, String what) {
        try {
            return Units.parseFraction(text);
        } catch (IllegalArgumentException e) {
            throw error("bad " + what + " '" + text + "': expected " + e.getMessage());
        }
    }

    private long number(String text, String what, long min, long max) {
        try {
            long n = Long.parseLong(text);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw error("bad " + what + " '" + text + "': expected a whole number from " + min + " to " + max);
    }

    private boolean yesNo(String key, String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "yes", "true", "on", "1" -> true;
            case "no", "false", "off", "0" -> false;
            default -> throw error("bad " + key + " '" + text + "': expected yes or no");
        };
    }

    private <E extends Enum<E>> E choice(String key, String text, Class<E> type) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(text)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        String extra = type == Pattern.class ? ", hot:SHARE:PROBABILITY" : "";
        throw error("bad " + key + " '" + text + "': expected one of " + String.join(", ", names) + extra);
    }

    private ScenarioException error(String message) {
        return new ScenarioException(source + (line > 0 ? ":" + line : "") + ": " + message);
    }

    private static final class WorkloadBuilder {
        final String name;
        final String cgroup;
        final int count;
        final int line;
        final List<Region> regions = new ArrayList<>();

        WorkloadBuilder(String name, String cgroup, int count, int line) {
            this.name = name;
            this.cgroup = cgroup;
            this.count = count;
            this.line = line;
        }
    }

    private static final class ConditionBuilder {
        final String name;
        final int line;
        final List<Limit> limits = new ArrayList<>();
        final List<Integer> limitLines = new ArrayList<>();
        long hostMemory;

        ConditionBuilder(String name, int line) {
            this.name = name;
            this.line = line;
        }
    }
}
