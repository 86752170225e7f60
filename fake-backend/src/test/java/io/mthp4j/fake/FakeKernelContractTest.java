package io.mthp4j.fake;

import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.KernelBackendContract;

/** The backend contract, on the fake kernel. */
class FakeKernelContractTest extends KernelBackendContract {

    @Override
    protected KernelBackend newBackend() {
        return FakeKernel.create();
    }
}
