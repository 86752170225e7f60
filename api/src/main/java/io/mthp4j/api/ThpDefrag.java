package io.mthp4j.api;

/** {@code transparent_hugepage/defrag}: affects allocation effort only, never the order choice (§3.2). */
public enum ThpDefrag implements SysfsChoice {
    ALWAYS("always"),
    DEFER("defer"),
    DEFER_MADVISE("defer+madvise"),
    MADVISE("madvise"),
    NEVER("never");

    private final String sysfsName;

    ThpDefrag(String sysfsName) {
        this.sysfsName = sysfsName;
    }

    @Override
    public String sysfsName() {
        return sysfsName;
    }
}
