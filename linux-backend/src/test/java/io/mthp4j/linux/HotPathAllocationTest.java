package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.DecisionTable;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Publishing a decision and reading the boot clock allocate nothing once warm (measured per thread). */
class HotPathAllocationTest {

    @Test
    void publishingAndTheClockAllocateNothing() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean,
                "needs com.sun.management.ThreadMXBean to count allocated bytes");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadAllocatedMemorySupported(), "allocation counting unsupported");
        mx.setThreadAllocatedMemoryEnabled(true);
        try (BpffsFixture bpffs = new BpffsFixture()) {
            Path pin = bpffs.pin("hot");
            try (PolicyMap map = PolicyMap.createPinned(pin, 64)) {
                LinuxDecisionSink sink = new LinuxDecisionSink(map);
                DecisionTable table = DecisionTable.uniform(0x3fc).with(io.mthp4j.api.TvaType.KHUGEPAGED, 0);
                long sum = 0;
                for (int i = 0; i < 20_000; i++) { // warm up: JIT, JNA's first-call setup, thread locals
                    sink.publish(i & 31, table, i, Sys.bootTimeNanos() + i);
                }
                long tid = Thread.currentThread().getId();
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 10_000; i++) {
                    sink.publish(i & 31, table, i, Sys.bootTimeNanos() + i);
                    sum += i;
                }
                long allocated = mx.getThreadAllocatedBytes(tid) - before;
                // Allocation per call would be at least 16 bytes x 10,000; a few bytes of one-off JIT or profiler
                // bookkeeping on this thread are not the code under test.
                assertTrue(allocated < 1024, "bytes allocated by 10,000 publications: " + allocated + " (checksum " + sum + ")");
            } finally {
                PolicyMap.unpin(pin);
            }
        }
    }
}
