package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.strings;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class OptionsTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);

    final Options options = Options.builder("mthp4j test", "[options] [FILE]", "A command for tests.")
            .positionals(1)
            .option("threshold", 't', "MS", "threshold in ms")
            .option("root", 'r', "DIR", "root cgroup")
            .flag("fixed", 'f', "fixed order")
            .flag("debug", 'd', "debug output")
            .flag("json", (char) 0, "JSON")
            .build();

    Options.Parsed parse(String... args) {
        return options.parse(List.of(args));
    }

    CliException usageError(String... args) {
        CliException e = assertThrows(CliException.class, () -> parse(args));
        assertEquals(ExitCode.USAGE, e.exitCode());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Nested
    class Accepted {
        @Test
        void longOptionsWithSpaceOrEquals() {
            assertEquals("150", parse("--threshold", "150").value("threshold", null));
            assertEquals("150", parse("--threshold=150").value("threshold", null));
            assertEquals("", parse("--threshold=").value("threshold", null), "an empty value is a value");
        }

        @Test
        void shortOptionsAttachedOrSeparate() {
            assertEquals("/sys/fs/cgroup", parse("-r", "/sys/fs/cgroup").value("root", null));
            assertEquals("/sys/fs/cgroup", parse("-r/sys/fs/cgroup").value("root", null));
        }

        @Test
        void bundledFlagsAndATrailingValue() {
            Options.Parsed p = parse("-fdt", "200");
            assertTrue(p.has("fixed"));
            assertTrue(p.has("debug"));
            assertEquals(200, p.longValue("threshold", 0, 1, 1000));
            Options.Parsed q = parse("-fdt200");
            assertEquals("200", q.value("threshold", null));
        }

        @Test
        void positionalsAnywhereAndAfterDoubleDash() {
            assertEquals(List.of("file"), parse("file", "--json").positionals());
            assertEquals(List.of("--json"), parse("--", "--json").positionals());
            assertEquals(List.of("-"), parse("-").positionals(), "a lone dash is an argument (stdin by convention)");
            assertFalse(parse("--", "--json").has("json"));
        }

        @Test
        void valuesMayStartWithADash() {
            assertEquals("-5", parse("--threshold", "-5").value("threshold", null));
        }

        @Test
        void absentOptionsGiveTheFallback() {
            Options.Parsed p = parse();
            assertFalse(p.has("json"));
            assertEquals("dflt", p.value("root", "dflt"));
            assertEquals(100, p.longValue("threshold", 100, 1, 1000));
            assertEquals(Duration.ofSeconds(3), p.duration("threshold", Duration.ofSeconds(3), ChronoUnit.MILLIS));
        }

        @Test
        void helpWinsOverEveryOtherError() {
            assertTrue(parse("--nonsense", "-h").help());
            assertTrue(parse("a", "b", "c", "--help").help());
            assertFalse(parse("--", "--help").help(), "after -- it is an argument");
        }

        @Test
        void typedValues() {
            assertEquals(Duration.ofMillis(250), parse("-t", "250").duration("threshold", null, ChronoUnit.MILLIS));
            assertEquals(Duration.ofSeconds(2), parse("-t", "2s").duration("threshold", null, ChronoUnit.MILLIS));
            assertEquals(16L << 20, parse("-t", "16M").size("threshold", 0, 1));
            assertEquals(16L << 20, parse("-t", "16").size("threshold", 0, 1 << 20), "a bare number in the given unit");
        }
    }

    @Nested
    class Rejected {
        @Test
        void unknownOptionsNameTheOptionAndTheHelp() {
            assertEquals("unknown option --nope; see 'mthp4j test --help'", usageError("--nope").getMessage());
            assertEquals("unknown option --nope; see 'mthp4j test --help'", usageError("--nope=3").getMessage());
            assertEquals("unknown option -x; see 'mthp4j test --help'", usageError("-fx").getMessage());
        }

        @Test
        void missingValue() {
            assertEquals("option --threshold needs a value (MS); see 'mthp4j test --help'",
                    usageError("--threshold").getMessage());
            assertEquals("option --threshold needs a value (MS); see 'mthp4j test --help'", usageError("-ft").getMessage());
        }

        @Test
        void aFlagWithAValue() {
            assertTrue(usageError("--json=yes").getMessage().startsWith("option --json takes no value (got 'yes')"));
        }

        @Test
        void givenTwice() {
            assertEquals("option --threshold was given twice; give it once", usageError("-t", "1", "--threshold=2").getMessage());
            usageError("-ff");
        }

        @Test
        void tooManyArguments() {
            assertTrue(usageError("a", "b").getMessage().startsWith("takes at most 1 argument, got 2 (a b)"));
            Options none = Options.builder("mthp4j none", "", "None.").build();
            CliException e = assertThrows(CliException.class, () -> none.parse(List.of("x")));
            assertTrue(e.getMessage().startsWith("takes no arguments, got 'x'"));
        }

        @Test
        void badTypedValuesSayWhatWasExpected() {
            CliException e = assertThrows(CliException.class, () -> parse("-t", "fast").longValue("threshold", 0, 1, 1000));
            assertEquals("bad value 'fast' for --threshold: expected a whole number; see 'mthp4j test --help'", e.getMessage());
            e = assertThrows(CliException.class, () -> parse("-t", "0").longValue("threshold", 0, 1, 1000));
            assertTrue(e.getMessage().contains("expected a number from 1 to 1000"));
            e = assertThrows(CliException.class, () -> parse("-t", "2 weeks").duration("threshold", null, ChronoUnit.MILLIS));
            assertTrue(e.getMessage().contains("expected a duration such as 100ms"), e.getMessage());
            e = assertThrows(CliException.class, () -> parse("-t", "lots").size("threshold", 0, 1));
            assertTrue(e.getMessage().contains("expected a size such as 512M"), e.getMessage());
        }

        @Test
        void programmingErrorsInTheSpecAreCaughtWhenBuilding() {
            assertThrows(IllegalArgumentException.class, () -> Options.builder("c", "", "").flag("help", (char) 0, "x"));
            assertThrows(IllegalArgumentException.class, () -> Options.builder("c", "", "").flag("ab", 'a', "x").flag("ac", 'a', "y"));
            assertThrows(IllegalArgumentException.class, () -> Options.builder("c", "", "").flag("ab", (char) 0, "x").flag("ab", (char) 0, "y"));
            assertThrows(IllegalArgumentException.class, () -> parse().has("undefined"));
        }
    }

    @Test
    void helpListsEveryOption() {
        String help = options.help();
        assertTrue(help.startsWith("Usage: mthp4j test [options] [FILE]\n"));
        for (String s : List.of("-t, --threshold MS", "-r, --root DIR", "-f, --fixed", "-d, --debug", "    --json", "-h, --help")) {
            assertTrue(help.contains(s), s + " in\n" + help);
        }
    }

    @Test
    void everySpellingOfAValueParsesTheSame() {
        qt().withExamples(EXAMPLES).forAll(strings().basicLatinAlphabet().ofLengthBetween(0, 12), integers().between(0, 3))
                .checkAssert((value, spelling) -> {
                    if (value.startsWith("-") && spelling != 1 && spelling != 3) {
                        return; // "--root -x" is still a value; covered by valuesMayStartWithADash
                    }
                    if (value.isEmpty() && spelling == 3) {
                        return; // "-r" alone needs the next argument
                    }
                    List<String> args = switch (spelling) {
                        case 0 -> List.of("--root", value);
                        case 1 -> List.of("--root=" + value);
                        case 2 -> List.of("-r", value);
                        default -> List.of("-r" + value);
                    };
                    Options.Parsed p = options.parse(args);
                    assertEquals(value, p.value("root", null), args.toString());
                    assertTrue(p.positionals().isEmpty());
                });
    }
}
