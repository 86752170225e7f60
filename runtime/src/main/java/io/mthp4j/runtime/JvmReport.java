package io.mthp4j.runtime;

import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.VmaFlag;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What this JVM's memory will and will not get from THP on this host, and why: the heap (HotSpot reads only the
 * top-level {@code enabled}, linux-interfaces.md §9.1), a ZGC heap (shared memory: {@code shmem_enabled},
 * §9.2), thread stacks (JDK-8303215, JDK-8312182, §9.3), and what the registration itself can and cannot do.
 * Logged at registration; a pure function of its inputs.
 *
 * @param findings one line per kind of memory
 */
public record JvmReport(List<Finding> findings) {

    /**
     * One finding.
     *
     * @param memory what memory ("heap", "ZGC heap", "thread stacks", "policy")
     * @param gets   whether it gets huge folios
     * @param sizes  the folio sizes it can get (orders), 0 for none
     * @param reason why, and what to change
     */
    public record Finding(String memory, boolean gets, long sizes, String reason) {
    }

    public JvmReport {
        findings = List.copyOf(findings);
    }

    /** The finding about {@code memory}, or null. */
    public Finding about(String memory) {
        return findings.stream().filter(f -> f.memory().equals(memory)).findFirst().orElse(null);
    }

    /**
     * Assesses this JVM on this host.
     *
     * @param original    the prctl mode the process had before registration
     * @param enforcement how the registration enforces its policy
     */
    public static JvmReport assess(JvmFlags flags, ThpSettings settings, ProcessThpMode original, Enforcement enforcement) {
        Objects.requireNonNull(flags, "flags");
        PageGeometry g = settings.geometry();
        long page = g.pageSize();
        List<Finding> out = new ArrayList<>();
        long unadvised = settings.anonMask(0) & g.allAnonOrders();
        long advised = settings.anonMask(VmaFlag.HUGEPAGE.mask()) & g.allAnonOrders();
        String processBlock = switch (original) {
            case DISABLED -> "the process was started with THP disabled (prctl, inherited, e.g. systemd MemoryTHP=disable);"
                    + " a policy only narrows, so nothing gets THP";
            case DISABLED_EXCEPT_ADVISED -> "the process was started with THP only where advised (prctl EXCEPT_ADVISED,"
                    + " e.g. MemoryTHP=madvise)";
            case NONE -> null;
        };
        if (original == ProcessThpMode.DISABLED_EXCEPT_ADVISED) {
            unadvised = 0;
        }

        // The heap (§9.1): HotSpot madvises only when the top-level mode is madvise (JDK-8319969); with "never" it
        // turns -XX:+UseTransparentHugePages off.
        String top = settings.enabled().sysfsName();
        boolean jvmAdvises = flags.useTransparentHugePages() && settings.enabled() == ThpEnabled.MADVISE;
        long heap = original == ProcessThpMode.DISABLED ? 0 : jvmAdvises ? advised : unadvised;
        String heapReason;
        if (original == ProcessThpMode.DISABLED) {
            heapReason = processBlock;
        } else if (flags.useTransparentHugePages() && settings.enabled() == ThpEnabled.NEVER) {
            heapReason = "-XX:+UseTransparentHugePages but the host's enabled=never: the JVM turns the flag off;"
                    + " set enabled=madvise to let it advise its heap";
        } else if (jvmAdvises) {
            heapReason = "-XX:+UseTransparentHugePages matches enabled=madvise: the JVM madvises its heap";
        } else if (flags.useTransparentHugePages()) {
            heapReason = "-XX:+UseTransparentHugePages with enabled=" + top + ": the JVM does not madvise (it only does with"
                    + " madvise); the heap gets what unadvised memory gets";
        } else if (heap != 0) {
            heapReason = "without -XX:+UseTransparentHugePages, but the host gives unadvised memory " + Orders.format(heap, page)
                    + (settings.enabled() == ThpEnabled.ALWAYS ? " (enabled=always)" : " (per-size enabled=always)")
                    + ": so does the heap, and every other anonymous mapping";
        } else {
            heapReason = "-XX:-UseTransparentHugePages and enabled=" + top + ": nothing advises the heap; start with"
                    + " -XX:+UseTransparentHugePages to get THP for it";
        }
        if (!flags.hotSpot()) {
            heapReason = "not a HotSpot JVM (no diagnostic bean): flags unknown; " + heapReason;
        }
        if ((heap & ~Orders.bit(g.pmdOrder())) != 0) {
            heapReason += "; HotSpot does not read per-size mTHP settings, so it plans for " + Orders.format(Orders.bit(g.pmdOrder()), page)
                    + " only";
        }
        out.add(new Finding(flags.useZgc() ? "Java heap (non-ZGC parts)" : "Java heap", heap != 0, heap, heapReason));

        // ZGC (§9.2, kernel-semantics.md §8): a memfd on the internal shm mount, whose huge= follows the top-level
        // shmem_enabled; ZGC madvises it only with -XX:+UseTransparentHugePages.
        if (flags.useZgc()) {
            ShmemEnabled shmem = settings.shmemEnabled();
            boolean gets = original != ProcessThpMode.DISABLED && switch (shmem) {
                case ALWAYS, WITHIN_SIZE, FORCE -> true;
                case ADVISE -> flags.useTransparentHugePages();
                case NEVER, DENY -> false;
            };
            String why;
            if (original == ProcessThpMode.DISABLED) {
                why = processBlock;
            } else if (shmem == ShmemEnabled.NEVER || shmem == ShmemEnabled.DENY) {
                why = "ZGC backs the heap with shared memory and shmem_enabled=" + shmem.sysfsName() + ": ZGC silently gets no THP;"
                        + " set shmem_enabled=advise and start with -XX:+UseTransparentHugePages";
            } else if (gets) {
                why = "shmem_enabled=" + shmem.sysfsName() + (shmem == ShmemEnabled.ADVISE ? " and ZGC madvises its heap (-XX:+UseTransparentHugePages)"
                        : " gives its shared memory THP");
            } else {
                why = "shmem_enabled=advise but ZGC advises its heap only with -XX:+UseTransparentHugePages";
            }
            out.add(new Finding("ZGC heap", gets, gets ? Orders.bit(g.pmdOrder()) : 0, why));
        }

        // Thread stacks (§9.3): unadvised anonymous memory.
        long stackKb = flags.threadStackSizeKb() > 0 ? flags.threadStackSizeKb() : g.pmdOrder() == 9 && page == 4096 ? 1024 : 2048;
        long stackBytes = stackKb << 10;
        long stacks = original == ProcessThpMode.DISABLED ? 0 : unadvised;
        StringBuilder s = new StringBuilder();
        if (stacks == 0) {
            s.append(original == ProcessThpMode.DISABLED ? processBlock : "unadvised memory gets no THP here, so stacks stay in base pages");
        } else {
            s.append("stacks of ").append(Orders.formatSize(stackBytes)).append(" are unadvised memory and get ")
                    .append(Orders.format(stacks, page));
            if (Orders.contains(stacks, g.pmdOrder())) {
                if (stackBytes >= g.pmdSize()) {
                    s.append("; stacks of a PMD size or more are fully backed by huge pages (JDK-8303215)");
                }
                s.append(flags.stackMitigationPresent() && !flags.stackMitigationDisabled()
                        ? "; this JVM keeps a guard page between stacks (JDK-8312182 fix)"
                        : "; adjacent stacks can merge and be collapsed by khugepaged (JDK-8312182"
                                + (flags.stackMitigationDisabled() ? ": -XX:+DisableTHPStackMitigation" : ": no fix in this JVM") + ")");
            }
            int maxOrder = Orders.highest((stackBytes / 2) >>> g.pageShift());
            long removed = stacks & ~Orders.upTo(maxOrder);
            s.append("; Policies.fitToVma(policy, 1, 2, geometry) caps a stack's folios at ").append(Orders.formatSize(stackBytes / 2))
                    .append(" (removes ").append(removed == 0 ? "nothing here" : Orders.format(removed, page))
                    .append("), where a hook asks the policy per VMA");
            s.append(enforcement == Enforcement.IN_PROCESS ? "; not in-process: prctl switches the whole process"
                    : "; the published per-cgroup table cannot carry it");
        }
        out.add(new Finding("thread stacks", stacks != 0, stacks, s.toString()));

        // The registration itself.
        String what = enforcement == Enforcement.IN_PROCESS
                ? "in-process: under pressure (or while small) the whole process falls back to base pages through prctl and"
                        + " back when it clears; which sizes it uses otherwise is up to sysfs (prctl cannot choose sizes)"
                : "published: the BPF-THP program applies the policy's per-cgroup table, sizes included";
        if (processBlock != null) {
            what += "; " + processBlock;
        }
        out.add(new Finding("policy", original != ProcessThpMode.DISABLED, enforcement == Enforcement.IN_PROCESS ? unadvised | advised : g.allAnonOrders(), what));
        return new JvmReport(out);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("mthp4j: what this JVM gets from THP\n");
        for (Finding f : findings) {
            b.append(String.format("  %-3s %-26s %s%n", f.gets() ? "yes" : "no", f.memory(), f.reason()));
        }
        return b.toString();
    }
}
