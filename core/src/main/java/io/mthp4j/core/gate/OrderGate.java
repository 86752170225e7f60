package io.mthp4j.core.gate;

import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;
import java.util.Objects;

/**
 * The kernel's THP order gate, {@code thp_vma_allowable_orders} of Linux 6.18, emulated in-process
 * (kernel-semantics.md §4), with a policy hook where the proposed BPF hooks sit.
 *
 * <p>Given the THP settings, the process's prctl state, a VMA and why the kernel asks, it answers which of
 * the requested orders may be used. Every method is allocation-free and thread-safe; the gate itself is
 * immutable.
 *
 * <p>Invariants, whatever the policy does:
 * <ul>
 *   <li>the result is a subset of what the kernel rules allow for the same call without a policy;</li>
 *   <li>it never contains an order above the highest requested one;</li>
 *   <li>a policy that throws, or returns bits outside what it was asked, counts as "no opinion": the
 *       failure is counted ({@link #policyFailures()}) and logged at a bounded rate, never propagated.</li>
 * </ul>
 * The single exception is {@link Hooks#thpGetOrderStrict}, which reproduces v7's documented quirk of
 * answering with an order the request did not contain (still never above the highest requested).
 */
public final class OrderGate {

    private final PageGeometry geometry;
    private final MthpPolicy policy;
    private final HookPlacement placement;
    private final boolean hardwareDisabled;
    private final boolean readOnlyThpForFs;
    private final boolean v7Strict;
    private final PolicyFailures failures;
    private final long allAnon;
    private final long allFile;
    private final long allSpecial;
    private final long pmdBit;
    private final long shmemPmdBit;

    private OrderGate(Builder b) {
        this.geometry = b.geometry;
        this.policy = b.policy;
        this.placement = b.placement;
        this.hardwareDisabled = b.hardwareDisabled;
        this.readOnlyThpForFs = b.readOnlyThpForFs;
        this.v7Strict = b.policy instanceof Hooks.V7Strict;
        this.failures = new PolicyFailures(b.policy);
        this.allAnon = geometry.allAnonOrders();
        this.allFile = geometry.allFileOrders();
        this.allSpecial = geometry.allSpecialOrders();
        this.pmdBit = Orders.bit(geometry.pmdOrder());
        // maybe_pmd_order in shmem_huge_global_enabled: no PMD shmem folio when PMD > MAX_PAGECACHE_ORDER.
        this.shmemPmdBit = geometry.pmdOrder() > geometry.maxPagecacheOrder() ? 0 : pmdBit;
    }

    /** A builder for a gate of {@code geometry}: no policy, placement before the sysfs mask. */
    public static Builder builder(PageGeometry geometry) {
        return new Builder(geometry);
    }

    /** A builder that starts from this gate's configuration (with fresh failure counters). */
    public Builder toBuilder() {
        return new Builder(geometry).policy(policy).placement(placement).hardwareDisabled(hardwareDisabled)
                .readOnlyThpForFs(readOnlyThpForFs);
    }

    public PageGeometry geometry() {
        return geometry;
    }

    /** The attached policy, or {@code null}. */
    public MthpPolicy policy() {
        return policy;
    }

    public HookPlacement placement() {
        return placement;
    }

    /** Counts of policy calls that threw or returned garbage. */
    public PolicyFailures policyFailures() {
        return failures;
    }

    // ---- thp_vma_allowable_orders (§4.3, §14.3) ----

    /**
     * {@code thp_vma_allowable_orders(vma, vm_flags, type, orders)}: the subset of {@code orders} this VMA may
     * use, with the policy consulted at its {@link HookPlacement}.
     *
     * @param settings the THP sysfs settings in force
     * @param mm       the prctl state of the VMA's process
     * @param vma      the VMA, with its current flags
     * @param type     why the kernel asks
     * @param orders   the orders asked about
     */
    public long allowableOrders(ThpSettings settings, ProcessThpMode mm, VmaInfo vma, TvaType type, long orders) {
        return allowable(settings, mm, vma, type, orders, policy != null);
    }

    /** The same question answered by the kernel's rules alone, with no policy consulted. */
    public long kernelAllowableOrders(ThpSettings settings, ProcessThpMode mm, VmaInfo vma, TvaType type, long orders) {
        return allowable(settings, mm, vma, type, orders, false);
    }

