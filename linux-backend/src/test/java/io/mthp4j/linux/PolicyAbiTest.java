package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Java and C agree on the policy map ABI (src/main/c/mthp4j_policy.h): a C program built with gcc reads what
 * Java wrote, field by field, and the reference BPF program compiles with clang against this kernel's BTF.
 */
class PolicyAbiTest {

    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path HEADER_DIR = MODULE.resolve("src/main/c");
    static final Path WORK = MODULE.resolve("target/native-test");

    private static BpffsFixture bpffs;

    @BeforeAll
    static void mount() throws IOException {
        Files.createDirectories(WORK);
        assumeTrue(Files.exists(HEADER_DIR.resolve("mthp4j_policy.h")), "run from the linux-backend module directory");
    }

    @AfterAll
    static void unmount() {
        if (bpffs != null) {
            bpffs.close();
        }
    }

    private static Path checker() {
        Path gcc = RealKernel.assumeTool("gcc");
        Path out = WORK.resolve("policy_check");
        RealKernel.Result r = RealKernel.run(WORK, gcc.toString(), "-Wall", "-Wextra", "-Werror", "-O2", "-I" + HEADER_DIR,
                "-o", out.toString(), MODULE.resolve("src/test/c/policy_check.c").toString());
        assertEquals(0, r.status(), r.output());
        return out;
    }

    @Test
    void theHeaderLayoutIsJavasLayout() {
        RealKernel.Result r = RealKernel.run(WORK, checker().toString(), "layout");
        assertEquals(0, r.status(), r.output());
        Map<String, String> c = new LinkedHashMap<>();
        for (String line : r.output().strip().split("\n")) {
            String[] kv = line.split(" ", 2);
            c.put(kv[0], kv[1]);
        }
        assertEquals(Map.of("sizeof", "" + PolicyMap.VALUE_SIZE, "layout_version", "" + PolicyMap.OFF_LAYOUT_VERSION,
                "flags", "" + PolicyMap.OFF_FLAGS, "generation", "" + PolicyMap.OFF_GENERATION,
                "expires_boot_ns", "" + PolicyMap.OFF_EXPIRES, "allowed", "" + PolicyMap.OFF_ALLOWED,
                "tva_types", "" + TvaType.values().length, "vma_types", "" + VmaType.values().length,
                "version", "" + PolicyMap.LAYOUT_VERSION, "name", PolicyMap.MAP_NAME), withoutValidFlag(c));
        assertEquals("" + PolicyMap.F_VALID, c.get("valid_flag"));
    }

    private static Map<String, String> withoutValidFlag(Map<String, String> c) {
        Map<String, String> m = new LinkedHashMap<>(c);
        m.remove("valid_flag");
        return m;
    }

    @Test
    void aCProgramReadsWhatJavaWroteFieldByField() throws IOException {
        Path checker = checker();
        bpffs = bpffs == null ? new BpffsFixture() : bpffs;
        Path pin = bpffs.pin("abi");
        Random random = new Random(5);
        StringBuilder expect = new StringBuilder();
        try (PolicyMap map = PolicyMap.createPinned(pin, 256)) {
            long now = Sys.bootTimeNanos();
            for (int i = 0; i < 100; i++) {
                long key = i == 0 ? 0 : random.nextLong() & Long.MAX_VALUE;
                DecisionTable table = PolicyMapTest.randomTable(random);
                long generation = random.nextLong();
                long expires = i % 3 == 0 ? now - 1 : i % 3 == 1 ? now + 60_000_000_000L : -1L; // -1 = u64 max
                map.put(key, table, generation, expires);
                PolicyMap.Entry e = map.get(key).orElseThrow();
                expect.append(line(e, now));
            }
            for (long absent : List.of(1L, 2L, 3L)) {
                map.remove(absent);
                expect.append("absent ").append(absent).append('\n');
            }
            Path file = WORK.resolve("expect.txt");
            Files.writeString(file, expect);
            RealKernel.Result ok = RealKernel.run(WORK, checker.toString(), "verify", pin.toString(), file.toString());
            assertEquals(0, ok.status(), ok.output());
            assertTrue(ok.output().contains("checked 100 entries, 0 mismatches"), ok.output());

            // the checker can fail: one wrong generation is reported as such
            String[] first = expect.toString().split("\n", 2);
            String[] fields = first[0].split(" ");
            fields[4] = Long.toUnsignedString(Long.parseUnsignedLong(fields[4]) + 1);
            Files.writeString(file, String.join(" ", fields) + "\n");
            RealKernel.Result bad = RealKernel.run(WORK, checker.toString(), "verify", pin.toString(), file.toString());
            assertEquals(1, bad.status(), bad.output());
            assertTrue(bad.output().contains("generation"), bad.output());
        } finally {
            PolicyMap.unpin(pin);
        }
    }

    private static String line(PolicyMap.Entry e, long now) {
        StringBuilder out = new StringBuilder("entry ").append(Long.toUnsignedString(e.cgroupId())).append(' ')
                .append(e.layoutVersion()).append(' ').append(e.flags()).append(' ')
                .append(Long.toUnsignedString(e.generation())).append(' ').append(Long.toUnsignedString(e.expiresAtBootNanos()));
        for (TvaType t : TvaType.values()) {
            for (VmaType a : VmaType.values()) {
                out.append(' ').append(Long.toUnsignedString(e.table().allowed(t, a)));
            }
        }
        return out.append(' ').append(now).append(' ').append(e.appliesAt(now) ? 1 : 0).append('\n').toString();
    }

    @Test
    void theReferenceBpfProgramCompiles() {
        Path clang = RealKernel.assumeTool("clang");
        Path bpftool = RealKernel.assumeTool("bpftool");
        assumeTrue(Files.exists(Capabilities.BTF_VMLINUX), "no kernel BTF at " + Capabilities.BTF_VMLINUX);
        assumeTrue(Files.exists(Path.of("/usr/include/bpf/bpf_helpers.h")), "libbpf-dev is not installed (run scripts/setup-ci)");
        Path vmlinux = WORK.resolve("vmlinux.h");
        RealKernel.Result dump = RealKernel.run(WORK, "sh", "-c", bpftool + " btf dump file " + Capabilities.BTF_VMLINUX + " format c > " + vmlinux);
        assertEquals(0, dump.status(), dump.output());
        String targetArch = Arch.current() == Arch.X86_64 ? "x86" : "arm64";
        Path object = WORK.resolve("mthp4j_policy.bpf.o");
        RealKernel.Result cc = RealKernel.run(WORK, clang.toString(), "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_" + targetArch,
                "-Wall", "-Werror", "-I" + WORK, "-I" + HEADER_DIR, "-c", MODULE.resolve("src/main/bpf/mthp4j_policy.bpf.c").toString(),
                "-o", object.toString());
        assertEquals(0, cc.status(), cc.output());
        String elf = new String(readAll(object), java.nio.charset.StandardCharsets.ISO_8859_1);
        for (String section : List.of("struct_ops/thp_get_order", "struct_ops/mthp_choose", ".struct_ops.link", ".maps", PolicyMap.MAP_NAME)) {
            assertTrue(elf.contains(section), "the object has " + section);
        }
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
