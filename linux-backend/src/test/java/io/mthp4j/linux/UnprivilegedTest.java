package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.KernelException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * EPERM as an unprivileged process (linux-interfaces.md §2.6: {@code kernel.unprivileged_bpf_disabled}): a
 * child JVM started by {@code setpriv} with every capability dropped (still uid 0, so it can read the build's
 * class path) tries to create a map and must get EPERM with a hint about CAP_BPF.
 */
class UnprivilegedTest {

    /** The child: prints one line per attempt, {@code <what> <errno name or ok>: <message>}. */
    public static void main(String[] args) {
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "unpriv", 8, 8, 1, 0)) {
            System.out.println("create ok: " + m);
        } catch (KernelException e) {
            System.out.println("create " + e.errno() + ": " + e.getMessage());
        }
        System.out.println("capabilities bpf=" + Capabilities.hasCapability(39) + " sys_admin=" + Capabilities.hasCapability(21));
    }

    @Test
    void mapCreationWithoutCapabilitiesIsEpermWithAHint() {
        RealKernel.assumeRoot();
        Path setpriv = RealKernel.assumeTool("setpriv");
        RealKernel.Result r = RealKernel.runJava(UnprivilegedTest.class,
                List.of(setpriv.toString(), "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"));
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("capabilities bpf=false sys_admin=false"), r.output());
        assertTrue(r.output().contains("create EPERM: BPF_MAP_CREATE on map \"unpriv\""), r.output());
        assertTrue(r.output().contains("needs CAP_BPF"), r.output());
    }
}
