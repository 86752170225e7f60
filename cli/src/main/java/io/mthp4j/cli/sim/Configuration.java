package io.mthp4j.cli.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The THP configurations a scenario runs under, as in the mthp_ext series' evaluation script: the same value
 * written to every {@code hugepages-*kB/enabled} (the top-level {@code enabled} keeps the machine's default),
 * and for the two policies the reference decision program loaded and the {@code PolicyController} running.
 */
public enum Configuration {
    ALWAYS("always", "always", false),
    NEVER("never", "never", false),
    MTHP_EXT("mthp-ext", "always + mthp_ext", true),
    TVA_AWARE("tva-aware", "always + tva-aware", true);

    private final String option;
    private final String title;
    private final boolean controlled;

    Configuration(String option, String title, boolean controlled) {
        this.option = option;
        this.title = title;
        this.controlled = controlled;
    }

    /** The name on the command line ({@code --configs always,mthp-ext}). */
    public String option() {
        return option;
    }

    /** The column title. */
    public String title() {
        return title;
    }

    /** The value written to every per-size {@code enabled} file. */
    public String perSizeEnabled() {
        return this == NEVER ? "never" : "always";
    }

    /** Whether a policy controller runs. */
    public boolean controlled() {
        return controlled;
    }

    /**
     * Parses a comma-separated list ({@code always,never,mthp-ext,tva-aware}).
     *
     * @throws IllegalArgumentException naming the bad entry and the choices
     */
    public static List<Configuration> parseList(String text) {
        List<Configuration> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String p = part.strip().toLowerCase(Locale.ROOT);
            Configuration found = null;
            for (Configuration c : values()) {
                if (c.option.equals(p) || c.name().toLowerCase(Locale.ROOT).equals(p)) {
                    found = c;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("a comma-separated list of always, never, mthp-ext, tva-aware (got '"
                        + part.strip() + "')");
            }
            if (out.contains(found)) {
                throw new IllegalArgumentException("each configuration once (" + found.option + " is listed twice)");
            }
            out.add(found);
        }
        return out;
    }
}
