package io.mthp4j.cli;

import io.mthp4j.api.KernelException;
import io.mthp4j.core.host.HostThpEnforcer;
import io.mthp4j.linux.LinuxKernel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code mthp4j restore}: puts back the THP knobs that {@code mthp4j run --enforce host} recorded before its first
 * write, when that daemon was killed before it could restore them itself (docs/host-enforcement.md).
 */
final class RestoreCommand implements Command {

    private final Options options = Options.builder("mthp4j restore", "[options]", """
            Puts back the THP settings that 'mthp4j run --enforce host' recorded in its state file before changing
            them, and deletes the file: what a daemon killed with SIGKILL (or a crashed host) could not do itself.
            A later 'mthp4j run --enforce host' does the same on start. Refuses while a live daemon holds the
            file. Only the knobs recorded there are written. Needs root.""")
            .option("state", (char) 0, "FILE", "the state file (default /run/mthp4j/host-thp.state)")
            .flag("json", 'j', "print what was restored as JSON")
            .build();

    @Override
    public String name() {
        return "restore";
    }

    @Override
    public String summary() {
        return "put back the THP knobs a killed 'run --enforce host' left changed";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        Path state = Path.of(args.value("state", HostThpEnforcer.DEFAULT_STATE));
        Map<String, String> restored;
        try (LinuxKernel kernel = Host.open(null)) {
            restored = HostThpEnforcer.restore(kernel.thp(), state);
        } catch (KernelException e) {
            throw Host.fromKernel(e);
        } catch (IllegalStateException e) {
            throw new CliException(ExitCode.FAILURE, e.getMessage(), e); // a live daemon holds it, or it is damaged
        }
        if (args.has("json")) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("state", state.toString());
            doc.put("restored", new LinkedHashMap<>(restored));
            io.out().print(Json.write(doc));
        } else if (restored.isEmpty()) {
            io.out().println("nothing to restore from " + state + " (no state file, or every knob already had its value)");
        } else {
            restored.forEach((knob, value) -> io.out().println("restored " + knob + " = " + value));
        }
        return ExitCode.OK;
    }
}
