package io.mthp4j.fake.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeProcess;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@WithFakeKernel(swapMiB = 512)
class WithFakeKernelTest {

    static FakeKernel previous;

    @Test
    void aKernelAndAProcessAreInjected(FakeKernel kernel, FakeProcess process) {
        assertEquals(PageGeometry.X86_64_4K, kernel.geometry());
        assertEquals(512L << 20, kernel.config().pressure().swapBytes());
        assertEquals(kernel.cgroups().root(), process.cgroup());
        assertNotSame(previous, kernel);
        previous = kernel;
        long a = process.mmapAnonymous(1 << 20);
        process.write(a, 1 << 20);
    }

    @Test
    void eachTestGetsAFreshKernel(FakeKernel kernel) {
        assertNotSame(previous, kernel);
        previous = kernel;
        assertEquals(0, kernel.vmstat("pgfault"));
    }

    @Test
    @WithFakeKernel(preset = WithFakeKernel.Preset.ARM64_64K)
    void aMethodAnnotationOverridesTheClass(FakeKernel kernel) {
        assertEquals(PageGeometry.ARM64_64K, kernel.geometry());
        assertEquals(0, kernel.config().pressure().swapBytes());
    }

    @Nested
    class Inner {
        @Test
        void nestedClassesUseTheEnclosingSettings(FakeKernel kernel) {
            assertEquals(512L << 20, kernel.config().pressure().swapBytes());
        }
    }
}
