package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.core.kernel.Pressure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reading and parsing the text files of procfs, sysfs and cgroupfs, with failures as KernelExceptions. */
final class ProcText {

    private ProcText() {
    }

    /**
     * The whole file.
     *
     * @throws KernelException ENOENT if it does not exist (a cgroup that vanished), EACCES, or EIO
     */
    static String read(Path file, String hintIfMissing) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new KernelException("read", file.toString(), Errno.ENOENT.value(), hintIfMissing, e);
        } catch (AccessDeniedException e) {
            throw new KernelException("read", file.toString(), Errno.EACCES.value(), null, e);
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            Errno errno = m.contains("No such device") ? Errno.ENODEV : m.contains("not supported") ? Errno.EOPNOTSUPP : Errno.EIO;
            throw new KernelException("read", file.toString(), errno.value(), e.toString(), e);
        }
    }

    /** {@code key value} lines ({@code /proc/vmstat}, {@code memory.stat}); non-numeric values are skipped. */
    static Map<String, Long> keyValues(String text) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int sp = line.indexOf(' ');
            if (sp <= 0) {
                continue;
            }
            try {
                out.put(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).strip()));
            } catch (NumberFormatException ignored) {
                // not a counter
            }
        }
        return out;
    }

    /**
     * A pressure file (kernel-semantics.md §10.1): {@code some avg10=A avg60=B avg300=C total=N} and the same
     * for {@code full}; a missing {@code full} line reads as zeros.
     */
    static Pressure pressure(Path file, String text) {
        Pressure.Line some = null;
        Pressure.Line full = new Pressure.Line(0, 0, 0, 0);
        for (String line : text.split("\n")) {
            if (line.startsWith("some ")) {
                some = line(file, line);
            } else if (line.startsWith("full ")) {
                full = line(file, line);
            }
        }
        if (some == null) {
            throw new KernelException("parse", file.toString(), Errno.EIO.value(), "no \"some\" line in \"" + text.strip() + "\"", null);
        }
        return new Pressure(some, full);
    }

    private static Pressure.Line line(Path file, String line) {
        double a10 = 0, a60 = 0, a300 = 0;
        long total = -1;
        for (String f : line.substring(5).split(" ")) {
            int eq = f.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String v = f.substring(eq + 1);
            try {
                switch (f.substring(0, eq)) {
                    case "avg10" -> a10 = Double.parseDouble(v);
                    case "avg60" -> a60 = Double.parseDouble(v);
                    case "avg300" -> a300 = Double.parseDouble(v);
                    case "total" -> total = Long.parseLong(v);
                    default -> { }
                }
            } catch (NumberFormatException e) {
                throw new KernelException("parse", file.toString(), Errno.EIO.value(), "bad field \"" + f + "\"", e);
            }
        }
        if (total < 0) {
            throw new KernelException("parse", file.toString(), Errno.EIO.value(), "no total= in \"" + line + "\"", null);
        }
        return new Pressure.Line(a10, a60, a300, total);
    }
}