    /**
     * {@code thp_vma_allowable_order}: whether asking for {@code BIT(order)} yields a <em>non-zero</em> mask
     * (§2; with {@link Hooks#thpGetOrderStrict} that is not the same as "order is allowed").
     */
    public boolean allowableOrder(ThpSettings settings, ProcessThpMode mm, VmaInfo vma, TvaType type, int order) {
        return allowableOrders(settings, mm, vma, type, Orders.bit(order)) != 0;
    }

    private long allowable(ThpSettings s, ProcessThpMode mm, VmaInfo vma, TvaType type, long orders, boolean hook) {
        if (orders == 0) {
            return 0;
        }
        // Never above the highest requested order, whatever happens below (the shmem rule of step 7
        // returns its own orders; nothing in the kernel asks it for less than the PMD order).
        long ceiling = Orders.upTo(Orders.highest(orders));
        if (hook && placement == HookPlacement.BEFORE_SYSFS_MASK) {
            orders = consult(vma, type, orders);
            if (orders == 0) {
                return 0;
            }
        }
        // The inline wrapper: the anon sysfs mask (§3.4), for every type but FORCED_COLLAPSE.
        long anonMask = type != TvaType.FORCED_COLLAPSE && vma.kind() == VmaKind.ANON ? s.anonMask(vma.flags()) : -1L;
        orders &= anonMask;
        if (orders == 0) {
            return 0;
        }
        if (hook && placement == HookPlacement.AFTER_SYSFS_MASK) {
            // A hook only narrows sysfs (§14.3): the verbatim v7 answer may name an order the mask removed.
            orders = consult(vma, type, orders) & anonMask;
            if (orders == 0) {
                return 0;
            }
        }
        return core(s, mm, vma, type, orders) & ceiling;
    }

    /** {@code __thp_vma_allowable_orders}, steps 1 to 11 of §4.3; the skip table is §4.4. */
    private long core(ThpSettings s, ProcessThpMode mm, VmaInfo vma, TvaType type, long orders) {
        boolean smaps = type == TvaType.SMAPS;
        boolean inPf = type.isFault();
        boolean forced = type == TvaType.FORCED_COLLAPSE;
        boolean anon = vma.kind() == VmaKind.ANON;
        int flags = vma.flags();

        // 1. supported orders
        long supported = anon ? allAnon : (flags & VmaFlag.SPECIAL_HUGE.mask()) != 0 ? allSpecial : allFile;
        orders &= supported;
        if (orders == 0) {
            return 0;
        }
        // 2. no mm
        if ((flags & VmaFlag.NO_MM.mask()) != 0) {
            return 0;
        }
        // 3. disabled by hardware, VM_NOHUGEPAGE or prctl
        if (hardwareDisabled || vmaThpDisabled(flags, mm, forced)) {
            return 0;
        }
        // 4. DAX: only its own fault handler
        if ((flags & VmaFlag.DAX.mask()) != 0) {
            return inPf ? orders : 0;
        }
        // 5. VM_NO_KHUGEPAGED, outside faults and smaps
        if (!inPf && !smaps && (flags & VmaFlag.NO_KHUGEPAGED.mask()) != 0) {
            return 0;
        }
        // 6. suitability against vm_end, outside faults (the fault path checks the fault address itself)
        if (!inPf) {
            int order = Orders.highest(orders);
            while (orders != 0) {
                long addr = vma.end() - (geometry.pageSize() << order);
                if (suitableOrder(vma, addr, order)) {
                    break;
                }
                orders &= ~(1L << order);
                order = Orders.highest(orders);
            }
            if (orders == 0) {
                return 0;
            }
        }
        // 7. shmem: its own rules (not masked by the request, as in the kernel)
        if (!inPf && vma.kind().isShmemFile()) {
            return shmemAllowableHugeOrders(s, mm, vma, vma.pgoff(), 0, forced);
        }
        // 8. other non-anonymous VMAs
        if (!anon) {
            if (!forced && (!s.globalEnabled() || ((flags & VmaFlag.HUGEPAGE.mask()) == 0 && !s.globalAlways()))) {
                return 0;
            }
            if ((inPf || smaps) && (flags & VmaFlag.HUGE_FAULT.mask()) != 0) {
                return orders;
            }
            if ((!inPf || smaps) && readOnlyThpForFs && (flags & VmaFlag.FILE_THP_ENABLED.mask()) != 0) {
                return orders;
            }
            return 0;
        }
        // 9. the stack while execve sets it up
        if ((flags & VmaFlag.TEMPORARY_STACK.mask()) != 0) {
            return 0;
        }
        // 10. no anon_vma yet: only faults and smaps may go on
        if ((flags & VmaFlag.ANON_VMA.mask()) == 0) {
            return smaps || inPf ? orders : 0;
        }
        // 11.
        return orders;
    }

