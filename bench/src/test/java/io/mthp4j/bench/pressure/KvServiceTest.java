package io.mthp4j.bench.pressure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class KvServiceTest {

    private record Result(int status, String out, String err) {
    }

    private static Result run(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        int status = KvService.run(args, in, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static long field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(-?[0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return (long) Double.parseDouble(m.group(1));
    }

    @Test
    void waitsForGoThenPrintsOneResultLine() {
        Result r = run("hello\ngo\n", "--ops", "20000", "--keyspace", "10000", "--warmup-ops", "5000", "--value-size=100");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(2, lines.length, r.out());
        assertEquals("ready", lines[0]);
        assertTrue(lines[1].startsWith("result {\"ops\":20000,\"seconds\":"), lines[1]);
        String json = lines[1].substring("result ".length());
        long keys = field(json, "keys");
        // 20,000 uniform sets on 10,000 keys leave 1 - e^-2 = 86.5% of them set
        assertTrue(keys > 8_400 && keys < 8_900, json);
        assertEquals(1, field(json, "slabs"));
        assertEquals(0, field(json, "switches"));
        assertTrue(json.contains("\"policy\":\"none\"") && json.contains("\"mode\":\"none\""), json);
        assertTrue(field(json, "maxMs") >= 0 && json.endsWith("}"), json);
        assertTrue(r.err().contains("ignored \"hello\""), r.err());
    }

    @Test
    void theSameSeedGivesTheSameKeys() {
        String a = run("", "--no-wait", "--ops", "5000", "--keyspace", "5000", "--warmup-ops", "0", "--seed", "42").out();
        String b = run("", "--no-wait", "--ops", "5000", "--keyspace", "5000", "--warmup-ops", "0", "--seed", "42").out();
        assertEquals(field(a, "keys"), field(b, "keys"));
    }

    @Test
    void stdinClosedBeforeGoFails() {
        Result r = run("", "--ops", "10", "--keyspace", "10", "--warmup-ops", "0");
        assertEquals(1, r.status());
        assertEquals("ready\n", r.out());
        assertTrue(r.err().contains("stdin closed before 'go'"), r.err());
    }

    @Test
    void badOptionsAreOneLineAndStatusTwo() {
        String[][] bad = {
            {"--ops", "0"}, {"--ops"}, {"--keyspace", "x"}, {"--random-share", "1.5"}, {"--threads", "0"},
            {"--value-size", "-1"}, {"--frobnicate"}, {"--policy", "mthp-ext:thresold=100ms"}, {"--policy", "disable"},
            {"--policy", "headroom:high=50,low=60"}, {"--policy", "headroom:size=3"}, {"--no-wait=yes"},
        };
        for (String[] args : bad) {
            Result r = run("", args);
            assertEquals(2, r.status(), String.join(" ", args));
            assertEquals("", r.out());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("kv: "), r.err());
        }
    }

    @Test
    void goodPoliciesParse() {
        assertEquals("none", KvService.PolicyChoice.parse(" NONE").text());
        for (String p : new String[] {"none", "mthp-ext", "mthp-ext:threshold=100ms,min=16M", "tva-aware",
            "headroom", "headroom:high=90,low=80", "headroom:order=4"}) {
            assertEquals(p.strip(), KvService.PolicyChoice.parse(p).text());
        }
    }

    @Test
    void helpPrintsUsage() {
        Result r = run("", "--help");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("usage: "), r.out());
        assertTrue(r.out().contains("--random-share"));
    }
}
