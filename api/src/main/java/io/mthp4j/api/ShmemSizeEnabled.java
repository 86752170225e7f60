package io.mthp4j.api;

/** Per-size {@code hugepages-<N>kB/shmem_enabled} (§3.2, §8). */
public enum ShmemSizeEnabled implements SysfsChoice {
    ALWAYS("always"),
    INHERIT("inherit"),
    WITHIN_SIZE("within_size"),
    ADVISE("advise"),
    NEVER("never");

    private final String sysfsName;

    ShmemSizeEnabled(String sysfsName) {
        this.sysfsName = sysfsName;
    }

    @Override
    public String sysfsName() {
        return sysfsName;
    }
}
