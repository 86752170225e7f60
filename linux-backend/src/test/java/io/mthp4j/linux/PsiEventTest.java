package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Real memory pressure reaches a {@link PsiWatcher} (linux-interfaces.md §5.3): a child reading a 128 MiB file at
 * random inside a 64 MiB v1 memcg and a v2 cgroup stalls; the cgroup's {@code memory.pressure} trigger fires
 * (the first event of a fresh cgroup comes after about 2 s). Everything made here (cgroups, the file, the
 * child) is removed afterwards.
 */
class PsiEventTest {

    @Test
    void pressureInACgroupIsDeliveredByTheWatcher() throws Exception {
        RealKernel.assumeRoot();
        Path gcc = RealKernel.assumeTool("gcc");
        LinuxKernel kernel = LinuxKernel.open();
        LinuxCgroups tree = kernel.linuxCgroups();
        assumeTrue(tree.v1MemoryRoot() != null || tree.memoryOnV2(), "no memory controller to limit the child with");
        assumeTrue(!tree.memoryOnV2(), "this test limits memory through cgroup v1 (our machines); v2 hosts need memory.max");
        Path work = PolicyAbiTest.WORK;
        Files.createDirectories(work);
        Path thrash = work.resolve("thrash");
        RealKernel.Result cc = RealKernel.run(work, gcc.toString(), "-O2", "-Wall", "-o", thrash.toString(),
                PolicyAbiTest.MODULE.resolve("src/test/c/thrash.c").toString());
        assertEquals(0, cc.status(), cc.output());

        String name = "mthp4j-psi-" + ProcessHandle.current().pid();
        Path v1 = tree.v1MemoryRoot().resolve(name);
        Path file = Files.createTempFile("mthp4j-thrash", ".bin");
        CgroupRef cg = null;
        Process child = null;
        try {
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                byte[] chunk = new byte[1 << 20];
                for (int i = 0; i < 128; i++) {
                    chunk[0] = (byte) i;
                    f.write(chunk);
                }
                f.getFD().sync();
            }
            cg = tree.mkdir("/" + name);
            Files.createDirectory(v1);
            Files.writeString(v1.resolve("memory.limit_in_bytes"), Long.toString(64L << 20));
            Path v2 = tree.dir(cg);

            AtomicInteger events = new AtomicInteger();
            CountDownLatch first = new CountDownLatch(1);
            try (PsiTrigger trigger = kernel.psi().register(cg, Psi.Kind.SOME, 150_000, 2_000_000);
                 PsiWatcher watcher = PsiWatcher.start(List.of(trigger), t -> {
                     events.incrementAndGet();
                     first.countDown();
                 })) {
                child = new ProcessBuilder("sh", "-c", "echo $$ > " + v1.resolve("cgroup.procs") + " && echo $$ > " + v2.resolve("cgroup.procs")
                        + " && exec " + thrash + " " + file + " 12").redirectErrorStream(true).redirectOutput(work.resolve("thrash.out").toFile()).start();
                boolean fired = first.await(20, TimeUnit.SECONDS);
                child.destroy();
                child.waitFor(10, TimeUnit.SECONDS);
                String pressure = Files.readString(v2.resolve("memory.pressure"));
                assertTrue(fired, () -> "no PSI event; child said: " + read(work.resolve("thrash.out")) + "; pressure: " + pressure);
                assertTrue(kernel.cgroups().pressure(cg).some().totalMicros() > 0, pressure);
                assertTrue(watcher.isRunning());
            }
            assertTrue(events.get() >= 1);
        } finally {
            if (child != null && child.isAlive()) {
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
            removeWhenEmpty(v1);
            if (cg != null) {
                removeWhenEmpty(tree.v2Root().resolve(name));
            }
            Files.deleteIfExists(file);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** rmdir, retrying briefly while the exited child is still being removed from the cgroup. */
    private static void removeWhenEmpty(Path dir) throws IOException, InterruptedException {
        for (int i = 0; i < 50 && Files.exists(dir); i++) {
            try {
                Files.delete(dir);
            } catch (IOException busy) {
                Thread.sleep(100);
            }
        }
        if (Files.exists(dir)) {
            throw new IOException("could not remove the test cgroup " + dir);
        }
    }
}
