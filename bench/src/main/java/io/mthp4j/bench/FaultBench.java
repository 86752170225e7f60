package io.mthp4j.bench;

import io.mthp4j.api.Madvice;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeProcess;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Write faults over 1 GiB of fresh 4 KiB-only anonymous memory (MADV_NOHUGEPAGE, so no size but 4 KiB whatever
 * sysfs says; kernel-semantics.md §4.2), one write per page, on the fake kernel and on the real one (this JVM's
 * own memory, mmap and madvise through JNA). Each invocation maps fresh memory; mapping and unmapping are not
 * timed. Warm-up invocations absorb the 3–6× slower first touch after memory was freed (linux-interfaces.md
 * §7.3). Target {@code fake_vs_real_fault_ratio}: real time / fake time (= fake faults per second / real).
 *
 * <p>Alone: {@code java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main FaultBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4)
@Measurement(iterations = 7)
@Fork(1)
public class FaultBench {

    static final long LENGTH = 1L << 30;
    static final long PAGE = 4096;

    /** Which kernel takes the faults. */
    @Param({"fake", "real"})
    public String kernel;

    private FakeProcess process;
    private long address;

    @Setup(Level.Trial)
    public void boot() {
        if (kernel.equals("fake")) {
            process = FakeKernel.create().currentProcess();
        } else if (kernel.equals("real")) {
            NativeMemory.requirePageSize(PAGE);
        } else {
            throw new IllegalArgumentException("kernel must be fake or real, was " + kernel);
        }
    }

    @Setup(Level.Invocation)
    public void map() {
        if (process != null) {
            address = process.mmapAnonymous(LENGTH);
            process.madvise(address, LENGTH, Madvice.NOHUGEPAGE);
        } else {
            address = NativeMemory.mapNoHugepage(LENGTH);
        }
    }

    @Benchmark
    public void touch() {
        if (process != null) {
            process.write(address, LENGTH); // one write fault per page
        } else {
            NativeMemory.touch(address, LENGTH, PAGE);
        }
    }

    @TearDown(Level.Invocation)
    public void unmap() {
        if (process != null) {
            process.munmap(address, LENGTH);
        } else {
            NativeMemory.unmap(address, LENGTH);
        }
    }
}
