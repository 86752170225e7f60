package io.mthp4j.api;

import static io.mthp4j.api.ApiGens.EXAMPLES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.longs;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SysfsTextTest {

    private static final String ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled";
    private static final String PAGES = "/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan";

    @Nested
    class ParseChoice {

        @Test
        void realKernelText() {
            assertEquals(ThpEnabled.MADVISE, SysfsText.parseChoice(ENABLED, "always [madvise] never\n", ThpEnabled.class));
            assertEquals(ThpEnabled.ALWAYS, SysfsText.parseChoice(ENABLED, "[always] madvise never\n", ThpEnabled.class));
            assertEquals(ThpEnabled.NEVER, SysfsText.parseChoice(ENABLED, "always madvise [never]\n", ThpEnabled.class));
            assertEquals(ThpDefrag.MADVISE, SysfsText.parseChoice("defrag", "always defer defer+madvise [madvise] never\n", ThpDefrag.class));
            assertEquals(ThpDefrag.DEFER_MADVISE, SysfsText.parseChoice("defrag", "always defer [defer+madvise] madvise never\n", ThpDefrag.class));
            assertEquals(ShmemEnabled.NEVER, SysfsText.parseChoice("shmem_enabled", "always within_size advise [never] deny force\n", ShmemEnabled.class));
            assertEquals(ShmemEnabled.WITHIN_SIZE, SysfsText.parseChoice("shmem_enabled", "always [within_size] advise never deny force\n", ShmemEnabled.class));
            assertEquals(AnonSizeEnabled.INHERIT, SysfsText.parseChoice("hugepages-2048kB/enabled", "always [inherit] madvise never\n", AnonSizeEnabled.class));
            assertEquals(AnonSizeEnabled.NEVER, SysfsText.parseChoice("hugepages-64kB/enabled", "always inherit madvise [never]\n", AnonSizeEnabled.class));
            assertEquals(ShmemSizeEnabled.INHERIT, SysfsText.parseChoice("hugepages-2048kB/shmem_enabled", "always [inherit] within_size advise never\n", ShmemSizeEnabled.class));
        }

        @Test
        void withoutTrailingNewline() {
            assertEquals(ThpEnabled.MADVISE, SysfsText.parseChoice(ENABLED, "always [madvise] never", ThpEnabled.class));
        }

        @Test
        void unselectedChoicesTheKernelMayAddAreTolerated() {
            assertEquals(ThpEnabled.MADVISE, SysfsText.parseChoice(ENABLED, "always [madvise] never sometimes\n", ThpEnabled.class));
            assertEquals(ThpEnabled.MADVISE, SysfsText.parseChoice(ENABLED, "[madvise]\n", ThpEnabled.class));
        }

        @Test
        void everyChoiceRoundTripsThroughShowChoice() {
            roundTrip(ThpEnabled.class);
            roundTrip(ThpDefrag.class);
            roundTrip(ShmemEnabled.class);
            roundTrip(AnonSizeEnabled.class);
            roundTrip(ShmemSizeEnabled.class);
        }

        private <E extends Enum<E> & SysfsChoice> void roundTrip(Class<E> type) {
            for (E c : type.getEnumConstants()) {
                String shown = SysfsText.showChoice(c);
                assertSame(c, SysfsText.parseChoice("f", shown, type), shown);
                assertSame(c, SysfsText.parseChoice("f", shown.strip(), type), shown);
                assertEquals(1, shown.chars().filter(ch -> ch == '[').count(), shown);
                assertTrue(shown.endsWith("\n") && !shown.endsWith("\n\n") && !shown.contains("  "), shown);
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {
                "always madvise never\n",      // no brackets
                "[always] [madvise] never\n",  // two brackets
                "always [sometimes] never\n",  // unknown bracketed word
                "\n",                          // empty
                "",                            // empty
                "always [madvise never\n",     // unbalanced
                "always madvise] never\n",
                "always [] never\n",
                "[[madvise]] never\n",
                "always  [madvise] never\n",   // two spaces
                " always [madvise] never\n",   // leading space
                "always [madvise] never \n",   // trailing space
                "always [madvise] never\n\n",  // two newlines
                "always\t[madvise] never\n",   // tab
                "always [madvise] never\r\n",  // CR
                "always [MADVISE] never\n",    // case matters
                "always [ madvise] never\n"})
        void malformedTextNamesTheFileAndQuotesTheText(String text) {
            SysfsFormatException e = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, text, ThpEnabled.class));
            assertEquals(ENABLED, e.file());
            assertEquals(text, e.text());
            assertTrue(e.getMessage().contains(ENABLED), e.getMessage());
            assertTrue(e.getMessage().contains("\"" + SysfsFormatException.escape(text) + "\""), e.getMessage());
        }

        @Test
        void specificMessages() {
            SysfsFormatException noBrackets = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, "always madvise never\n", ThpEnabled.class));
            assertEquals("malformed text in " + ENABLED + ": \"always madvise never\\n\" (no value in brackets; expected e.g. \"[always] madvise never\")",
                    noBrackets.getMessage());
            SysfsFormatException two = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, "[always] [madvise] never\n", ThpEnabled.class));
            assertTrue(two.getMessage().contains("more than one value in brackets"), two.getMessage());
            SysfsFormatException unknown = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, "always [sometimes] never\n", ThpEnabled.class));
            assertTrue(unknown.getMessage().contains("\"sometimes\" is not one of always madvise never"), unknown.getMessage());
            SysfsFormatException empty = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, "", ThpEnabled.class));
            assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        }

        @Test
        void nullMeansTheFileIsMissing() {
            SysfsFormatException e = assertThrows(SysfsFormatException.class,
                    () -> SysfsText.parseChoice(ENABLED, null, ThpEnabled.class));
            assertEquals(ENABLED, e.file());
            assertNull(e.text());
            assertTrue(e.getMessage().contains(ENABLED), e.getMessage());
            assertTrue(e.getMessage().contains("\"<missing>\""), e.getMessage());
            assertTrue(e.getMessage().contains("missing"), e.getMessage());
        }

        @Test
        void isAnIllegalArgumentException() {
            assertTrue(IllegalArgumentException.class.isAssignableFrom(SysfsFormatException.class));
        }
    }

    @Nested
    class ShowChoice {

        @Test
        void exactKernelFormat() {
            assertEquals("always [madvise] never\n", SysfsText.showChoice(ThpEnabled.MADVISE));
            assertEquals("[always] madvise never\n", SysfsText.showChoice(ThpEnabled.ALWAYS));
            assertEquals("always madvise [never]\n", SysfsText.showChoice(ThpEnabled.NEVER));
            assertEquals("always defer defer+madvise [madvise] never\n", SysfsText.showChoice(ThpDefrag.MADVISE));
            assertEquals("always defer [defer+madvise] madvise never\n", SysfsText.showChoice(ThpDefrag.DEFER_MADVISE));
            assertEquals("always within_size advise [never] deny force\n", SysfsText.showChoice(ShmemEnabled.NEVER));
            assertEquals("always within_size advise never deny [force]\n", SysfsText.showChoice(ShmemEnabled.FORCE));
            assertEquals("always [inherit] madvise never\n", SysfsText.showChoice(AnonSizeEnabled.INHERIT));
            assertEquals("always inherit madvise [never]\n", SysfsText.showChoice(AnonSizeEnabled.NEVER));
            assertEquals("[always] inherit within_size advise never\n", SysfsText.showChoice(ShmemSizeEnabled.ALWAYS));
            assertEquals("always inherit [within_size] advise never\n", SysfsText.showChoice(ShmemSizeEnabled.WITHIN_SIZE));
        }

        @Test
        void choicesInDisplayOrder() {
            assertEquals("always madvise never", SysfsText.choices(ThpEnabled.class));
            assertEquals("always defer defer+madvise madvise never", SysfsText.choices(ThpDefrag.class));
            assertEquals("always within_size advise never deny force", SysfsText.choices(ShmemEnabled.class));
            assertEquals("always inherit madvise never", SysfsText.choices(AnonSizeEnabled.class));
            assertEquals("always inherit within_size advise never", SysfsText.choices(ShmemSizeEnabled.class));
        }
    }

    @Nested
    class AcceptChoice {

        @Test
        void exactWordAndOneTrailingNewline() {
            assertEquals(ThpEnabled.ALWAYS, SysfsText.acceptChoice(ENABLED, "always", ThpEnabled.class));
            assertEquals(ThpEnabled.ALWAYS, SysfsText.acceptChoice(ENABLED, "always\n", ThpEnabled.class));
            assertEquals(ThpEnabled.NEVER, SysfsText.acceptChoice(ENABLED, "never\n", ThpEnabled.class));
            assertEquals(ThpDefrag.DEFER_MADVISE, SysfsText.acceptChoice("defrag", "defer+madvise\n", ThpDefrag.class));
            assertEquals(ThpDefrag.DEFER, SysfsText.acceptChoice("defrag", "defer", ThpDefrag.class));
            assertEquals(ShmemEnabled.FORCE, SysfsText.acceptChoice("shmem_enabled", "force", ShmemEnabled.class));
            assertEquals(ShmemSizeEnabled.WITHIN_SIZE, SysfsText.acceptChoice("x", "within_size", ShmemSizeEnabled.class));
        }

        @ParameterizedTest
        @ValueSource(strings = {"always\n\n", " always", "always ", "\nalways", "Always", "ALWAYS", "[always]",
                "always madvise", "alway", "alwayss", "", "\n", "inherit", "always\r\n", "always\t"})
        void anythingElseIsEinval(String written) {
            KernelException e = assertThrows(KernelException.class,
                    () -> SysfsText.acceptChoice(ENABLED, written, ThpEnabled.class));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals(22, e.errnoValue());
            assertEquals(ENABLED, e.object());
            assertEquals(SysfsText.writeOp(written), e.operation());
            assertTrue(e.getMessage().contains(ENABLED), e.getMessage());
            assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
            assertTrue(e.getMessage().contains("always madvise never"), e.getMessage());
        }

        @Test
        void perSizeInheritIsNotATopLevelValue() {
            assertEquals(AnonSizeEnabled.INHERIT, SysfsText.acceptChoice("x", "inherit\n", AnonSizeEnabled.class));
            assertThrows(KernelException.class, () -> SysfsText.acceptChoice("x", "inherit", ShmemEnabled.class));
            assertThrows(KernelException.class, () -> SysfsText.acceptChoice("x", "deny", ShmemSizeEnabled.class));
            assertThrows(KernelException.class, () -> SysfsText.acceptChoice("x", "madvise", ShmemSizeEnabled.class));
        }

        @Test
        void sysfsStreq() {
            assertTrue(SysfsText.sysfsStreq("always", "always"));
            assertTrue(SysfsText.sysfsStreq("always\n", "always"));
            assertTrue(SysfsText.sysfsStreq("always", "always\n"));
            assertTrue(SysfsText.sysfsStreq("always\n", "always\n"));
            assertTrue(SysfsText.sysfsStreq("", "\n"));
            assertFalse(SysfsText.sysfsStreq("always\n\n", "always"));
            assertFalse(SysfsText.sysfsStreq(" always", "always"));
            assertFalse(SysfsText.sysfsStreq("always", "alway"));
            assertFalse(SysfsText.sysfsStreq("always\r", "always"));
        }

        @Test
        void writeOpQuotesAndEscapes() {
            assertEquals("write \"always\"", SysfsText.writeOp("always"));
            assertEquals("write \"always\\n\"", SysfsText.writeOp("always\n"));
            assertEquals("write \"a\\\"b\"", SysfsText.writeOp("a\"b"));
        }
    }

    @Nested
    class Numbers {

        @Test
        void acceptUnsignedLikeKstrtoul() {
            assertEquals(0, SysfsText.acceptUnsigned(PAGES, "0", Khugepaged.UINT_MAX));
            assertEquals(4096, SysfsText.acceptUnsigned(PAGES, "4096", Khugepaged.UINT_MAX));
            assertEquals(4096, SysfsText.acceptUnsigned(PAGES, "4096\n", Khugepaged.UINT_MAX));
            assertEquals(4096, SysfsText.acceptUnsigned(PAGES, "+4096", Khugepaged.UINT_MAX));
            assertEquals(4096, SysfsText.acceptUnsigned(PAGES, "+4096\n", Khugepaged.UINT_MAX));
            assertEquals(4096, SysfsText.acceptUnsigned(PAGES, "0004096", Khugepaged.UINT_MAX));
            assertEquals(Khugepaged.UINT_MAX, SysfsText.acceptUnsigned(PAGES, "4294967295", Khugepaged.UINT_MAX));
            assertEquals(Long.MAX_VALUE, SysfsText.acceptUnsigned(PAGES, "9223372036854775807", Long.MAX_VALUE));
            assertEquals(1, SysfsText.acceptUnsigned(PAGES, "00000000000000000000000000001", 1));
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "\n", "+", "+\n", "-1", "-0", " 1", "1 ", "1\n\n", "\n1", "0x10", "1e3", "1.0", "++1",
                "+-1", "one", "１２", "1\t", "4096\r\n"})
        void junkIsEinval(String written) {
            KernelException e = assertThrows(KernelException.class,
                    () -> SysfsText.acceptUnsigned(PAGES, written, Khugepaged.UINT_MAX));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals(PAGES, e.object());
            assertTrue(e.getMessage().contains(PAGES), e.getMessage());
            assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
        }

        @ParameterizedTest
        @ValueSource(strings = {"4294967296", "4294967296\n", "+4294967296", "9223372036854775807",
                "9223372036854775808", "18446744073709551615", "18446744073709551616", "99999999999999999999999999"})
        void aboveMaxIsErange(String written) {
            KernelException e = assertThrows(KernelException.class,
                    () -> SysfsText.acceptUnsigned(PAGES, written, Khugepaged.UINT_MAX));
            assertEquals(Errno.ERANGE, e.errno());
            assertEquals(34, e.errnoValue());
            assertTrue(e.getMessage().contains("ERANGE"), e.getMessage());
            assertTrue(e.getMessage().contains("4294967295"), e.getMessage());
        }

        @Test
        void acceptUnsignedProperty() {
            qt().withExamples(EXAMPLES)
                    .forAll(longs().between(0, Long.MAX_VALUE), longs().between(0, Long.MAX_VALUE),
                            arbitrary().pick("", "+"), arbitrary().pick("", "\n"))
                    .checkAssert((value, max, sign, newline) -> {
                        String written = sign + value + newline;
                        if (value <= max) {
                            assertEquals(value.longValue(), SysfsText.acceptUnsigned(PAGES, written, max));
                        } else {
                            KernelException e = assertThrows(KernelException.class, () -> SysfsText.acceptUnsigned(PAGES, written, max));
                            assertEquals(Errno.ERANGE, e.errno());
                        }
                    });
        }

        @Test
        void parseNumberOfShownText() {
            assertEquals(2_097_152, SysfsText.parseNumber("hpage_pmd_size", "2097152\n"));
            assertEquals(0, SysfsText.parseNumber("x", "0\n"));
            assertEquals(1, SysfsText.parseNumber("x", "1"));
            assertEquals(Long.MAX_VALUE, SysfsText.parseNumber("x", "9223372036854775807\n"));
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "\n", "-1\n", "+1\n", " 1\n", "1 \n", "1\n\n", "abc\n", "1.5\n",
                "9223372036854775808\n", "99999999999999999999\n", "123456789012345678901\n"})
        void parseNumberRejectsMalformedText(String text) {
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> SysfsText.parseNumber(PAGES, text));
            assertEquals(PAGES, e.file());
            assertEquals(text, e.text());
            assertTrue(e.getMessage().contains(PAGES), e.getMessage());
            assertTrue(e.getMessage().contains("\"" + SysfsFormatException.escape(text) + "\""), e.getMessage());
        }

        @Test
        void parseNumberOfAMissingFile() {
            SysfsFormatException e = assertThrows(SysfsFormatException.class, () -> SysfsText.parseNumber(PAGES, null));
            assertTrue(e.getMessage().contains(PAGES), e.getMessage());
            assertTrue(e.getMessage().contains("<missing>"), e.getMessage());
        }
    }

    @Nested
    class Escaping {

        @Test
        void escapesControlCharactersQuotesAndBackslashes() {
            assertEquals("always madvise never\\n", SysfsFormatException.escape("always madvise never\n"));
            assertEquals("a\\tb", SysfsFormatException.escape("a\tb"));
            assertEquals("say \\\"hi\\\"", SysfsFormatException.escape("say \"hi\""));
            assertEquals("a\\\\b", SysfsFormatException.escape("a\\b"));
            assertEquals("\\x00\\x01\\r\\x7f".replace("\\r", "\\x0d"), SysfsFormatException.escape("\0\u0001\r\u007f"));
            assertEquals("<missing>", SysfsFormatException.escape(null));
            assertEquals("", SysfsFormatException.escape(""));
        }

        @Test
        void longTextIsCut() {
            String text = "x".repeat(500);
            assertEquals("x".repeat(200) + "...", SysfsFormatException.escape(text));
            assertEquals("x".repeat(200), SysfsFormatException.escape("x".repeat(200)));
        }

        @Test
        void exceptionKeepsFileAndText() {
            SysfsFormatException e = new SysfsFormatException("/f", "t\n", "why");
            assertEquals("/f", e.file());
            assertEquals("t\n", e.text());
            assertEquals("malformed text in /f: \"t\\n\" (why)", e.getMessage());
        }
    }
}
