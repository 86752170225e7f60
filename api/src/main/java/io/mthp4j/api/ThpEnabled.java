package io.mthp4j.api;

/** Top-level {@code transparent_hugepage/enabled} (kernel-semantics.md §3.2), in the kernel's display order. */
public enum ThpEnabled implements SysfsChoice {
    ALWAYS("always"),
    MADVISE("madvise"),
    NEVER("never");

    private final String sysfsName;

    ThpEnabled(String sysfsName) {
        this.sysfsName = sysfsName;
    }

    @Override
    public String sysfsName() {
        return sysfsName;
    }
}
