package io.mthp4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.cli.MainTest.Result;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mthp4j simulate} on a small scenario: determinism, the tables' shape, JSON, progress. */
class SimulateCommandTest {

    @TempDir
    static Path dir;
    static String scenario;
    static Result text;

    @BeforeAll
    static void runOnce() throws IOException {
        Path file = dir.resolve("small.scenario");
        try (InputStream in = SimulateCommandTest.class.getResourceAsStream("/io/mthp4j/cli/small.scenario")) {
            Files.write(file, in.readAllBytes());
        }
        scenario = file.toString();
        text = MainTest.run("simulate", scenario);
        assertEquals(ExitCode.OK, text.code(), text.err());
    }

    @Test
    void sameSeedSameOutputAndAnotherSeedChangesIt() {
        assertEquals(text, MainTest.run("simulate", scenario));
        Result other = MainTest.run("simulate", scenario, "--seed", "8");
        assertEquals(ExitCode.OK, other.code());
        assertNotEquals(text.out().replace("seed 7", "seed 8"), other.out());
    }

    @Test
    void theOutputSaysTheFiguresAreModeledAndWhereFidelityIsDescribed() {
        assertTrue(text.out().contains("MODELED, NOT MEASURED."));
        assertTrue(text.out().contains("docs/fidelity.md"));
        assertTrue(text.out().contains("folios come back at the largest allowed size below 2M"));
    }

    @Test
    void oneTablePerConditionWithOneColumnPerConfigurationAndTheDifferenceFromAlways() {
        List<String> lines = text.out().lines().toList();
        List<Integer> headers = java.util.stream.IntStream.range(0, lines.size())
                .filter(i -> lines.get(i).matches("\\s+always\\s+never\\s+always \\+ mthp_ext\\s+always \\+ tva-aware")).boxed().toList();
        assertEquals(2, headers.size(), "one table per condition:\n" + text.out());
        assertTrue(lines.get(headers.get(0) - 2).startsWith("Condition: no pressure (no limits)"));
        assertTrue(lines.get(headers.get(1) - 2).startsWith("Condition: memory.high (/kv memory.high=16M)"));
        Pattern number = Pattern.compile("-?[0-9.]+[kM]?");
        Pattern diff = Pattern.compile("\\((=|n/a|[+-][0-9.]+%)\\)");
        int rows = 0;
        for (int h : headers) {
            for (int i = h + 1; i < lines.size() && !lines.get(i).isEmpty(); i++) {
                String line = lines.get(i);
                if (!line.startsWith("  ")) {
                    continue; // a section heading
                }
                String[] cells = line.strip().split("\\s{2,}");
                assertEquals(5, cells.length, "label + 4 columns: " + line);
                String always = cells[1];
                assertTrue(always.equals("-") || number.matcher(always).matches(), "no brackets under always: " + line);
                for (int c = 2; c < 5; c++) {
                    String cell = cells[c];
                    if (cell.equals("-")) {
                        continue;
                    }
                    String[] parts = cell.split(" ");
                    assertTrue(number.matcher(parts[0]).matches(), cell);
                    if (!always.equals("-")) {
                        assertEquals(2, parts.length, "difference in brackets: " + line);
                        assertTrue(diff.matcher(parts[1]).matches(), cell);
                    }
                }
                rows++;
            }
        }
        assertTrue(rows > 30, "rows: " + rows);
        for (String section : List.of("Folios resident at the end, by size (MiB)", "Faults", "Reclaim", "Memory stall (modeled)",
                "Memory at the end", "Workload proxies (modeled from stall)", "Controller")) {
            assertEquals(2, lines.stream().filter(section::equals).count(), section);
        }
    }

