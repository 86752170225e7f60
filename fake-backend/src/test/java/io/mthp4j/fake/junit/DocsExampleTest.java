package io.mthp4j.fake.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mthp4j.api.Madvice;
import io.mthp4j.api.Orders;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeProcess;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The example of docs/fake-kernel.md, verbatim, so the documentation stays true. */
@WithFakeKernel
class DocsExampleTest {

    @Test
    void myPolicyKeepsPageFaultsAt64K(FakeKernel kernel, FakeProcess process) {
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled", "always");
        kernel.attachGlobal((vma, tva, orders) -> orders & Orders.parse("64K", 4096));   // your MthpPolicy

        long region = process.mmapAnonymous(64 << 20);
        process.madvise(region, 64 << 20, Madvice.HUGEPAGE);
        process.write(region, 64 << 20);                                     // real faults, real fallback

        assertEquals(Map.of(65536L, 64L << 20), process.census(region, 64 << 20));   // bytes per folio size
        assertEquals(1024, kernel.stat(4, "anon_fault_alloc"));              // hugepages-64kB/stats/anon_fault_alloc
    }
}
