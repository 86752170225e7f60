package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

class UnitsTest {

    @Test
    void sizes() {
        assertEquals(4096, Units.parseSize("4096", 1));
        assertEquals(64L << 10, Units.parseSize("64K", 1));
        assertEquals(64L << 10, Units.parseSize("64kB", 1));
        assertEquals(2L << 20, Units.parseSize("2MiB", 1));
        assertEquals(3L << 30, Units.parseSize(" 3g ", 1));
        assertEquals(5L << 20, Units.parseSize("5", 1 << 20));
        for (String bad : new String[] {"", "M", "1.5G", "-1M", "12X", "99999999999T"}) {
            assertThrows(IllegalArgumentException.class, () -> Units.parseSize(bad, 1), bad);
        }
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(100), Units.parseDuration("100ms", ChronoUnit.SECONDS));
        assertEquals(Duration.ofSeconds(2), Units.parseDuration("2s", ChronoUnit.MILLIS));
        assertEquals(Duration.ofMinutes(1), Units.parseDuration("1m", ChronoUnit.MILLIS));
        assertEquals(Duration.ofNanos(500_000), Units.parseDuration("500us", ChronoUnit.MILLIS));
        assertEquals(Duration.ofMillis(150), Units.parseDuration("150", ChronoUnit.MILLIS));
        for (String bad : new String[] {"", "ms", "1.5s", "-1s", "10 parsecs", "1d"}) {
            assertThrows(IllegalArgumentException.class, () -> Units.parseDuration(bad, ChronoUnit.MILLIS), bad);
        }
    }

    @Test
    void ratesAndFractions() {
        assertEquals(30_000, Units.parseRate("30k/s"));
        assertEquals(20_000, Units.parseRate("20000/s"));
        assertEquals(10, Units.parseRate("600/m"));
        assertEquals(2_000_000, Units.parseRate("2m/s"));
        assertEquals(7, Units.parseRate("7"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseRate("fast"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseRate("5/d"));
        assertEquals(0.25, Units.parseFraction("25%"));
        assertEquals(0.9, Units.parseFraction("0.9"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseFraction("120%"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseFraction("NaN"));
    }

    @Test
    void formatting() {
        assertEquals("4K", Units.formatBytes(4096));
        assertEquals("2M", Units.formatBytes(2L << 20));
        assertEquals("1.5G", Units.formatBytes(3L << 29));
        assertEquals("100B", Units.formatBytes(100));
        assertEquals("100ms", Units.formatDuration(Duration.ofMillis(100)));
        assertEquals("10s", Units.formatDuration(Duration.ofSeconds(10)));
        assertEquals("1500us", Units.formatDuration(Duration.ofNanos(1_500_000)));
    }

    @Test
    void everyUnitScalesBy1024() {
        int examples = Integer.getInteger("mthp4j.property.examples", 10_000);
        qt().withExamples(examples).forAll(longs().between(0, 1L << 20)).checkAssert(n -> {
            assertEquals(n << 10, Units.parseSize(n + "K", 1));
            assertEquals(n << 20, Units.parseSize(n + "M", 1));
            assertEquals(n << 30, Units.parseSize(n + "G", 1));
            assertEquals(n, Units.parseSize(Long.toString(n), 1));
            String formatted = Units.formatBytes(n << 10);
            if (!formatted.contains(".")) {
                assertEquals(n << 10, Units.parseSize(formatted, 1), "format then parse: " + formatted);
            }
        });
    }
}