    /**
     * {@code vma_thp_disabled} (§4.2): VM_NOHUGEPAGE and "disabled completely" always block; VM_HUGEPAGE and
     * forced collapse are exempt from "disabled except advised".
     */
    public static boolean vmaThpDisabled(int vmaFlags, ProcessThpMode mm, boolean forcedCollapse) {
        if ((vmaFlags & VmaFlag.NOHUGEPAGE.mask()) != 0 || mm == ProcessThpMode.DISABLED) {
            return true;
        }
        if ((vmaFlags & VmaFlag.HUGEPAGE.mask()) != 0 || forcedCollapse) {
            return false;
        }
        return mm == ProcessThpMode.DISABLED_EXCEPT_ADVISED;
    }

    // ---- suitability (§2) ----

    /**
     * {@code thp_vma_suitable_order}: whether the {@code order}-aligned block around {@code addr} lies inside
     * the VMA and, for non-anonymous VMAs, the file offset is aligned the same way. Unsigned arithmetic as in
     * the kernel.
     */
    public boolean suitableOrder(VmaInfo vma, long addr, int order) {
        long size = geometry.pageSize() << order;
        if (vma.kind() != VmaKind.ANON) {
            long pages = size >>> geometry.pageShift();
            if ((((vma.start() >>> geometry.pageShift()) - vma.pgoff()) & (pages - 1)) != 0) {
                return false;
            }
        }
        long base = addr & -size;
        return Long.compareUnsigned(base, vma.start()) >= 0 && Long.compareUnsigned(base + size, vma.end()) <= 0;
    }

    /**
     * {@code thp_vma_suitable_orders}: from the highest order down, drops orders whose block around
     * {@code addr} does not fit; stops at the first that fits (it and all lower orders stay, untested).
     */
    public long suitableOrders(VmaInfo vma, long addr, long orders) {
        int order = Orders.highest(orders);
        while (orders != 0) {
            if (suitableOrder(vma, addr, order)) {
                break;
            }
            orders &= ~(1L << order);
            order = Orders.highest(orders);
        }
        return orders;
    }

    // ---- shmem (§8) ----

    /**
     * {@code shmem_allowable_huge_orders(inode, vma, index, write_end, shmem_huge_force)}: the orders a shmem
     * or tmpfs VMA may use at page {@code index} of its file. The shmem fault path calls it directly; no policy
     * hook is consulted here, as in both series.
     */
    public long shmemAllowableHugeOrders(ThpSettings s, ProcessThpMode mm, VmaInfo vma, long index, long writeEnd,
                                         boolean force) {
        if (hardwareDisabled || vmaThpDisabled(vma.flags(), mm, force)) {
            return 0;
        }
        long global = shmemHugeGlobalEnabled(s, vma, index, writeEnd, force);
        if (vma.kind() != VmaKind.SHMEM) {
            return global;
        }
        ShmemEnabled top = s.shmemEnabled();
        if (top == ShmemEnabled.DENY) {
            return 0;
        }
        if (top == ShmemEnabled.FORCE) {
            return s.shmemInherit();
        }
        long mask = s.shmemAlways();
        // Per-size within_size reads i_size only; write_end counts for the global rule alone (§8).
        mask |= ordersWithinSize(s.shmemWithinSize(), vma, index, 0);
        if (vma.has(VmaFlag.HUGEPAGE)) {
            mask |= s.shmemAdvise();
        }
        if (global != 0) {
            mask |= s.shmemInherit();
        }
        return mask & allFile;
    }

    /**
     * {@code shmem_huge_global_enabled} for a mapped file: the internal mount's {@code huge=} follows the
     * top-level {@code shmem_enabled} (§8). User tmpfs mounts with their own {@code huge=} are not modelled.
     */
    private long shmemHugeGlobalEnabled(ThpSettings s, VmaInfo vma, long index, long writeEnd, boolean force) {
        ShmemEnabled top = s.shmemEnabled();
        if (top == ShmemEnabled.DENY) {
            return 0;
        }
        if (force || top == ShmemEnabled.FORCE) {
            return shmemPmdBit;
        }
        switch (top) {
            case ALWAYS:
                return shmemPmdBit;
            case WITHIN_SIZE:
                long within = ordersWithinSize(shmemPmdBit, vma, index, writeEnd);
                if (within != 0) {
                    return within;
                }
                // fall through: treated as advise
            case ADVISE:
                return vma.has(VmaFlag.HUGEPAGE) ? shmemPmdBit : 0;
            default:
                return 0;
        }
    }

