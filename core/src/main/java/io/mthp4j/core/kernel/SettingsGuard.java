package io.mthp4j.core.kernel;

import io.mthp4j.api.ThpSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records the THP settings and puts them back on close, like the selftests' settings stack
 * (kernel-semantics.md §13.2, linux-interfaces.md §10.1): use it in try-with-resources around anything that
 * changes a knob, so the machine is left as found even when the body fails. Only knobs that differ are
 * written back, each attempted even if an earlier one fails.
 */
public final class SettingsGuard implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SettingsGuard.class);

    private final ThpSysfs sysfs;
    private final ThpSettings original;
    private boolean closed;

    private SettingsGuard(ThpSysfs sysfs) {
        this.sysfs = Objects.requireNonNull(sysfs, "sysfs");
        this.original = sysfs.read();
    }

    /** Records the current settings. */
    public static SettingsGuard record(ThpSysfs sysfs) {
        return new SettingsGuard(sysfs);
    }

    /** The settings as recorded. */
    public ThpSettings original() {
        return original;
    }

    /**
     * Writes back every knob that differs from the record.
     *
     * @throws io.mthp4j.api.KernelException the first write that failed, with the others as suppressed
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        for (ThpSettings.Write write : sysfs.read().writesTo(original)) {
            try {
                sysfs.writeFile(write.path(), write.value());
            } catch (RuntimeException e) {
                LOG.error("could not restore {}: {}", write, e.getMessage());
                failures.add(e);
            }
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }
}
