package io.mthp4j.api;

/** Top-level {@code transparent_hugepage/shmem_enabled} (§3.2, §8), in the kernel's display order. */
public enum ShmemEnabled implements SysfsChoice {
    ALWAYS("always"),
    WITHIN_SIZE("within_size"),
    ADVISE("advise"),
    NEVER("never"),
    DENY("deny"),
    FORCE("force");

    private final String sysfsName;

    ShmemEnabled(String sysfsName) {
        this.sysfsName = sysfsName;
    }

    @Override
    public String sysfsName() {
        return sysfsName;
    }
}
