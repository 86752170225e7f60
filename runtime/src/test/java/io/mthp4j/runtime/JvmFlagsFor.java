package io.mthp4j.runtime;

/** JVM flags for tests that must not depend on how the test JVM was started. */
final class JvmFlagsFor {

    private JvmFlagsFor() {
    }

    /** HotSpot, G1, no THP flag, 1 MiB stacks, with the JDK-8312182 fix. */
    static JvmFlags plain() {
        return new JvmFlags(true, false, false, 1024, true, false);
    }
}
