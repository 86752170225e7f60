package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FaultScriptTest {

    @Test
    @DisplayName("the call record keeps the most recent calls, oldest first, and drops older ones past its bound")
    void boundedRecord() {
        FaultScript script = new FaultScript();
        script.beforeCall("read", "/a");
        script.beforeCall("write", "/b");
        assertEquals(List.of("read /a", "write /b"), script.calls());
        int extra = 7;
        for (int i = 0; i < FaultScript.RECORDED + extra; i++) {
            script.beforeCall("read", "/x" + i);
        }
        List<String> calls = script.calls();
        assertEquals(FaultScript.RECORDED, calls.size());
        assertEquals("read /x" + extra, calls.get(0));
        assertEquals("read /x" + (FaultScript.RECORDED + extra - 1), calls.get(calls.size() - 1));
    }

    @Test
    @DisplayName("a scripted failure fires once, for the matching operation and object prefix, and is recorded")
    void scriptedOnce() {
        FaultScript script = new FaultScript();
        script.failNext("read", "/sys/fs/cgroup/a", Errno.EIO);
        script.beforeCall("write", "/sys/fs/cgroup/a/memory.max");
        script.beforeCall("read", "/sys/fs/cgroup/b/memory.stat");
        KernelException e = assertThrows(KernelException.class, () -> script.beforeCall("read", "/sys/fs/cgroup/a/memory.stat"));
        assertEquals(Errno.EIO, e.errno());
        script.beforeCall("read", "/sys/fs/cgroup/a/memory.stat");
        assertEquals(List.of("write /sys/fs/cgroup/a/memory.max", "read /sys/fs/cgroup/b/memory.stat",
                "read /sys/fs/cgroup/a/memory.stat", "read /sys/fs/cgroup/a/memory.stat"), script.calls());
    }
}
