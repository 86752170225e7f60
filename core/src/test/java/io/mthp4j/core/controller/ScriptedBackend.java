package io.mthp4j.core.controller;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.kernel.MemoryHeadroom;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.Pressure;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.kernel.ThpProcess;
import io.mthp4j.core.kernel.ThpSysfs;
import java.time.Duration;

import java.util.ArrayList;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;

/**
 * A small scripted {@link KernelBackend} for controller tests that need exact inputs per scan: cgroups with settable cumulative full stall and anon + shmem, a virtual boot clock, a PSI trigger whose
 * events the test scripts, scripted read errors, and a recording decision sink.
 */
final class ScriptedBackend implements KernelBackend {

    static final class Cg {
        final CgroupRef ref;
        volatile boolean tasks = true;
        volatile long fullStallMicros;
        volatile long anonBytes;
        volatile long usageBytes;
        volatile long limitBytes = CgroupMemory.NO_LIMIT;

        Cg(CgroupRef ref) {
            this.ref = ref;
        }
    }

    record Published(DecisionTable table, long generation, long expiresAtBootNanos) {
    }

    private final Map<String, Cg> cgroups = new LinkedHashMap<>();
    private long nextId = 2;
    volatile long nanos;
    final Map<Long, Published> sink = new ConcurrentHashMap<>();
    final List<String> sinkCalls = new ArrayList<>();
    final Map<String, Errno> failReads = new ConcurrentHashMap<>();
    /** Accepts a window (µs) or not; default: only multiples of 2 s, as without CAP_SYS_RESOURCE. */
    volatile LongPredicate acceptsWindow = w -> w % 2_000_000 == 0;
    volatile Errno registerErrno;
    final List<String> registrations = new ArrayList<>();
    /** Scripted await results; an empty queue blocks (really) until an event is offered or the trigger is closed. */
    final LinkedBlockingDeque<Boolean> awaitScript = new LinkedBlockingDeque<>();
    volatile boolean triggerClosed;
    volatile int awaits;
    /** Scripted headroom crossings for watches; an empty queue blocks (really) until offered or closed. */
    final LinkedBlockingDeque<Boolean> headroomScript = new LinkedBlockingDeque<>();
    final List<String> headroomWatches = new ArrayList<>();
    volatile boolean headroomClosed;

    ScriptedBackend() {
        cgroups.put("/", new Cg(new CgroupRef(1, "/")));
    }

    synchronized Cg mkdir(String path) {
        Cg cg = new Cg(new CgroupRef(nextId++, path));
        cgroups.put(path, cg);
        return cg;
    }

    synchronized void rmdir(String path) {
        cgroups.remove(path);
    }

    synchronized Cg cg(String path) {
        return cgroups.get(path);
    }

    private Cg live(CgroupRef ref) {
        Cg cg;
        synchronized (this) {
            cg = cgroups.get(ref.path());
        }
        if (cg == null || cg.ref.id() != ref.id()) {
            throw new KernelException("open", ref.path(), Errno.ENOENT, "the cgroup was removed");
        }
        return cg;
    }

    private void maybeFail(String file) {
        Errno e = failReads.remove(file);
        if (e != null) {
            throw new KernelException("read", file, e, "scripted by the test");
        }
    }

    @Override
    public PageGeometry geometry() {
        return PageGeometry.X86_64_4K;
    }

    @Override
    public ThpSysfs thp() {
        throw new UnsupportedOperationException("not scripted");
    }

    @Override
    public ThpProcess currentProcess() {
        throw new UnsupportedOperationException("not scripted");
    }

    @Override
    public long bootTimeNanos() {
        return nanos;
    }

    void advance(Duration d) {
        nanos += d.toNanos();
    }

