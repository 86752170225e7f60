package io.mthp4j.api;

/** Per-size {@code hugepages-<N>kB/enabled} for anonymous memory (§3.2, §3.4). */
public enum AnonSizeEnabled implements SysfsChoice {
    ALWAYS("always"),
    INHERIT("inherit"),
    MADVISE("madvise"),
    NEVER("never");

    private final String sysfsName;

    AnonSizeEnabled(String sysfsName) {
        this.sysfsName = sysfsName;
    }

    @Override
    public String sysfsName() {
        return sysfsName;
    }
}
