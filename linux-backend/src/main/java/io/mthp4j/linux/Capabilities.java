package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What this host supports, probed with harmless calls (STYLE: "probe a capability before relying on it"):
 * bpf(2) privilege, bpffs, BTF, a BPF-THP hook, PSI and its trigger-window rule, the mTHP sizes, prctl
 * {@code PR_THP_DISABLE_EXCEPT_ADVISED}, {@code MADV_COLLAPSE}, and where the memory controller is.
 * {@link #report()} prints it for people.
 *
 * @param kernelRelease       {@code uname -r}
 * @param arch                {@code os.arch}
 * @param bpfAllowed          a tiny BPF map could be created (CAP_BPF or root)
 * @param bpfDetail           why not, when not
 * @param bpffsMount          where bpffs is mounted, or null
 * @param btfPresent          {@code /sys/kernel/btf/vmlinux} exists
 * @param hooks               BPF-THP hook shapes this kernel carries
 * @param hookEvidence        where they were found (BTF type or kernel symbol), or why none
 * @param psiAvailable        {@code /proc/pressure/memory} is readable (PSI on)
 * @param capSysResource      the process has CAP_SYS_RESOURCE (privileged PSI triggers)
 * @param psiWindowStepMicros trigger windows must be a multiple of this (1 when privileged)
 * @param mthpOrders          anon orders with a {@code hugepages-<N>kB/enabled} file
 * @param pageSize            base page size
 * @param prctlExceptAdvised  {@code PR_SET_THP_DISABLE} accepts {@code PR_THP_DISABLE_EXCEPT_ADVISED}
 * @param madvCollapse        {@code madvise} knows {@code MADV_COLLAPSE}
 * @param memoryController    where the memory controller is
 * @param memoryControllerAt  its mount point, or null
 */
public record Capabilities(String kernelRelease, String arch, boolean bpfAllowed, String bpfDetail, Path bpffsMount,
                           boolean btfPresent, Set<HookShape> hooks, String hookEvidence, boolean psiAvailable,
                           boolean capSysResource, long psiWindowStepMicros, long mthpOrders, long pageSize,
                           boolean prctlExceptAdvised, boolean madvCollapse, MemoryController memoryController,
                           Path memoryControllerAt) {

    /** The BPF-THP hook shapes mthp4j's reference program implements (kernel-semantics.md §14, §15). */
    public enum HookShape {
        /** BPF-THP v7: struct_ops {@code bpf_thp_ops.thp_get_order}. */
        THP_GET_ORDER("bpf_thp_ops"),
        /** mthp_ext v2: struct_ops {@code bpf_mthp_ops.mthp_choose}. */
        MTHP_CHOOSE("bpf_mthp_ops");

        /** The struct_ops type name looked for in BTF and kallsyms. */
        public final String typeName;

        HookShape(String typeName) {
            this.typeName = typeName;
        }
    }

    /** Where the memory controller is bound. */
    public enum MemoryController { CGROUP_V2, CGROUP_V1, NONE }

    static final Path BTF_VMLINUX = Path.of("/sys/kernel/btf/vmlinux");
    static final Path KALLSYMS = Path.of("/proc/kallsyms");
    static final int CAP_SYS_RESOURCE = 24;

    public Capabilities {
        hooks = hooks.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(hooks));
    }

    /** Probes this host. The prctl probe sets EXCEPT_ADVISED on this process for an instant and restores it. */
    public static Capabilities probe(LinuxKernel kernel) {
        Sys.requireAvailable();
        String release = readOr(Path.of("/proc/sys/kernel/osrelease"), "unknown").strip();
        String bpfDetail = null;
        boolean bpf;
        try (BpfMap m = BpfMap.create(BpfMap.Type.ARRAY, "mthp4j_probe", 4, 4, 1, 0)) {
            bpf = m.isOpen();
        } catch (io.mthp4j.api.KernelException e) {
            bpf = false;
            bpfDetail = e.getMessage();
        }
        MountInfo mounts = MountInfo.read();
        MountInfo.Mount bpffs = mounts.first("bpf");
        boolean btf = Files.exists(BTF_VMLINUX);
        Set<HookShape> hooks = EnumSet.noneOf(HookShape.class);
        String evidence = hookEvidence(btf, hooks);
        boolean psi = Files.isReadable(LinuxCgroups.SYSTEM_PRESSURE) && !readOr(LinuxCgroups.SYSTEM_PRESSURE, "").isEmpty();
        boolean capRes = hasCapability(CAP_SYS_RESOURCE);
        PageGeometry g = kernel.geometry();
        long mthp = 0;
        for (long rest = g.allAnonOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            if (kernel.thp().readFile(g.sizeDirectory(order) + "/enabled") != null) {
                mthp |= Orders.bit(order);
            }
        }
        MemoryController mc;
        Path mcAt;
        LinuxCgroups cg = kernel.linuxCgroups();
        if (cg.memoryOnV2()) {
            mc = MemoryController.CGROUP_V2;
            mcAt = cg.v2Root();
        } else if (cg.v1MemoryRoot() != null) {
            mc = MemoryController.CGROUP_V1;
            mcAt = cg.v1MemoryRoot();
        } else {
            mc = MemoryController.NONE;
            mcAt = null;
        }
        return new Capabilities(release, System.getProperty("os.arch"), bpf, bpfDetail, bpffs == null ? null : bpffs.mountPoint(),
                btf, hooks, evidence, psi, capRes, capRes ? 1 : LinuxPsi.UNPRIVILEGED_WINDOW_STEP_MICROS, mthp, g.pageSize(),
                probeExceptAdvised(kernel.self()), probeMadvCollapse(g.pageSize()), mc, mcAt);
    }

    /**
     * The BPF-THP hook shapes this kernel carries, without the rest of the probe (no BPF map, no prctl or
     * mmap on this process): what a registering service needs to know.
     *
     * @param into filled with the shapes found
     * @return where they were found (BTF type or kernel symbol), or why none
     */
    public static String hookShapes(Set<HookShape> into) {
        return hookEvidence(Files.exists(BTF_VMLINUX), into);
    }

    private static String hookEvidence(boolean btf, Set<HookShape> hooks) {
        List<String> found = new ArrayList<>();
        if (btf) {
            try {
                byte[] strings = btfStrings(Files.readAllBytes(BTF_VMLINUX));
                for (HookShape h : HookShape.values()) {
                    if (containsCString(strings, h.typeName)) {
                        hooks.add(h);
                        found.add(h.typeName + " in BTF");
                    }
                }
            } catch (IOException | RuntimeException e) {
                found.add("BTF unreadable: " + e.getMessage());
            }
        }
        String syms = readOr(KALLSYMS, "");
        for (HookShape h : HookShape.values()) {
            if (syms.contains(" " + h.typeName + "\n") || syms.contains(" " + h.typeName + "\t")) {
                hooks.add(h);
                found.add(h.typeName + " in kallsyms");
            }
        }
        if (found.isEmpty()) {
            return "no bpf_thp_ops or bpf_mthp_ops type in " + (btf ? "BTF" : "kallsyms (no BTF)") + ": neither series is in this kernel";
        }
        return String.join(", ", found);
    }

    /** The string section of a raw BTF blob (header: magic 0xeB9F, hdr_len, type_off/len, str_off/len). */
    static byte[] btfStrings(byte[] btf) {
        ByteBuffer b = ByteBuffer.wrap(btf).order(ByteOrder.nativeOrder());
        if ((b.getShort(0) & 0xffff) != 0xeB9F) {
            throw new IllegalArgumentException("not BTF (magic 0x" + Integer.toHexString(b.getShort(0) & 0xffff) + ")");
        }
        int hdrLen = b.getInt(4);
        int strOff = b.getInt(16);
        int strLen = b.getInt(20);
        byte[] out = new byte[strLen];
        System.arraycopy(btf, hdrLen + strOff, out, 0, strLen);
        return out;
    }

    static boolean containsCString(byte[] table, String name) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + n.length < table.length; i++) {
            if ((i > 0 && table[i - 1] != 0) || table[i + n.length] != 0) {
                continue;
            }
            for (int j = 0; j < n.length; j++) {
                if (table[i + j] != n[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    static boolean hasCapability(int cap) {
        for (String line : readOr(Path.of("/proc/self/status"), "").split("\n")) {
            if (line.startsWith("CapEff:")) {
                long eff = Long.parseUnsignedLong(line.substring(7).strip(), 16);
                return (eff >>> cap & 1) != 0;
            }
        }
        return false;
    }

    private static boolean probeExceptAdvised(LinuxProcess self) {
        ProcessThpMode original = self.thpMode();
        try {
            self.setThpMode(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
            return self.thpMode() == ProcessThpMode.DISABLED_EXCEPT_ADVISED;
        } catch (io.mthp4j.api.KernelException e) {
            return false;
        } finally {
            self.setThpMode(original);
        }
    }

    /** madvise checks the advice before the range: on an unmapped range a known advice gives ENOMEM, an unknown one EINVAL. */
    private static boolean probeMadvCollapse(long pageSize) {
        long addr;
        try (AnonMapping m = AnonMapping.map(pageSize, pageSize)) {
            addr = m.address();
        }
        if (Libc.madvise(addr, pageSize, io.mthp4j.api.Madvice.COLLAPSE.value()) == 0) {
            return true; // something was mapped there meanwhile and collapsed: supported all the same
        }
        return Sys.errno() != Errno.EINVAL.value();
    }

    private static String readOr(Path file, String fallback) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return fallback;
        }
    }

    /** A readable report, one capability per line with what it means for mthp4j. */
    public String report() {
        StringBuilder out = new StringBuilder();
        out.append("mthp4j capability probe: Linux ").append(kernelRelease).append(" on ").append(arch)
                .append(", ").append(pageSize / 1024).append(" KiB pages\n");
        line(out, "bpf(2) maps", bpfAllowed, bpfAllowed ? "allowed" : "refused: " + bpfDetail);
        line(out, "bpffs", bpffsMount != null, bpffsMount != null ? "mounted at " + bpffsMount
                : "not mounted (mount -t bpf bpf /sys/fs/bpf) - policy maps cannot be pinned");
        line(out, "BTF", btfPresent, btfPresent ? BTF_VMLINUX.toString() : "absent - CO-RE BPF programs cannot load");
        line(out, "BPF-THP hook", !hooks.isEmpty(), (hooks.isEmpty() ? "none: " : hooks + ": ") + hookEvidence
                + (hooks.isEmpty() ? " - decisions are published but no kernel program can apply them" : ""));
        line(out, "PSI", psiAvailable, psiAvailable ? "on" : "off (boot with psi=1)");
        line(out, "PSI trigger window", true, capSysResource ? "any 1..10 s (CAP_SYS_RESOURCE)"
                : "multiples of 2 s only (no CAP_SYS_RESOURCE); shorter windows are adapted");
        line(out, "mTHP sizes", mthpOrders != 0, mthpOrders == 0 ? "none" : Orders.format(mthpOrders, pageSize));
        line(out, "prctl EXCEPT_ADVISED", prctlExceptAdvised, prctlExceptAdvised ? "supported" : "not supported (kernel before 6.18)");
        line(out, "MADV_COLLAPSE", madvCollapse, madvCollapse ? "supported" : "not supported (kernel before 6.1)");
        line(out, "memory controller", memoryController != MemoryController.NONE, switch (memoryController) {
            case CGROUP_V2 -> "cgroup v2 at " + memoryControllerAt;
            case CGROUP_V1 -> "cgroup v1 at " + memoryControllerAt + " (v2 cgroups have pressure but no memory.stat)";
            case NONE -> "none";
        });
        return out.toString();
    }

    private static void line(StringBuilder out, String what, boolean ok, String detail) {
        out.append(String.format(Locale.ROOT, "  %-3s %-21s %s%n", ok ? "ok" : "--", what, detail));
    }
}
