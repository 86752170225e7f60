package io.mthp4j.api;

/** One value of a multi-choice sysfs file such as {@code enabled}: the word the kernel shows and accepts. */
public interface SysfsChoice {

    /** The word as the kernel shows and accepts it, e.g. {@code defer+madvise}. */
    String sysfsName();
}
