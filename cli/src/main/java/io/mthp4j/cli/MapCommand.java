package io.mthp4j.cli;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.linux.LinuxKernel;
import io.mthp4j.linux.PolicyMap;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code mthp4j map dump|clear}: read or empty the pinned policy map, refusing a map of another layout. */
final class MapCommand implements Command {

    private final Options options = Options.builder("mthp4j map", "dump|clear [options]", """
            dump prints every entry of the pinned policy map (docs/linux-backend.md: key = cgroup id, value =
            allowed orders per request type and advice, generation, expiry): the cgroup, whether it applies now
            (valid, this layout, not expired), when it expires and the decision. clear removes every entry, so
            the BPF program has no opinion anywhere until a controller publishes again (stop 'mthp4j run' first,
            or it republishes at its next scan). A map pinned there with another layout is refused. Needs root.""")
            .positionals(1)
            .option("pin", (char) 0, "PATH", "where the policy map is pinned (default /sys/fs/bpf/mthp4j/policy)")
            .flag("json", 'j', "print the entries (dump) or the count removed (clear) as JSON")
            .build();

    @Override
    public String name() {
        return "map";
    }

    @Override
    public String summary() {
        return "dump or clear the pinned policy map (refuses a map of another layout)";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        if (args.positionals().isEmpty()) {
            throw CliException.usage("say what to do: 'mthp4j map dump' or 'mthp4j map clear'");
        }
        String action = args.positionals().get(0);
        if (!action.equals("dump") && !action.equals("clear")) {
            throw CliException.usage("unknown action '" + action + "': expected dump or clear; see 'mthp4j map --help'");
        }
        Path pin = Path.of(args.value("pin", PolicyMap.DEFAULT_PIN.toString()));
        Host.requireBpffs(pin);
        try (LinuxKernel kernel = Host.open(pin); PolicyMap map = open(pin, action.equals("dump"))) {
            CgroupTree tree = ((KernelBackend) kernel).cgroups();
            List<PolicyMap.Entry> entries = new ArrayList<>(map.entries());
            entries.sort(Comparator.comparingLong(PolicyMap.Entry::cgroupId));
            if (action.equals("clear")) {
                int removed = 0;
                for (PolicyMap.Entry e : entries) {
                    removed += map.remove(e.cgroupId()) ? 1 : 0;
                }
                if (args.has("json")) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put("pin", pin.toString());
                    doc.put("removed", removed);
                    io.out().print(Json.write(doc));
                } else {
                    io.out().println("removed " + removed + " entr" + (removed == 1 ? "y" : "ies") + " from " + pin);
                }
                return ExitCode.OK;
            }
            long now = kernel.bootTimeNanos();
            List<Object> rows = new ArrayList<>();
            Map<Long, String> paths = Host.paths(tree);
            for (PolicyMap.Entry e : entries) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("cgroup_id", e.cgroupId());
                m.put("cgroup", Host.pathOf(paths, e.cgroupId()));
                m.put("applies", e.appliesAt(now));
                m.put("valid", (e.flags() & PolicyMap.F_VALID) != 0);
                m.put("layout_version", e.layoutVersion());
                m.put("generation", e.generation());
                m.put("expires_in_s", (e.expiresAtBootNanos() - now) / 1e9);
                m.put("decision", PolicyController.describe(e.table()));
                rows.add(m);
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("pin", pin.toString());
            doc.put("entries", rows);
            io.out().print(args.has("json") ? Json.write(doc) : text(pin, rows));
            return ExitCode.OK;
        }
    }

    private static PolicyMap open(Path pin, boolean readOnly) {
        try {
            return PolicyMap.openPinned(pin, readOnly);
        } catch (KernelException e) {
            if (e.errno() == Errno.ENOENT) {
                throw new CliException(ExitCode.FAILURE, "nothing is pinned at " + pin + ": no controller has published there"
                        + " ('mthp4j run' creates the map; --pin names another path)", e);
            }
            throw Host.fromKernel(e);
        } catch (IllegalStateException e) {
            throw new CliException(ExitCode.BAD_INPUT, e.getMessage(), e); // another layout: refused
        }
    }

    @SuppressWarnings("unchecked")
    private static String text(Path pin, List<Object> rows) {
        StringBuilder b = new StringBuilder("policy map " + pin + ": " + rows.size() + " entr" + (rows.size() == 1 ? "y" : "ies") + "\n");
        if (rows.isEmpty()) {
            return b.toString();
        }
        List<List<String>> table = new ArrayList<>();
        table.add(List.of("cgroup", "id", "applies", "generation", "expires", "decision"));
        for (Object o : rows) {
            Map<String, Object> m = (Map<String, Object>) o;
            double in = (Double) m.get("expires_in_s");
            table.add(List.of((String) m.get("cgroup"), m.get("cgroup_id").toString(), (Boolean) m.get("applies") ? "yes" : "no",
                    m.get("generation").toString(), in >= 0 ? String.format(Locale.ROOT, "in %.1fs", in)
                            : String.format(Locale.ROOT, "%.1fs ago", -in), (String) m.get("decision")));
        }
        return b.append(StatusCommand.columns(table)).toString();
    }
}
