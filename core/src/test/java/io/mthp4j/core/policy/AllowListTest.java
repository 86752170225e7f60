package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AllowListTest {

    static VmaInfo vma(int pid, CgroupRef cg) {
        return VmaInfo.anon(0, 4L << 20).withOwner(pid, cg);
    }

    @Test
    @DisplayName("paths cover descendants at '/' boundaries; ids cover one cgroup; pids per call only")
    void matching() {
        AllowList list = AllowList.create();
        list.addPath("/web");
        list.addCgroup(42);
        list.addPid(7);
        assertTrue(list.listed(new CgroupRef(3, "/web")));
        assertTrue(list.listed(new CgroupRef(4, "/web/a/b")));
        assertFalse(list.listed(new CgroupRef(5, "/webby")), "prefix but not a descendant");
        assertTrue(list.listed(new CgroupRef(42, "/x")));
        CgroupRef child = new CgroupRef(43, "/x/child");
        assertFalse(list.listed(child), "a descendant of an id entry is unknown until a scan sees it");
        list.decide(CgroupSample.taskless(new CgroupRef(42, "/x"), 1));
        assertEquals(DecisionTable.uniform(-1L), list.decide(CgroupSample.taskless(child, 42)), "covered through its parent");
        assertEquals(0x3FC, list.chooseOrders(vma(0, child), TvaType.PAGEFAULT, 0x3FC), "and per call after that scan");
        list.removeCgroup(42);
        list.decide(CgroupSample.taskless(new CgroupRef(42, "/x"), 1));
        assertEquals(DecisionTable.uniform(0), list.decide(CgroupSample.taskless(child, 42)), "removal reaches descendants");
        assertEquals(0, list.chooseOrders(vma(0, child), TvaType.PAGEFAULT, 0x3FC));
        list.addCgroup(42);
        assertEquals(0x3FC, list.chooseOrders(vma(7, new CgroupRef(9, "/other")), TvaType.PAGEFAULT, 0x3FC), "pid listed");
        assertEquals(0, list.chooseOrders(vma(8, new CgroupRef(9, "/other")), TvaType.PAGEFAULT, 0x3FC));
        assertEquals(DecisionTable.uniform(0), list.decide(CgroupSample.taskless(new CgroupRef(9, "/other"), 1)),
                "pid entries cannot be a per-cgroup table");
        assertEquals(DecisionTable.uniform(-1L), list.decide(CgroupSample.taskless(new CgroupRef(4, "/web/a"), 3)));
        assertFalse(list.needsSamples());
        AllowList everything = AllowList.create();
        everything.addPath("/");
        assertTrue(everything.listed(new CgroupRef(9, "/any/thing")));
    }

    @Test
    @DisplayName("add and remove report changes; bad entries are rejected with the value shown")
    void changes() {
        AllowList list = AllowList.create();
        assertTrue(list.addPath("/a"));
        assertFalse(list.addPath("/a"));
        assertTrue(list.removePath("/a"));
        assertFalse(list.removePath("/a"));
        assertTrue(list.addCgroup(5));
        assertTrue(list.removeCgroup(5));
        assertFalse(list.removeCgroup(5));
        assertTrue(list.addPid(9));
        assertTrue(list.removePid(9));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> list.addPath("a/b")).getMessage().contains("a/b"));
        assertThrows(IllegalArgumentException.class, () -> list.addPath("/a/"));
        assertThrows(IllegalArgumentException.class, () -> list.addCgroup(0));
        assertThrows(IllegalArgumentException.class, () -> list.addPid(-1));
    }

    @Test
    @DisplayName("allowed orders and 'no opinion' for unlisted VMAs")
    void variants() {
        AllowList only64k = AllowList.create(0x1FL, AllowList.Unlisted.NO_OPINION);
        only64k.addPath("/a");
        CgroupRef a = new CgroupRef(2, "/a");
        CgroupRef b = new CgroupRef(3, "/b");
        assertEquals(0x1C, only64k.chooseOrders(vma(1, a), TvaType.PAGEFAULT, 0x3FC));
        assertEquals(0x3FC, only64k.chooseOrders(vma(1, b), TvaType.PAGEFAULT, 0x3FC));
        assertFalse(only64k.matches(vma(1, b)));
        assertTrue(only64k.matches(vma(1, a)));
        assertNull(only64k.decide(CgroupSample.taskless(b, 1)));
        assertEquals(0, AllowList.create().chooseOrders(vma(0, CgroupRef.NONE), TvaType.PAGEFAULT, 0x3FC),
                "no cgroup, no pid: not listed");
    }

    @Test
    @DisplayName("concurrent add/remove while readers run: permanent entries always seen, never-listed never, final state exact")
    void concurrency() throws Exception {
        AllowList list = AllowList.create();
        list.addCgroup(1_000_000);
        list.addPath("/always");
        CgroupRef always = new CgroupRef(1_000_000, "/x");
        CgroupRef alwaysPath = new CgroupRef(999, "/always/deep");
        CgroupRef never = new CgroupRef(2_000_000, "/never");
        int writers = 4;
        int perWriter = 300;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int base = w * perWriter + 1;
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < perWriter; i++) {
                        list.addCgroup(base + i);
                        list.addPid(base + i);
                        list.addPath("/w/" + (base + i));
                        if (i % 2 == 1) { // odd entries are removed again
                            list.removeCgroup(base + i);
                            list.removePid(base + i);
                            list.removePath("/w/" + (base + i));
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (int r = 0; r < 2; r++) {
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 5_000; i++) {
                        if (!list.listed(always) || !list.listed(alwaysPath) || list.listed(never)
                                || list.chooseOrders(vma(0, never), TvaType.PAGEFAULT, 0x3FC) != 0) {
                            throw new AssertionError("a reader saw an inconsistent list at read " + i);
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        for (int id = 1; id <= writers * perWriter; id++) {
            boolean kept = (id - 1) % perWriter % 2 == 0;
            assertEquals(kept, list.listed(new CgroupRef(id, "/elsewhere")), "cgroup " + id);
            assertEquals(kept, list.listed(id), "pid " + id);
            assertEquals(kept, list.listed(new CgroupRef(9_000_000, "/w/" + id)), "path /w/" + id);
        }
    }
}
