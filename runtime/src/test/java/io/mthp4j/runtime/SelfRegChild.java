package io.mthp4j.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.linux.FolioCensus;
import io.mthp4j.linux.LinuxKernel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

/**
 * The child JVMs of {@link SelfRegistrationRealKernelTest}. {@code pressure <spec>}: registers the spec, prints
 * {@code ready <cgroup>} and {@code mode <MODE>} at every change of its prctl mode, and on {@code touch <label>}
 * maps 64 MiB (2 MiB aligned), tells the registration it wants huge pages, writes every page and prints the folio
 * census; {@code quit} closes and prints the mode. {@code exit}: a registration that disables THP, then
 * System.exit without close (the shutdown hook restores). {@code throw}: the same, then an exception in the body
 * of try-with-resources. {@code agent <args>}: what the Java agent does with {@code args}, then the mode.
 * {@code mode}: prints the inherited mode.
 */
public final class SelfRegChild {

    static final long M = 1 << 20;

    /** Base pages, always: a switch at the first check. */
    static final CgroupPolicy BASE_PAGES = new CgroupPolicy() {
        @Override
        public DecisionTable decide(CgroupSample sample) {
            return DecisionTable.uniform(0);
        }

        @Override
        public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
            return 0;
        }

        @Override
        public String toString() {
            return "base-pages";
        }
    };

    private SelfRegChild() {
    }

    public static void main(String[] args) throws Exception {
        LinuxKernel kernel = LinuxKernel.open();
        ThpProcess self = kernel.currentProcess();
        switch (args[0]) {
            case "mode" -> System.out.println("mode " + self.thpMode());
            case "pressure" -> pressure(kernel, self, args[1]);
            case "exit" -> {
                Registration r = Mthp.builder(BASE_PAGES).background(false).register();
                r.checkNow();
                System.out.println("before exit " + self.thpMode());
                System.exit(0);
            }
            case "throw" -> {
                try (Registration r = Mthp.builder(BASE_PAGES).background(false).shutdownHook(false).register()) {
                    r.checkNow();
                    System.out.println("in body " + self.thpMode());
                    throw new IllegalStateException("boom");
                } catch (IllegalStateException e) {
                    System.out.println("after " + e.getMessage() + " " + self.thpMode());
                }
            }
            case "agent" -> {
                System.out.println("agent did " + Agent.start(args.length > 1 ? args[1] : null));
                System.out.println("mode " + self.thpMode());
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void pressure(LinuxKernel kernel, ThpProcess self, String spec) throws Exception {
        List<Memory> keep = new ArrayList<>();
        try (Registration r = Mthp.register(spec)) {
            System.out.println("ready " + r.cgroup().path() + " " + r.enforcement());
            Thread watcher = new Thread(() -> {
                ProcessThpMode last = null;
                while (!Thread.currentThread().isInterrupted()) {
                    ProcessThpMode now = self.thpMode();
                    if (now != last) {
                        System.out.println("mode " + now);
                        last = now;
                    }
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "mode-watcher");
            watcher.setDaemon(true);
            watcher.start();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
            for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
                if (line.startsWith("touch ")) {
                    long pmd = kernel.geometry().pmdSize();
                    Memory mem = new Memory(64 * M + pmd);
                    keep.add(mem);
                    long start = (Pointer.nativeValue(mem) + pmd - 1) & -pmd;
                    r.hugeRange(start, 64 * M);
                    ProcessThpMode mode = self.thpMode();
                    long page = kernel.geometry().pageSize();
                    for (long off = 0; off < 64 * M; off += page) {
                        mem.setByte(start - Pointer.nativeValue(mem) + off, (byte) 1);
                    }
                    FolioCensus c = kernel.census(start, 64 * M);
                    System.out.println("census " + line.substring(6) + " " + mode + " " + c.bytesBySize());
                    r.releaseRange(start, 64 * M);
                }
            }
            watcher.interrupt();
            watcher.join();
            System.out.println("checks " + r.checks() + " switches " + r.switches());
        }
        System.out.println("closed mode " + self.thpMode());
    }
}
