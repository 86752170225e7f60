package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Trigger registration, row by row. The expected results are what Linux 6.18 on our test machine answered
 * (root without CAP_SYS_RESOURCE, /proc/pressure/memory and a cgroup v2 memory.pressure), see
 * docs/fidelity.md "PSI".
 */
class PsiFileTest {

    static final String PROC = "/proc/pressure/memory";
    static final String CG = "/sys/fs/cgroup/a/memory.pressure";

    long now = 5_000_000_000L;
    final PsiGroup group = new PsiGroup(PsiParams.defaults(), 0, null);

    PsiFile open(PsiFile.Kind kind, boolean privileged) {
        return new PsiFile(group, kind == PsiFile.Kind.PROC ? PROC : CG, kind, true, privileged, () -> now);
    }

    static byte[] bytes(String javaEscaped) {
        return javaEscaped.replace("\\0", "\0").replace("\\n", "\n").replace("\\t", "\t")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Returns "ok" or the errno name. */
    static String outcome(PsiFile f, byte[] data) {
        try {
            int n = f.write(data, data.length);
            assertEquals(data.length, n, "a successful write returns the byte count");
            return "ok";
        } catch (KernelException e) {
            return e.errno().name();
        }
    }

    @ParameterizedTest(name = "{0} -> proc {1}, cgroup {2}")
    @CsvSource(delimiter = '|', value = {
        "some 150000 2000000\\0           | ok     | ok",
        "some 150000 2000000              | EINVAL | ok",
        "some 150000 2000000\\n           | ok     | ok",
        "full 100000 2000000\\0           | ok     | ok",
        "some 150000 1000000\\0           | EINVAL | EINVAL",
        "some 150000 4000000\\0           | ok     | ok",
        "some 150000 10000000\\0          | ok     | ok",
        "full 10000000 10000000\\0        | ok     | ok",
        "some 150000 10000001\\0          | EINVAL | EINVAL",
        "some 150000 12000000\\0          | EINVAL | EINVAL",
        "some 2000001 2000000\\0          | EINVAL | EINVAL",
        "some 2000000 2000000\\0          | ok     | ok",
        "some 1 2000000\\0                | ok     | ok",
        "some 0 2000000\\0                | EINVAL | EINVAL",
        "some 150000 -2000000\\0          | EINVAL | EINVAL",
        "some +150000 2000000\\0          | EINVAL | EINVAL",
        "foo 150000 2000000\\0            | EINVAL | EINVAL",
        "SOME 150000 2000000\\0           | EINVAL | EINVAL",
        "' some 150000 2000000\\0'        | EINVAL | EINVAL",
        "some 150000\\0                   | EINVAL | EINVAL",
        "\\0                              | EINVAL | EINVAL",
        "some 150000 2000000 junk\\0      | ok     | ok",
        "some 150000 2000000x\\0          | ok     | ok",
        "some 150000 2000000\\nfoo\\0     | ok     | ok",
        "some150000 2000000\\0            | ok     | ok",
        "some  150000\\t2000000\\0        | ok     | ok",
        "some 150000 02000000\\0          | ok     | ok",
        "some 150000 4296967296\\0        | ok     | ok",
        "some 1 4294967296\\0             | EINVAL | EINVAL",
        "some 4294967295 2000000\\0       | EINVAL | EINVAL",
        "'some 150000 2000000             \\0' | ok | ok",
        "some 00000000000000150000 2000000\\0 | EINVAL | ok",
        "some 18446744073711551616 2000000\\0 | EINVAL | ok",
    })
    void writesAsTheTestMachineAnswered(String text, String proc, String cgroup) {
        byte[] data = bytes(text);
        assertEquals(proc, outcome(open(PsiFile.Kind.PROC, false), data), "procfs");
        assertEquals(cgroup, outcome(open(PsiFile.Kind.CGROUP, false), data), "cgroup");
    }

    @Test
    void nbspAndOtherBlanksSeparateTheNumbers() {
        byte[] nbsp = {'s', 'o', 'm', 'e', (byte) 0xA0, '1', ' ', '2', '0', '0', '0', '0', '0', '0', 0};
        assertEquals("ok", outcome(open(PsiFile.Kind.PROC, false), nbsp));
        assertEquals("ok", outcome(open(PsiFile.Kind.PROC, false), bytes("some\u000b1\u000c2000000\\0")));
        assertEquals("EINVAL", outcome(open(PsiFile.Kind.PROC, false), bytes("some\\0 1 2000000\\0")));
    }

    @Test
    void parsedValuesAreUnsigned32BitAfterWrapping() {
        long[] out = new long[2];
        assertEquals(2, PsiFile.scan(bytes("some 150000 4296967296\\0"), "some", out));
        assertEquals(150000, out[0]);
        assertEquals(2_000_000, out[1]);
        PsiFile f = open(PsiFile.Kind.CGROUP, false);
        f.write("some 18446744073711551616 2000000");
        assertEquals(2_000_000_000L, f.trigger().thresholdNanos(), "2^64 + 2000000 wraps to 2000000 us");
        assertEquals(1, PsiFile.scan(bytes("some 5\\0"), "some", out));
        assertEquals(0, PsiFile.scan(bytes("some 5\\0"), "full", out));
    }

    @Test
    void privilegedWindowsNeedNotBeMultiplesOfTwoSeconds() {
        for (String w : new String[] {"1", "400000", "500000", "1000000", "3000000", "10000000"}) {
            assertEquals("ok", outcome(open(PsiFile.Kind.PROC, true), bytes("some 1 " + w + "\\0")), w);
        }
        assertEquals("EINVAL", outcome(open(PsiFile.Kind.PROC, true), bytes("some 1 0\\0")));
        assertEquals("EINVAL", outcome(open(PsiFile.Kind.PROC, true), bytes("some 1 10000001\\0")));
        assertEquals("EINVAL", outcome(open(PsiFile.Kind.PROC, true), bytes("some 2 1\\0")));
        assertTrue(open(PsiFile.Kind.PROC, true).write("full 1 500000\0") > 0);
    }

    @Test
    void secondTriggerOnTheSameFdIsBusyBeforeTheTextIsParsed() {
        for (PsiFile.Kind kind : PsiFile.Kind.values()) {
            PsiFile f = open(kind, false);
            assertEquals("ok", outcome(f, bytes("some 150000 2000000\\0")));
            assertEquals("EBUSY", outcome(f, bytes("some 150000 2000000\\0")), kind.name());
            assertEquals("EBUSY", outcome(f, bytes("garbage\\0")), kind.name());
            if (kind == PsiFile.Kind.PROC) {
                assertEquals("EINVAL", outcome(f, new byte[0]), "the empty-write check comes first");
            } else {
                assertEquals(0, f.write(new byte[0], 0), "kernfs returns 0 for an empty write");
            }
        }
    }

    @Test
    void aFailedWriteLeavesTheFdFree() {
        PsiFile f = open(PsiFile.Kind.PROC, false);
        assertEquals("EINVAL", outcome(f, bytes("garbage\\0")));
        assertNull(f.trigger());
        assertEquals("ok", outcome(f, bytes("some 150000 2000000\\0")));
        assertNotNull(f.trigger());
    }

    @Test
    void errorsNameTheWriteTheFileAndWhatToDo() {
        KernelException e = assertThrows(KernelException.class, () -> open(PsiFile.Kind.PROC, false).write("some 150000 2000000"));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals(PROC, e.object());
        assertTrue(e.getMessage().contains("write \"some 150000 2000000\""), e.getMessage());
        assertTrue(e.getMessage().contains("end the write with NUL or newline"), e.getMessage());
        assertTrue(e.getMessage().contains("read only \"some 150000 200000\""), e.getMessage());
        e = assertThrows(KernelException.class, () -> open(PsiFile.Kind.CGROUP, false).write("some 150000 1000000"));
        assertTrue(e.getMessage().contains("multiple of 2 s"), e.getMessage());
    }

    @Test
    void readOnlyClosedOversizedAndRemoved() {
        PsiFile ro = new PsiFile(group, PROC, PsiFile.Kind.PROC, false, false, () -> now);
        assertEquals("EBADF", outcome(ro, bytes("some 1 2000000\\0")));
        PsiFile f = open(PsiFile.Kind.PROC, false);
        f.close();
        assertEquals("EBADF", outcome(f, bytes("some 1 2000000\\0")));
        byte[] big = new byte[PsiFile.PAGE_SIZE + 1];
        assertEquals("E2BIG", outcome(open(PsiFile.Kind.CGROUP, false), big));
        byte[] page = bytes("some 150000 2000000" + " ".repeat(PsiFile.PAGE_SIZE - 19));
        assertEquals("ok", outcome(open(PsiFile.Kind.CGROUP, false), page));
        PsiFile cg = open(PsiFile.Kind.CGROUP, false);
        cg.cgroupRemoved();
        assertEquals("ENODEV", outcome(cg, bytes("some 1 2000000")));
    }

    @Test
    void psiDisabled() {
        PsiGroup off = new PsiGroup(new PsiParams(250, false, true), 0, null);
        PsiFile f = new PsiFile(off, PROC, PsiFile.Kind.PROC, true, true, () -> now);
        assertEquals("EOPNOTSUPP", outcome(f, bytes("some 1 2000000\\0")));
        assertEquals("EOPNOTSUPP", outcome(f, new byte[0]), "the disabled check comes before the empty-write check");
        assertEquals(PsiFile.POLLERR | PsiFile.POLLPRI, f.poll(PsiFile.POLLPRI));
        KernelException e = assertThrows(KernelException.class,
                () -> new PsiFile(off, CG, PsiFile.Kind.CGROUP, true, false, () -> now));
        assertEquals(Errno.ENOENT, e.errno());
    }

    @Test
    void pollWithoutATriggerReportsErrorAndPriority() {
        PsiFile f = open(PsiFile.Kind.PROC, false);
        assertEquals(0xa, f.poll(PsiFile.POLLPRI), "POLLPRI | POLLERR as observed");
        f.write("some 150000 2000000\0");
        assertEquals(0, f.poll(PsiFile.POLLPRI), "no event yet");
        assertFalse(f.trigger().eventPending());
    }

    @Test
    void closeDestroysTheTrigger() {
        PsiFile f = open(PsiFile.Kind.PROC, true);
        f.write("some 1 500000\0");
        PsiTriggerModel t = f.trigger();
        int[] woken = {0};
        t.onEvent(() -> woken[0]++);
        f.close();
        assertTrue(t.destroyed());
        assertEquals(1, woken[0], "waiters are woken on destroy");
        f.close();
        assertEquals(1, woken[0], "close is idempotent");
    }
}