    @Override
    public CgroupTree cgroups() {
        return new CgroupTree() {
            @Override
            public CgroupRef root() {
                return new CgroupRef(1, "/");
            }

            @Override
            public List<CgroupRef> walk(CgroupRef from) {
                live(from);
                List<CgroupRef> out = new ArrayList<>();
                synchronized (ScriptedBackend.this) {
                    // LinkedHashMap keeps creation order, which is pre-order when parents are made first
                    for (Cg cg : cgroups.values()) {
                        String p = cg.ref.path();
                        if (p.equals(from.path()) || from.isRoot() || p.startsWith(from.path() + "/")) {
                            out.add(cg.ref);
                        }
                    }
                }
                return out;
            }

            @Override
            public boolean hasTasks(CgroupRef cgroup) {
                return live(cgroup).tasks;
            }

            @Override
            public CgroupMemory memory(CgroupRef cgroup) {
                maybeFail(cgroup.path() + "/memory.stat");
                Cg cg = live(cgroup);
                return new CgroupMemory(cg.anonBytes, cg.anonBytes, 0, 0, 0, CgroupMemory.NO_LIMIT, CgroupMemory.NO_LIMIT);
            }

            @Override
            public Pressure pressure(CgroupRef cgroup) {
                maybeFail(cgroup.path() + "/memory.pressure");
                Cg cg = live(cgroup);
                return new Pressure(new Pressure.Line(0, 0, 0, cg.fullStallMicros), new Pressure.Line(0, 0, 0, cg.fullStallMicros));
            }
        };
    }

    @Override
    public Psi psi() {
        return (cgroup, kind, thresholdMicros, windowMicros) -> {
            String op = kind.word() + " " + thresholdMicros + " " + windowMicros;
            synchronized (registrations) {
                registrations.add(op);
            }
            if (registerErrno != null) {
                throw new KernelException("write \"" + op + "\"", cgroup.path() + "/memory.pressure", registerErrno, "scripted");
            }
            if (!acceptsWindow.test(windowMicros) || thresholdMicros > windowMicros) {
                throw new KernelException("write \"" + op + "\"", cgroup.path() + "/memory.pressure", Errno.EINVAL, "scripted");
            }
            return new PsiTrigger() {
                @Override
                public boolean await(Duration timeout) throws InterruptedException {
                    awaits++;
                    while (!triggerClosed) {
                        Boolean next = awaitScript.poll(10, TimeUnit.MILLISECONDS);
                        if (next != null) {
                            return next;
                        }
                    }
                    return false;
                }

                @Override
                public void close() {
                    triggerClosed = true;
                }
            };
        };
    }

    @Override
    public MemoryHeadroom headroom() {
        return new MemoryHeadroom() {
            @Override
            public Headroom sample(CgroupRef cgroup) {
                maybeFail(cgroup.path() + "/memory.current");
                Cg cg = live(cgroup);
                return cg.limitBytes == CgroupMemory.NO_LIMIT ? Headroom.unlimited(cg.usageBytes)
                        : new Headroom(cg.usageBytes, cg.limitBytes, Headroom.Limit.MEMORY_MAX);
            }

            @Override
            public HeadroomWatch watch(CgroupRef cgroup, double... shares) {
                live(cgroup);
                synchronized (headroomWatches) {
                    headroomWatches.add(cgroup.path() + " " + java.util.Arrays.toString(MemoryHeadroom.checkShares(shares)));
                }
                return new HeadroomWatch() {
                    @Override
                    public boolean await(Duration timeout) throws InterruptedException {
                        while (!headroomClosed) {
                            Boolean next = headroomScript.poll(10, TimeUnit.MILLISECONDS);
                            if (next != null) {
                                return next;
                            }
                        }
                        return false;
                    }

                    @Override
                    public Mechanism mechanism() {
                        return Mechanism.POLLING;
                    }

                    @Override
                    public void close() {
                        headroomClosed = true;
                    }
                };
            }
        };
    }

    @Override
    public DecisionSink decisions() {
        return new DecisionSink() {
            @Override
            public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
                synchronized (sinkCalls) {
                    sinkCalls.add("publish " + cgroupId);
                }
                maybeFail("publish " + cgroupId);
                sink.put(cgroupId, new Published(table, generation, expiresAtBootNanos));
            }

            @Override
            public void withdraw(long cgroupId) {
                synchronized (sinkCalls) {
                    sinkCalls.add("withdraw " + cgroupId);
                }
                sink.remove(cgroupId);
            }
        };
    }

}
