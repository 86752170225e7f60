package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.KernelBackendContract;
import io.mthp4j.core.kernel.SettingsGuard;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract on this machine's kernel. Every global setting the contract touches is restored by the
 * contract's own guards; as a second line of defence this class records the THP settings and this process's
 * prctl state before the first test and puts them back after the last, whatever happened in between; the
 * policy map pins live in a private bpffs directory that is removed at the end (and bpffs unmounted if this
 * class mounted it).
 */
class LinuxKernelContractTest extends KernelBackendContract {

    private static BpffsFixture bpffs;
    private static SettingsGuard guard;
    private static ThpSettings before;
    private static ProcessThpMode prctlBefore;

    @BeforeAll
    static void setUp() {
        RealKernel.assumeRoot();
        bpffs = new BpffsFixture();
        LinuxKernel k = LinuxKernel.open();
        guard = SettingsGuard.record(k.thp());
        before = guard.original();
        prctlBefore = k.currentProcess().thpMode();
    }

    @AfterAll
    static void tearDown() {
        try {
            if (guard != null) {
                LinuxKernel k = LinuxKernel.open();
                k.currentProcess().setThpMode(prctlBefore);
                guard.close();
                assertEquals(before, k.thp().read(), "THP settings are as found");
            }
        } finally {
            if (bpffs != null) {
                bpffs.close();
            }
        }
    }

    @Override
    protected KernelBackend newBackend() {
        return LinuxKernel.builder().policyPin(bpffs.pin("policy")).build();
    }

    @Override
    protected void release(KernelBackend backend) {
        if (backend instanceof LinuxKernel k) {
            k.close();
            PolicyMap.unpin(k.policyPin());
        }
    }
}