    /**
     * {@code shmem_get_orders_within_size}: from the highest order down, the first whose aligned block ending
     * after {@code index} lies inside {@code max(i_size, write_end)} keeps itself and every lower order.
     */
    private long ordersWithinSize(long orders, VmaInfo vma, long index, long writeEnd) {
        long size = Math.max(writeEnd, vma.fileSize());
        long sizePages = (size + geometry.pageSize() - 1) >>> geometry.pageShift();
        int order = Orders.highest(orders);
        while (orders != 0) {
            long block = 1L << order;
            long alignedIndex = (index + block) & -block; // round_up(index + 1, block)
            if (sizePages >= alignedIndex) {
                return orders;
            }
            orders &= ~(1L << order);
            order = Orders.highest(orders);
        }
        return 0;
    }

    // ---- khugepaged (§6) ----

    /**
     * {@code hugepage_pmd_enabled()}: whether the PMD order is enabled anywhere, which decides whether
     * khugepaged runs and whether an mm can register with it.
     */
    public boolean hugepagePmdEnabled(ThpSettings s) {
        if (readOnlyThpForFs && s.globalEnabled()) {
            return true;
        }
        if (((s.anonAlways() | s.anonMadvise()) & pmdBit) != 0) {
            return true;
        }
        if ((s.anonInherit() & pmdBit) != 0 && s.globalEnabled()) {
            return true;
        }
        return shmemHpagePmdEnabled(s);
    }

    private boolean shmemHpagePmdEnabled(ThpSettings s) {
        if (s.shmemEnabled() == ShmemEnabled.DENY) {
            return false;
        }
        if (((s.shmemAlways() | s.shmemAdvise() | s.shmemWithinSize()) & pmdBit) != 0) {
            return true;
        }
        return (s.shmemInherit() & pmdBit) != 0 && s.shmemEnabled() != ShmemEnabled.NEVER;
    }

    // ---- the hook ----

    private long consult(VmaInfo vma, TvaType type, long orders) {
        long answer;
        try {
            answer = policy.chooseOrders(vma, type, orders);
        } catch (VirtualMachineError e) {
            throw e; // the JVM itself is failing; nothing sensible to fall back to
        } catch (Throwable e) {
            failures.threw(e, vma, type, orders);
            return orders;
        }
        long allowedOut = v7Strict ? Orders.upTo(Orders.highest(orders)) : orders;
        if ((answer & ~allowedOut) != 0) {
            failures.invalid(answer, vma, type, orders);
            return orders;
        }
        return answer;
    }

    @Override
    public String toString() {
        return "OrderGate[" + geometry + ", policy " + policy + ", " + placement + (hardwareDisabled ? ", no THP hardware" : "")
                + (readOnlyThpForFs ? ", READ_ONLY_THP_FOR_FS" : "") + "]";
    }

    /** Configures an {@link OrderGate}; fails fast on bad values. */
    public static final class Builder {
        private final PageGeometry geometry;
        private MthpPolicy policy;
        private HookPlacement placement = HookPlacement.BEFORE_SYSFS_MASK;
        private boolean hardwareDisabled;
        private boolean readOnlyThpForFs;

        private Builder(PageGeometry geometry) {
            this.geometry = Objects.requireNonNull(geometry, "geometry");
        }

        /** The policy consulted where the hook sits; {@code null} for none (the stock kernel). */
        public Builder policy(MthpPolicy value) {
            this.policy = value;
            return this;
        }

        /** Where the hook sits; default {@link HookPlacement#BEFORE_SYSFS_MASK} (BPF-THP v7). */
        public Builder placement(HookPlacement value) {
            this.placement = Objects.requireNonNull(value, "placement");
            return this;
        }

        /** {@code thp_disabled_by_hw()}: no THP at all. Default false. */
        public Builder hardwareDisabled(boolean value) {
            this.hardwareDisabled = value;
            return this;
        }

        /**
         * {@code CONFIG_READ_ONLY_THP_FOR_FS}: read-only file THP and its khugepaged trigger. Default false,
         * as on our machines' kernel (linux-interfaces.md §1).
         */
        public Builder readOnlyThpForFs(boolean value) {
            this.readOnlyThpForFs = value;
            return this;
        }

        public OrderGate build() {
            return new OrderGate(this);
        }
    }
}
