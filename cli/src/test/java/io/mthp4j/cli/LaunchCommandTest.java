package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.cli.MainTest.Result;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.linux.LinuxKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mthp4j launch}: a command run with a THP mode; the mode of the JVM that runs mthp4j is back after the fork. */
class LaunchCommandTest {

    @Test
    void usageErrorsAreOneLine() {
        Result none = MainTest.run("launch");
        assertEquals(ExitCode.USAGE, none.code());
        assertTrue(none.oneErrorLine().contains("needs a mode and a command"), none.err());
        Result bad = MainTest.run("launch", "never", "--", "true");
        assertEquals(ExitCode.USAGE, bad.code());
        assertEquals("mthp4j launch: unknown THP mode \"never\"; use one of inherit, disable, madvise, system (as systemd's MemoryTHP=)",
                bad.oneErrorLine());
        assertTrue(MainTest.run("launch", "--help").out().contains("like systemd's"));
    }

    @Test
    void theCommandRunsDisabledAndItsStatusIsReturned(@TempDir Path dir) throws Exception {
        assumeTrue(LinuxKernel.unavailableReason() == null, "needs Linux: " + LinuxKernel.unavailableReason());
        ThpProcess self = LinuxKernel.open().currentProcess();
        ProcessThpMode own = self.thpMode();
        Path out = dir.resolve("status");
        Result r = MainTest.run("launch", "disable", "--", "sh", "-c", "grep THP_enabled /proc/self/status > " + out + "; exit 3");
        assertEquals(3, r.code(), r.err());
        assertTrue(Files.readString(out).matches("THP_enabled:\\s+0\\s*"), Files.readString(out));
        assertEquals(own, self.thpMode(), "the launching JVM keeps its mode");
        Result missing = MainTest.run("launch", "system", "--", "/nonexistent/mthp4j-no-such-command");
        assertEquals(ExitCode.FAILURE, missing.code());
        assertTrue(missing.oneErrorLine().startsWith("mthp4j launch: could not start /nonexistent/mthp4j-no-such-command"), missing.err());
    }
}
