package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The headroom signal on the real kernel (issue 9): the host's MemAvailable, the cgroup v1 usage-threshold
 * eventfd firing when a test process in a test cgroup crosses it (with the latency measured against a poller of
 * {@code memory.usage_in_bytes}), and the inotify wake-up the v2 watch uses. The cgroups, the child and the
 * files made here are removed afterwards.
 */
class HeadroomRealKernelTest {

    static final long M = 1 << 20;

    @Test
    void theRootIsTheHostsMemAvailableAgainstMemTotal() throws Exception {
        RealKernel.assumeRoot();
        LinuxKernel kernel = LinuxKernel.open();
        Headroom h = kernel.headroom().sample(kernel.cgroups().root());
        assertEquals(Headroom.Limit.MEM_TOTAL, h.limit());
        String meminfo = Files.readString(Path.of("/proc/meminfo"));
        long total = Long.parseLong(meminfo.lines().filter(l -> l.startsWith("MemTotal:")).findFirst().orElseThrow()
                .replaceAll("\\D", "")) * 1024;
        assertEquals(total, h.limitBytes());
        assertTrue(h.usageBytes() > 0 && h.usageBytes() < total, h.toString());
        try (HeadroomWatch w = kernel.headroom().watch(kernel.cgroups().root(), 0.8)) {
            assertEquals(HeadroomWatch.Mechanism.POLLING, w.mechanism());
        }
    }

    @Test
    void theV2WatchWakesOnAModificationOfMemoryEvents() throws Exception {
        RealKernel.assumeRoot();
        Path dir = Files.createTempDirectory("mthp4j-events");
        Path events = dir.resolve("memory.events");
        Files.writeString(events, "high 0\n");
        LinuxHeadroom headroom = new LinuxHeadroom(LinuxKernel.open().linuxCgroups(), Duration.ofHours(1));
        try (HeadroomWatch w = headroom.new Watch(HeadroomWatch.Mechanism.V2_EVENTS_AND_POLLING,
                () -> new Headroom(10 * M, 100 * M, Headroom.Limit.MEMORY_MAX), new double[] {0.8}, events, null)) {
            assertFalse(w.await(Duration.ofMillis(200)), "nothing happened");
            Files.writeString(events, "high 1\n"); // what kernfs_notify reports when the kernel counts an event
            assertTrue(w.await(Duration.ofSeconds(10)), "woken by inotify, not by the hour-long poll");
            assertFalse(w.await(Duration.ZERO), "consumed");
        } finally {
            RealKernel.deleteTree(dir);
        }
    }

    @Test
    void theV1ThresholdFiresWhenATestProcessCrossesIt() throws Exception {
        RealKernel.assumeRoot();
        Path gcc = RealKernel.assumeTool("gcc");
        LinuxKernel kernel = LinuxKernel.open();
        LinuxCgroups tree = kernel.linuxCgroups();
        assumeTrue(tree.v1MemoryRoot() != null && !tree.memoryOnV2(), "this test needs the memory controller on cgroup v1 (our machines)");
        Path work = PolicyAbiTest.WORK;
        Files.createDirectories(work);
        Path grow = work.resolve("grow");
        RealKernel.Result cc = RealKernel.run(work, gcc.toString(), "-O2", "-Wall", "-o", grow.toString(),
                PolicyAbiTest.MODULE.resolve("src/test/c/grow.c").toString());
        assertEquals(0, cc.status(), cc.output());

        String name = "mthp4j-headroom-" + ProcessHandle.current().pid();
        Path v1 = tree.v1MemoryRoot().resolve(name);
        CgroupRef cg = null;
        Process child = null;
        try {
            cg = tree.mkdir("/" + name);
            Files.createDirectory(v1);
            Files.writeString(v1.resolve("memory.limit_in_bytes"), Long.toString(64 * M));
            Path v2 = tree.dir(cg);
            child = new ProcessBuilder("sh", "-c", "echo $$ > " + v1.resolve("cgroup.procs") + " && echo $$ > " + v2.resolve("cgroup.procs")
                    + " && exec " + grow + " 40 2").redirectErrorStream(true).start();
            try (HeadroomWatch w = kernel.headroom().watch(cg, 0.5, 0.8)) {
                assertEquals(HeadroomWatch.Mechanism.V1_THRESHOLD_EVENTFD, w.mechanism());
                assertEquals(Headroom.Limit.V1_LIMIT, kernel.headroom().sample(cg).limit());
                long threshold = 32 * M;
                assertTrue(kernel.headroom().sample(cg).usageBytes() < threshold, "the child has not started to grow");
                // a poller finds when usage really crossed: the reference for the notification's latency
                AtomicLong crossedAt = new AtomicLong();
                Thread poller = new Thread(() -> {
                    while (crossedAt.get() == 0 && !Thread.currentThread().isInterrupted()) {
                        if (LinuxHeadroom.v1(v1).usageBytes() >= threshold) {
                            crossedAt.set(System.nanoTime());
                        }
                    }
                });
                poller.setDaemon(true);
                poller.start();
                long start = System.nanoTime();
                try (OutputStream go = child.getOutputStream()) {
                    go.write("go\n".getBytes());
                }
                boolean fired = w.await(Duration.ofSeconds(20));
                long notifiedAt = System.nanoTime();
                Headroom at = kernel.headroom().sample(cg);
                poller.join(5_000);
                poller.interrupt();
                assertTrue(fired, "no threshold event; usage " + at);
                assertTrue(at.usageBytes() >= threshold, "fired at " + at);
                assertTrue(crossedAt.get() != 0, "the poller saw the crossing");
                System.out.printf("v1 threshold (32 MiB of 64 MiB, child growing 1 MiB / 2 ms): notified %.2f ms after the poller"
                        + " saw usage cross it, %.1f ms after the child started; usage at notification %s%n",
                        (notifiedAt - crossedAt.get()) / 1e6, (notifiedAt - start) / 1e6, at);
                // downwards: the child exits, its memory is uncharged, usage falls below 32 MiB
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
                assertTrue(w.await(Duration.ofSeconds(10)), "no event when usage fell back: " + kernel.headroom().sample(cg));
            }
        } finally {
            if (child != null) {
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
            rmdirQuietly(v1);
            if (cg != null) {
                tree.rmdir(cg);
            }
        }
        assertFalse(Files.exists(v1));
    }

    static void rmdirQuietly(Path cgroupDir) throws IOException, InterruptedException {
        for (int i = 0; i < 50 && Files.exists(cgroupDir); i++) {
            try {
                Files.delete(cgroupDir);
            } catch (IOException busy) {
                Thread.sleep(100); // the killed child is still leaving
            }
        }
        if (Files.exists(cgroupDir)) {
            throw new IOException("could not remove " + cgroupDir);
        }
    }
}
