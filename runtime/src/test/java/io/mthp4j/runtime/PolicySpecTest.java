package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/** Configuration without code: the policy named in text. */
class PolicySpecTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final PageGeometry G = PageGeometry.X86_64_4K;

    @Test
    @DisplayName("the issue's example and the defaults")
    void examples() {
        PressurePolicy p = (PressurePolicy) PolicySpec.parse("mthp-ext:threshold=100ms,min=16M").policy(G);
        assertEquals(PressurePolicy.Flavor.MTHP_EXT, p.flavor());
        assertEquals(Duration.ofMillis(100), p.threshold());
        assertEquals(16L << 20, p.minMemoryBytes());
        PressurePolicy q = (PressurePolicy) PolicySpec.parse(" TVA_aware : interval=2s, order=4, min=512K, fixed, debug=false, hysteresis=3 ")
                .policy(G);
        assertEquals(PressurePolicy.Flavor.TVA_AWARE, q.flavor());
        assertEquals(Duration.ofSeconds(2), q.interval());
        assertEquals(4, q.order());
        assertEquals(512L << 10, q.minMemoryBytes());
        assertTrue(q.fixed());
        assertEquals(3, q.hysteresis());
        assertEquals(16L << 20, PolicySpec.parse("mthp-ext:min=16").minBytes(), "a bare number is MiB, as the sample's -m");
        assertEquals(9, ((PressurePolicy) PolicySpec.parse("mthp-ext:order=12").policy(G)).order(), "clamped to the PMD order");
        io.mthp4j.core.policy.HeadroomPolicy h = (io.mthp4j.core.policy.HeadroomPolicy) PolicySpec.parse("headroom").policy(G);
        assertArrayEquals(new double[] {0.7, 0.8}, sorted(h.headroomShares()), "headroom: 80% and 70% by default");
        assertArrayEquals(new double[] {0.75, 0.85}, sorted(PolicySpec.parse("headroom:high=85,low=75,quiet=2,order=4").policy(G)
                .headroomShares()));
        PressurePolicy withHeadroom = (PressurePolicy) PolicySpec.parse("mthp-ext:high=80").policy(G);
        assertTrue(withHeadroom.headroom(), "high turns mthp_ext's headroom option on");
        assertArrayEquals(new double[] {0.7, 0.8}, sorted(withHeadroom.headroomShares()), "low defaults to high - 10");
        assertFalse(((PressurePolicy) PolicySpec.parse("mthp-ext").policy(G)).headroom(), "off unless asked for");
        assertEquals("headroom:high=85,low=75,quiet=2", PolicySpec.parse("headroom:high=85%,low=75,quiet=2").toString());
        assertEquals(MemoryThp.DISABLE, PolicySpec.parse("disable").optOut());
        assertEquals(MemoryThp.MADVISE, PolicySpec.parse("madvise").optOut());
    }

    @Test
    @DisplayName("bad values give one error that names the part and what is accepted")
    void badValues() {
        assertMessage("mthp_exp", "unknown policy \"mthp-exp\"; built-in: mthp-ext, tva-aware, headroom, disable, madvise");
        assertMessage("headroom:threshold=1ms", "parameter threshold does not apply to headroom; it takes order, high, low, quiet");
        assertMessage("mthp-ext:low=60", "low needs high (the headroom option: high=80)");
        assertMessage("headroom:high=60,low=70", "0 < low <= high <= 100 (percent), were high=60, low=70");
        assertMessage("headroom:high=101", "bad high \"101\": a percentage of the hard limit, 1 to 100");
        assertMessage("mthp-ext:thresold=1ms", "unknown parameter \"thresold\" of mthp-ext; known: threshold, interval");
        assertMessage("mthp-ext:threshold=0ms", "bad threshold \"0ms\": a duration of at least 1 ms");
        assertMessage("mthp-ext:threshold=fast", "bad threshold \"fast\"");
        assertMessage("mthp-ext:min=16X", "bad min \"16X\": a size such as 16M");
        assertMessage("mthp-ext:order=-1", "bad order \"-1\": a whole number, 0 or more");
        assertMessage("mthp-ext:fixed=yes", "bad fixed \"yes\": true or false");
        assertMessage("mthp-ext:min", "parameter min needs a value");
        assertMessage("mthp-ext:min=1M,min=2M", "parameter min is given twice");
        assertMessage("disable:threshold=1ms", "disable takes no parameters");
        IllegalArgumentException reg = assertThrows(IllegalArgumentException.class, () -> Mthp.register("disable"));
        assertTrue(reg.getMessage().contains("Mthp.disable()"), reg.getMessage());
    }

    static double[] sorted(double[] shares) {
        double[] s = shares.clone();
        java.util.Arrays.sort(s);
        return s;
    }

    static void assertMessage(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicySpec.parse(text));
        assertTrue(e.getMessage().contains(expected), "\"" + e.getMessage() + "\" should contain \"" + expected + "\"");
    }

    static Gen<PolicySpec> specs() {
        Gen<String> names = Generate.pick(java.util.List.of("mthp-ext", "tva-aware"));
        Gen<Duration> durations = SourceDSL.longs().between(1, 100_000).map(Duration::ofMillis);
        Gen<Duration> maybeDuration = durations.toOptionals(30).map(o -> o.orElse(null));
        Gen<Integer> orders = SourceDSL.integers().between(0, 20).toOptionals(30).map(o -> o.orElse(null));
        Gen<Long> mins = SourceDSL.longs().between(0, 1L << 30).map(k -> k << 10).toOptionals(30).map(o -> o.orElse(null));
        return names.zip(maybeDuration, maybeDuration, orders, (n, t, i, o) -> new Object[] {n, t, i, o})
                .zip(mins, SourceDSL.booleans().all(), SourceDSL.booleans().all(), (a, m, f, d) -> new PolicySpec((String) a[0],
                        (Duration) a[1], (Duration) a[2], (Integer) a[3], m, f, d, 0))
                .zip(SourceDSL.integers().between(0, 50), (s, h) -> new PolicySpec(s.name(), s.threshold(), s.interval(), s.order(),
                        s.minBytes(), s.fixed(), s.debug(), h));
    }

    /** Any spec with headroom parameters: the headroom policy, or mthp-ext / tva-aware with the option. */
    static Gen<PolicySpec> headroomSpecs() {
        Gen<Integer> highs = SourceDSL.integers().between(1, 100);
        Gen<Integer> maybeQuiet = SourceDSL.integers().between(0, 20).toOptionals(50).map(o -> o.orElse(null));
        return specs().zip(highs, SourceDSL.integers().between(0, 100), maybeQuiet, SourceDSL.booleans().all(), (s, h, l, q, own) -> own
                ? new PolicySpec("headroom", null, null, s.order(), null, false, false, 0, l % 3 == 0 ? null : h,
                        l % 2 == 0 ? null : Math.max(1, Math.min(l, l % 3 == 0 ? 70 : h)), q)
                : new PolicySpec(s.name(), s.threshold(), s.interval(), s.order(), s.minBytes(), s.fixed(), s.debug(), s.hysteresis(),
                        h, l % 2 == 0 ? null : Math.max(1, Math.min(l, h)), q));
    }

    @Test
    @DisplayName("every spec's text parses back to the same spec, and builds")
    void roundTrip() {
        qt().withExamples(EXAMPLES).forAll(specs()).checkAssert(s -> assertEquals(s, PolicySpec.parse(s.toString()), s.toString()));
        qt().withExamples(EXAMPLES).forAll(headroomSpecs()).checkAssert(s -> {
            assertEquals(s, PolicySpec.parse(s.toString()), s.toString());
            double[] shares = sorted(s.policy(G).headroomShares());
            double[] expected = s.fixed() ? new double[0] // fixed: nothing is read, headroom neither
                    : java.util.stream.DoubleStream.of(s.lowPercent() / 100.0, s.highPercent() / 100.0).distinct().toArray();
            assertArrayEquals(expected, shares, s.toString());
        });
    }

    @Test
    @DisplayName("any text either parses or fails with IllegalArgumentException, never anything else")
    void anyTextFailsCleanly() {
        Gen<String> pieces = Generate.pick(java.util.List.of("mthp-ext", "tva-aware", "headroom", "high", "low", "quiet", "%",
                ":", ",", "=", "threshold", "min", "order",
                "fixed", "1", "0", "-5", "ms", "s", "M", "K", "G", "x", " ", "99999999999999999999", "true"));
        qt().withExamples(EXAMPLES).forAll(SourceDSL.lists().of(pieces).ofSizeBetween(0, 8)).checkAssert(parts -> {
            String text = String.join("", parts);
            try {
                PolicySpec s = PolicySpec.parse(text);
                if (!s.isOptOut()) {
                    s.policy(G);
                }
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
            }
        });
    }
}