    @Test
    void theModelsConsequencesShowInTheFigures() {
        String json = MainTest.run("simulate", scenario, "--json").out();
        // never: no large folio anywhere; always without pressure: large folios, no reclaim
        assertEquals(0.0, value(json, "no pressure", "never", "faults.large_alloc"));
        assertTrue(value(json, "no pressure", "always", "faults.large_alloc") > 0);
        assertEquals(0.0, value(json, "no pressure", "always", "reclaim.pswpout"));
        // memory.high below the key-value store's data set: it is reclaimed and stalls
        assertTrue(value(json, "memory.high", "always", "reclaim.pswpout") > 0);
        assertTrue(value(json, "memory.high", "always", "stall.kv") > 0);
        assertTrue(value(json, "memory.high", "always", "reclaim.large_swpout") > 0, "folios swapped out whole");
        // the controller saw the pressure and took huge folios away from new faults
        assertTrue(value(json, "memory.high", "mthp-ext", "controller.events") > 0);
        assertTrue(value(json, "memory.high", "mthp-ext", "faults.large_alloc") < value(json, "memory.high", "always",
                "faults.large_alloc"));
        // small services (< 16M each) get base pages under mthp_ext once scanned: less memory never written
        assertTrue(value(json, "no pressure", "mthp-ext", "memory.unwritten") < value(json, "no pressure", "always",
                "memory.unwritten"));
    }

    /** A value from the JSON report (a small extractor: the report's layout is fixed by Report.json). */
    static double value(String json, String condition, String config, String key) {
        int c = json.indexOf("\"name\": \"" + condition + "\"");
        assertTrue(c >= 0, condition);
        int r = json.indexOf("\"" + config + "\": {", c);
        assertTrue(r >= 0, config);
        int k = json.indexOf("\"" + key + "\": ", r);
        int end = json.indexOf('}', r);
        assertTrue(k >= 0 && k < end, key + " in " + config + " / " + condition);
        String rest = json.substring(k + key.length() + 4);
        return Double.parseDouble(rest.substring(0, rest.indexOf(rest.contains(",\n") && rest.indexOf(",\n") < rest.indexOf('\n') + 1
                ? ',' : '\n')).strip());
    }

    @Test
    void jsonHasTheSameRunsAsTheTables() {
        Result r = MainTest.run("simulate", scenario, "--json", "--configs", "never,always");
        assertEquals(ExitCode.OK, r.code());
        String json = r.out();
        assertTrue(json.startsWith("{\n  \"scenario\": {\n    \"name\": \"small test host\""));
        assertTrue(json.contains("\"modeled\": true"));
        assertTrue(json.contains("\"configurations\": [\n    \"never\",\n    \"always\"\n  ]"));
        assertTrue(json.contains("\"key\": \"folios.2M\""));
        assertEquals(2, json.split("\"runs\": \\{").length - 1);
        assertTrue(json.endsWith("}\n"));
    }

    @Test
    void onlyTheChosenConfigurationsAndCondition() {
        Result r = MainTest.run("simulate", scenario, "-c", "never,mthp-ext", "-C", "memory.high", "-D", "1s");
        assertEquals(ExitCode.OK, r.code());
        assertTrue(r.out().contains("1s of virtual time per run"));
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+never\\s+always \\+ mthp_ext")), r.out());
        assertTrue(!r.out().contains("Condition: no pressure"));
        assertTrue(r.out().contains("-      "), "no 'always' column: no brackets, but '-' where a value has no base");
    }

    @Test
    void aProgressBarOnlyOnATerminal() {
        assertEquals("", text.err(), "piped: nothing on stderr");
        Result t = MainTest.run(true, "simulate", scenario, "-c", "never", "-C", "no pressure", "-D", "300ms");
        assertEquals(ExitCode.OK, t.code());
        assertTrue(t.err().contains("\r[##############################] 100%  no pressure / never"), t.err());
        assertTrue(t.err().endsWith("\r"), "the bar is cleared at the end");
        Result quiet = MainTest.run(true, "simulate", scenario, "-c", "never", "-C", "no pressure", "-D", "300ms", "--no-progress");
        assertEquals("", quiet.err());
        assertEquals(t.out(), quiet.out());
    }
}
