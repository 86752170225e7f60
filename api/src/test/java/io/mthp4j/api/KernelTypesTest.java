package io.mthp4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** ProcessThpMode, TvaType, KernelException, Errno, CgroupRef, MthpPolicy and the sysfs choice enums. */
class KernelTypesTest {

    @Nested
    class Prctl {

        @Test
        void constants() {
            assertEquals(41, ProcessThpMode.PR_SET_THP_DISABLE);
            assertEquals(42, ProcessThpMode.PR_GET_THP_DISABLE);
            assertEquals(2, ProcessThpMode.PR_THP_DISABLE_EXCEPT_ADVISED);
        }

        @Test
        void prGetValues() {
            assertEquals(0, ProcessThpMode.NONE.prGetValue());
            assertEquals(1, ProcessThpMode.DISABLED.prGetValue());
            assertEquals(3, ProcessThpMode.DISABLED_EXCEPT_ADVISED.prGetValue());
            assertSame(ProcessThpMode.NONE, ProcessThpMode.ofPrGetValue(0));
            assertSame(ProcessThpMode.DISABLED, ProcessThpMode.ofPrGetValue(1));
            assertSame(ProcessThpMode.DISABLED_EXCEPT_ADVISED, ProcessThpMode.ofPrGetValue(3));
            for (int bad : new int[] {2, -1, 4, 41}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessThpMode.ofPrGetValue(bad));
                assertTrue(e.getMessage().contains(String.valueOf(bad)), e.getMessage());
            }
        }

        @Test
        void getIsOneOrTheSetFlags() {
            // bit 0 is reserved so that GET can return 1 | flags
            for (ProcessThpMode mode : ProcessThpMode.values()) {
                int expected = mode.prSetArg2() == 0 ? 0 : 1 | mode.prSetArg3();
                assertEquals(expected, mode.prGetValue(), mode.name());
            }
        }

        @Test
        void setArguments() {
            assertEquals(0, ProcessThpMode.NONE.prSetArg2());
            assertEquals(0, ProcessThpMode.NONE.prSetArg3());
            assertEquals(1, ProcessThpMode.DISABLED.prSetArg2());
            assertEquals(0, ProcessThpMode.DISABLED.prSetArg3());
            assertEquals(1, ProcessThpMode.DISABLED_EXCEPT_ADVISED.prSetArg2());
            assertEquals(2, ProcessThpMode.DISABLED_EXCEPT_ADVISED.prSetArg3());
        }

