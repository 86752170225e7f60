package io.mthp4j.cli;

import io.mthp4j.api.Orders;
import io.mthp4j.linux.Capabilities;
import io.mthp4j.linux.LinuxKernel;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code mthp4j probe}: what this host supports (the linux-backend's capability probe). */
final class ProbeCommand implements Command {

    private final Options options = Options.builder("mthp4j probe", "[options]", """
            Reports what this host supports for mthp4j: bpf(2) maps and bpffs, BTF, a BPF-THP hook (BPF-THP v7's
            bpf_thp_ops or mthp_ext's bpf_mthp_ops), PSI and its trigger-window rule, the mTHP sizes, prctl
            EXCEPT_ADVISED, MADV_COLLAPSE, and where the memory controller is. Harmless: the prctl probe sets a
            mode on this process for an instant and restores it. Without root, bpf(2) shows as refused.""")
            .flag("json", 'j', "print the report as JSON")
            .build();

    @Override
    public String name() {
        return "probe";
    }

    @Override
    public String summary() {
        return "report what this host supports (bpf, bpffs, BPF-THP hook, PSI, mTHP sizes, prctl, MADV_COLLAPSE)";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        try (LinuxKernel kernel = Host.open(null)) {
            Capabilities c = kernel.probe();
            io.out().print(args.has("json") ? json(c) : c.report());
            return ExitCode.OK;
        }
    }

    static String json(Capabilities c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kernel_release", c.kernelRelease());
        m.put("arch", c.arch());
        m.put("page_size", c.pageSize());
        m.put("bpf_allowed", c.bpfAllowed());
        m.put("bpf_detail", c.bpfDetail());
        m.put("bpffs_mount", c.bpffsMount() == null ? null : c.bpffsMount().toString());
        m.put("btf", c.btfPresent());
        m.put("hooks", c.hooks().stream().map(h -> h.typeName).sorted().toList());
        m.put("hook_evidence", c.hookEvidence());
        m.put("psi", c.psiAvailable());
        m.put("cap_sys_resource", c.capSysResource());
        m.put("psi_window_step_us", c.psiWindowStepMicros());
        m.put("mthp_sizes", c.mthpOrders() == 0 ? "" : Orders.format(c.mthpOrders(), c.pageSize()));
        m.put("prctl_except_advised", c.prctlExceptAdvised());
        m.put("madv_collapse", c.madvCollapse());
        m.put("memory_controller", c.memoryController().name().toLowerCase(java.util.Locale.ROOT));
        m.put("memory_controller_at", c.memoryControllerAt() == null ? null : c.memoryControllerAt().toString());
        return Json.write(m);
    }
}
