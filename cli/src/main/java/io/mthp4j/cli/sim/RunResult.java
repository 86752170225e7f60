package io.mthp4j.cli.sim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one run measured: a value per metric (a metric the run has no value for, such as the controller's
 * counters under {@code never}, is absent).
 *
 * @param configuration the THP configuration
 * @param condition     the condition's name
 * @param metrics       the metrics in the order the tables print them
 * @param values        value per metric key
 */
public record RunResult(Configuration configuration, String condition, List<Metric> metrics, Map<String, Double> values) {

    public RunResult {
        Objects.requireNonNull(configuration, "configuration");
        metrics = List.copyOf(metrics);
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The value of {@code key}, or null. */
    public Double value(String key) {
        return values.get(key);
    }

    /**
     * One row of the tables.
     *
     * @param key     stable name (JSON)
     * @param section the heading it is printed under
     * @param label   the row's label
     * @param unit    {@code MiB}, {@code ms}, {@code ops/s} or empty for a count
     */
    public record Metric(String key, String section, String label, String unit) {
    }
}