        @Test
        void statusThpEnabledIsZeroOnlyWhenDisabledCompletely() {
            assertEquals(1, ProcessThpMode.NONE.statusThpEnabled());
            assertEquals(0, ProcessThpMode.DISABLED.statusThpEnabled());
            assertEquals(1, ProcessThpMode.DISABLED_EXCEPT_ADVISED.statusThpEnabled());
        }
    }

    @Nested
    class TvaTypes {

        @Test
        void kernelValues() {
            assertEquals(0, TvaType.SMAPS.kernelValue());
            assertEquals(1, TvaType.PAGEFAULT.kernelValue());
            assertEquals(2, TvaType.KHUGEPAGED.kernelValue());
            assertEquals(3, TvaType.FORCED_COLLAPSE.kernelValue());
            assertEquals(4, TvaType.SWAP_PAGEFAULT.kernelValue());
            assertEquals(5, TvaType.values().length);
        }

        @Test
        void ofKernelValue() {
            for (TvaType t : TvaType.values()) {
                assertSame(t, TvaType.ofKernelValue(t.kernelValue()));
            }
            assertThrows(IllegalArgumentException.class, () -> TvaType.ofKernelValue(-1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TvaType.ofKernelValue(5));
            assertTrue(e.getMessage().contains("5"), e.getMessage());
        }

        @Test
        void faultTypes() {
            assertTrue(TvaType.PAGEFAULT.isFault());
            assertTrue(TvaType.SWAP_PAGEFAULT.isFault());
            assertFalse(TvaType.SMAPS.isFault());
            assertFalse(TvaType.KHUGEPAGED.isFault());
            assertFalse(TvaType.FORCED_COLLAPSE.isFault());
        }
    }

    @Nested
    class Errors {

        @Test
        void messageNamesOperationObjectAndErrno() {
            KernelException e = new KernelException("write \"sometimes\"", "/sys/kernel/mm/transparent_hugepage/enabled",
                    Errno.EINVAL, "accepted: always madvise never");
            String m = e.getMessage();
            assertTrue(m.contains("write \"sometimes\""), m);
            assertTrue(m.contains("/sys/kernel/mm/transparent_hugepage/enabled"), m);
            assertTrue(m.contains("EINVAL"), m);
            assertTrue(m.contains("invalid argument"), m);
            assertTrue(m.contains("accepted: always madvise never"), m);
            assertEquals("write \"sometimes\" on /sys/kernel/mm/transparent_hugepage/enabled: EINVAL (invalid argument);"
                    + " accepted: always madvise never", m);
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals(22, e.errnoValue());
            assertEquals("write \"sometimes\"", e.operation());
            assertEquals("/sys/kernel/mm/transparent_hugepage/enabled", e.object());
            assertNull(e.getCause());
        }

        @Test
        void withoutHint() {
            assertEquals("PR_SET_THP_DISABLE on pid 7: EINVAL (invalid argument)",
                    new KernelException("PR_SET_THP_DISABLE", "pid 7", Errno.EINVAL, null).getMessage());
            assertEquals("madvise on [0x0, 0x1000): ENOMEM (out of memory)",
                    new KernelException("madvise", "[0x0, 0x1000)", Errno.ENOMEM, "").getMessage());
        }

        @Test
        void rawErrnoWithoutAConstant() {
            IOException cause = new IOException("boom");
            KernelException e = new KernelException("bpf(BPF_MAP_CREATE)", "map x", 999, "hint", cause);
            assertNull(e.errno());
            assertEquals(999, e.errnoValue());
            assertTrue(e.getMessage().contains("errno 999"), e.getMessage());
            assertSame(cause, e.getCause());
            KernelException known = new KernelException("bpf", "map", 1, null, null);
            assertEquals(Errno.EPERM, known.errno());
            assertTrue(known.getMessage().contains("EPERM (operation not permitted)"), known.getMessage());
        }

        @Test
        void operationAndObjectAreRequired() {
            assertThrows(NullPointerException.class, () -> new KernelException(null, "x", Errno.EINVAL, null));
            assertThrows(NullPointerException.class, () -> new KernelException("x", null, Errno.EINVAL, null));
        }

        @Test
        void errnoValues() {
            assertEquals(1, Errno.EPERM.value());
            assertEquals(2, Errno.ENOENT.value());
            assertEquals(3, Errno.ESRCH.value());
            assertEquals(4, Errno.EINTR.value());
            assertEquals(7, Errno.E2BIG.value());
            assertEquals(9, Errno.EBADF.value());
            assertEquals(11, Errno.EAGAIN.value());
            assertEquals(12, Errno.ENOMEM.value());
            assertEquals(13, Errno.EACCES.value());
            assertEquals(14, Errno.EFAULT.value());
            assertEquals(16, Errno.EBUSY.value());
            assertEquals(17, Errno.EEXIST.value());
            assertEquals(22, Errno.EINVAL.value());
            assertEquals(28, Errno.ENOSPC.value());
            assertEquals(34, Errno.ERANGE.value());
            assertEquals(38, Errno.ENOSYS.value());
            assertEquals(75, Errno.EOVERFLOW.value());
            assertEquals(95, Errno.EOPNOTSUPP.value());
            assertEquals(110, Errno.ETIMEDOUT.value());
            assertEquals(524, Errno.ENOTSUPP.value());
            assertEquals("invalid argument", Errno.EINVAL.description());
        }

        @Test
        void ofValueRoundTripsAndValuesAreUnique() {
            Set<Integer> seen = new HashSet<>();
            for (Errno errno : Errno.values()) {
                assertTrue(seen.add(errno.value()), errno.name());
                assertSame(errno, Errno.ofValue(errno.value()));
                assertFalse(errno.description().isEmpty());
            }
            assertNull(Errno.ofValue(0));
            assertNull(Errno.ofValue(-22));
            assertNull(Errno.ofValue(6));
        }
    }

    @Nested
    class Cgroups {

        @Test
        void rootAndNames() {
            assertTrue(CgroupRef.NONE.isRoot());
            assertEquals(0, CgroupRef.NONE.id());
            assertEquals("/", CgroupRef.NONE.name());
            CgroupRef cg = new CgroupRef(1234, "/system.slice/app.service");
            assertFalse(cg.isRoot());
            assertEquals("app.service", cg.name());
            assertEquals("/system.slice/app.service (id 1234)", cg.toString());
        }

        @Test
        void validation() {
            assertThrows(IllegalArgumentException.class, () -> new CgroupRef(-1, "/"));
            assertThrows(IllegalArgumentException.class, () -> new CgroupRef(1, "a/b"));
            assertThrows(IllegalArgumentException.class, () -> new CgroupRef(1, ""));
            assertThrows(NullPointerException.class, () -> new CgroupRef(1, null));
        }
    }

    @Nested
    class Policies {

        @Test
        void noOpinionAndBaseOnly() {
            VmaInfo vma = VmaInfo.anon(0, 2L << 20);
            assertEquals(0x3FCL, MthpPolicy.noOpinion().chooseOrders(vma, TvaType.PAGEFAULT, 0x3FC));
            assertEquals(0x200L, MthpPolicy.noOpinion().chooseOrders(vma, TvaType.KHUGEPAGED, 0x200));
            assertEquals(0, MthpPolicy.baseOnly().chooseOrders(vma, TvaType.PAGEFAULT, 0x3FC));
        }
    }

    @Nested
    class ChoiceEnums {

        @Test
        void namesAndDisplayOrderMatchTheKernel() {
            assertEquals(names("always", "madvise", "never"), names(ThpEnabled.values()));
            assertEquals(names("always", "defer", "defer+madvise", "madvise", "never"), names(ThpDefrag.values()));
            assertEquals(names("always", "within_size", "advise", "never", "deny", "force"), names(ShmemEnabled.values()));
            assertEquals(names("always", "inherit", "madvise", "never"), names(AnonSizeEnabled.values()));
            assertEquals(names("always", "inherit", "within_size", "advise", "never"), names(ShmemSizeEnabled.values()));
        }

        private String names(String... words) {
            return String.join(" ", words);
        }

        private String names(SysfsChoice... choices) {
            StringBuilder out = new StringBuilder();
            for (SysfsChoice c : choices) {
                out.append(out.length() > 0 ? " " : "").append(c.sysfsName());
            }
            return out.toString();
        }
    }
}
