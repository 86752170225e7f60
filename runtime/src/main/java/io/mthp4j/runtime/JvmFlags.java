package io.mthp4j.runtime;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * The HotSpot flags that decide which memory of this JVM can get THP (linux-interfaces.md §9.1-9.3), read from
 * the {@code HotSpotDiagnosticMXBean}.
 *
 * @param hotSpot                 the diagnostic bean exists (else every other value is a guess)
 * @param useZgc                  {@code -XX:+UseZGC}
 * @param useTransparentHugePages {@code -XX:+UseTransparentHugePages}
 * @param threadStackSizeKb       {@code -Xss} / {@code ThreadStackSize} in KiB (0: the platform default)
 * @param stackMitigationPresent  the JVM has JDK-8312182's fix (its flag {@code DisableTHPStackMitigation} exists)
 * @param stackMitigationDisabled {@code -XX:+DisableTHPStackMitigation}
 */
public record JvmFlags(boolean hotSpot, boolean useZgc, boolean useTransparentHugePages, long threadStackSizeKb,
                       boolean stackMitigationPresent, boolean stackMitigationDisabled) {

    /** This JVM's flags. */
    public static JvmFlags current() {
        HotSpotDiagnosticMXBean bean;
        try {
            bean = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        } catch (RuntimeException | LinkageError e) {
            bean = null;
        }
        if (bean == null) {
            return new JvmFlags(false, false, false, 0, false, false);
        }
        String mitigation = option(bean, "DisableTHPStackMitigation");
        String stack = option(bean, "ThreadStackSize");
        return new JvmFlags(true, "true".equals(option(bean, "UseZGC")), "true".equals(option(bean, "UseTransparentHugePages")),
                stack == null ? 0 : Long.parseLong(stack), mitigation != null, "true".equals(mitigation));
    }

    private static String option(HotSpotDiagnosticMXBean bean, String name) {
        try {
            return bean.getVMOption(name).getValue();
        } catch (IllegalArgumentException absent) {
            return null;
        }
    }
}
