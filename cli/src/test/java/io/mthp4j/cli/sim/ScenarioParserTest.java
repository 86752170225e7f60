package io.mthp4j.cli.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.cli.ExitCode;
import io.mthp4j.cli.sim.Scenario.Advice;
import io.mthp4j.cli.sim.Scenario.Kind;
import io.mthp4j.cli.sim.Scenario.Pattern;
import io.mthp4j.cli.sim.Scenario.Region;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScenarioParserTest {

    static final String MINIMAL = "workload w cgroup=/w\n  region r 4M\n";

    static String resource(String name) throws IOException {
        try (InputStream in = ScenarioParserTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theBuiltInScenario() throws IOException {
        Scenario s = ScenarioParser.parse("default", resource("/io/mthp4j/cli/default.scenario"));
        assertEquals(Duration.ofSeconds(10), s.duration());
        assertEquals(100, s.steps());
        assertEquals(List.of("kv", "batch", "small"), s.workloads().stream().map(Scenario.Workload::name).toList());
        assertEquals(24, s.workloads().get(2).count());
        assertEquals("/small/s23", s.workloads().get(2).cgroupOf(23));
        assertEquals(List.of("no pressure", "memory.high", "host memory"), s.conditions().stream().map(Scenario.Condition::name).toList());
        assertEquals(640L << 20, s.memoryBytes(s.conditions().get(2)));
        assertEquals(4L << 30, s.memoryBytes(s.conditions().get(0)));
        Region kv = s.workloads().get(0).regions().get(0);
        assertEquals(new Region("data", Kind.ANON, 384L << 20, Advice.NONE, Pattern.RANDOM, 0, 0, 30_000, true), kv);
    }

    @Test
    void everyStatementAndAttribute() {
        Scenario s = ScenarioParser.parse("t", """
                name   a host   # comment
                duration 3s
                step 50ms
                memory 1G
                swap 0
                seed -5
                cap_sys_resource yes
                policy threshold=50ms interval=2s order=4 min=8M hysteresis=3
                workload db cgroup=/db count=2
                  region heap 16M kind=shmem advise=hugepage access=hot:10%:90% rate=600/m prefill=yes
                  region stack 64K advise=nohugepage access=sequential
                condition squeezed
                  limit /db memory.high=8M memory.max=max
                  host_memory 128M
                """);
        assertEquals("a host", s.name());
        assertEquals(60, s.steps());
        assertEquals(-5, s.seed());
        assertTrue(s.capSysResource());
        assertEquals(new Scenario.PolicyParameters(Duration.ofMillis(50), Duration.ofSeconds(2), 4, 8L << 20, 3), s.policy());
        Region heap = s.workloads().get(0).regions().get(0);
        assertEquals(new Region("heap", Kind.SHMEM, 16L << 20, Advice.HUGEPAGE, Pattern.HOT, 0.1, 0.9, 10, true), heap);
        assertFalse(s.workloads().get(0).regions().get(1).prefill());
        Scenario.Condition c = s.conditions().get(0);
        assertEquals(List.of(new Scenario.Limit("/db", "memory.high", 8L << 20), new Scenario.Limit("/db", "memory.max", Long.MAX_VALUE)),
                c.limits());
        assertEquals(128L << 20, c.hostMemory());
    }

    @Test
    void withoutConditionsThereIsOneWithoutLimits() {
        Scenario s = ScenarioParser.parse("t", MINIMAL);
        assertEquals(List.of(new Scenario.Condition("no limits", List.of(), 0)), s.conditions());
        assertEquals(Scenario.PolicyParameters.DEFAULT, s.policy());
    }

    /** Each bad file: the line the error names and a piece of its message. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "bogus 1|1|unknown statement 'bogus'; expected one of name, duration",
            "duration 0s|1|duration must be more than 0 and at most 1h",
            "duration 2h|1|duration must be more than 0 and at most 1h",
            "duration soon|1|bad duration 'soon': expected a duration such as 100ms",
            "duration 1s\\nduration 2s|2|'duration' is given twice; give it once",
            "duration 1s 2s|1|'duration' takes one value, got 2",
            "step 0ms|1|step must be at least 1ms",
            "memory 1M|1|memory must be from 64M to 1T",
            "seed x|1|seed must be a whole number",
            "cap_sys_resource maybe|1|bad cap_sys_resource 'maybe': expected yes or no",
            "policy threshold=2s interval=1s|1|must not exceed the interval",
            "policy order=20|1|bad order '20': expected a whole number from 0 to 13",
            "policy speed=3|1|unknown attribute 'speed'; expected one of threshold, interval, order, min, hysteresis",
            "region r 4M|1|a region belongs to a workload",
            "workload|1|workload needs a name first",
            "workload w|1|workload 'w' needs cgroup=PATH",
            "workload w cgroup=kv|1|bad cgroup path 'kv': expected an absolute path",
            "workload w cgroup=/a//b|1|bad cgroup path",
            "workload w cgroup=/w count=0|1|bad count '0': expected a whole number from 1 to 4096",
            "workload w cgroup=/w\\nworkload w cgroup=/x|2|workload 'w' is defined twice (first on line 1)",
            "workload w cgroup=/w oops|1|expected KEY=VALUE, got 'oops'",
            "workload w cgroup=/w\\n region r|2|region needs a name and a size first",
            "workload w cgroup=/w\\n region r 5000|2|region size must be a multiple of 4K",
            "workload w cgroup=/w\\n region r 4M kind=file|2|bad kind 'file': expected one of anon, shmem",
            "workload w cgroup=/w\\n region r 4M access=zigzag|2|bad access 'zigzag': expected one of sequential, random, hot, hot:SHARE:PROBABILITY",
            "workload w cgroup=/w\\n region r 4M access=hot:10%|2|bad access 'hot:10%': expected hot:SHARE:PROBABILITY",
            "workload w cgroup=/w\\n region r 4M access=hot:0%:50%|2|the hot share of 'access=hot:0%:50%' must be more than 0%",
            "workload w cgroup=/w\\n region r 4M access=hot:10%:150%|2|bad hot probability '150%'",
            "workload w cgroup=/w\\n region r 4M rate=fast|2|bad rate 'fast': expected a rate such as 20000/s",
            "workload w cgroup=/w\\n region r 4M rate=20m/s|2|rate must be at most 10M/s",
            "workload w cgroup=/w\\n region r 4M prefill=perhaps|2|bad prefill 'perhaps': expected yes or no",
            "workload w cgroup=/w\\n region r 4M\\n region r 8M|3|workload 'w' already has a region 'r'",
            "workload w cgroup=/w|1|workload 'w' has no region",
            "duration 1s|0|no workload: add at least one",
            "limit /w memory.high=1M|1|a limit belongs to a condition",
            "host_memory 1G|1|host_memory belongs to a condition",
            "condition c\\n host_memory 1M|2|host_memory must be from 64M to 1T",
            "condition c\\n limit /w memory.low=1M|2|unknown attribute 'memory.low'",
            "condition c\\n limit /w memory.high=12|2|memory.high must be at least 4K (or max)",
            "condition c\\ncondition c|2|condition 'c' is defined twice (first on line 1)",
            "condition c\\n limit /elsewhere memory.high=1M|2|limit on /elsewhere: no workload runs in or under that cgroup",
            "duration 50ms\\nstep 100ms|0|step (100ms) must not be longer than the duration (50ms)",
    })
    void badFilesSayWhereAndWhat(String text, int line, String message) {
        String file = text.replace("\\n", "\n");
        boolean needsWorkload = !file.contains("workload") && !file.contains("region") && !message.startsWith("no workload");
        String full = needsWorkload ? file + "\n" + MINIMAL : file;
        String f = full;
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioParser.parse("my.scenario", f));
        assertEquals(ExitCode.BAD_INPUT, e.exitCode());
        String where = line > 0 ? "my.scenario:" + line + ": " : "my.scenario: ";
        assertTrue(e.getMessage().startsWith(where), "starts with " + where + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(message), "contains '" + message + "': " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }
}
