package io.mthp4j.core.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The host enforcer's record of the original THP knob values, on disk so that a later start (or
 * {@code mthp4j restore}) can put them back after the daemon was killed. One {@code <knob> <value>} line per
 * managed knob, written to a temporary file (mode 0600, in a directory of mode 0700), synced and renamed into
 * place. Reading accepts only the knobs an enforcer may manage (top-level {@code enabled} and per-size
 * {@code hugepages-<N>kB/enabled}) with their sysfs words, so a damaged or hostile file can never make mthp4j
 * write another knob ({@code anon_beside_full} above all, linux-interfaces.md §10.2).
 */
final class HostStateFile {

    static final String HEADER = "# mthp4j host THP enforcement: the original knob values; `mthp4j restore` writes them back";
    static final String VERSION = "version 1";

    private static final Pattern KNOB = Pattern.compile("enabled|hugepages-[1-9][0-9]*kB/enabled");
    private static final Set<String> TOP_VALUES = Set.of("always", "madvise", "never");
    private static final Set<String> SIZE_VALUES = Set.of("always", "inherit", "madvise", "never");

    private HostStateFile() {
    }

    /** Whether an enforcer may manage {@code knob} (a path relative to the THP sysfs directory). */
    static boolean isManageable(String knob) {
        return KNOB.matcher(knob).matches();
    }

    /** Checks one knob and value as the state file may hold them. */
    static void check(Path file, String knob, String value) {
        if (!isManageable(knob)) {
            throw new IllegalStateException(file + " names the knob \"" + knob + "\", which mthp4j never manages (only enabled"
                    + " and hugepages-<N>kB/enabled); the file is damaged: check the knobs by hand and delete it");
        }
        Set<String> allowed = knob.equals("enabled") ? TOP_VALUES : SIZE_VALUES;
        if (!allowed.contains(value)) {
            throw new IllegalStateException(file + " gives \"" + value + "\" for " + knob + ", expected one of " + allowed
                    + "; the file is damaged: check the knobs by hand and delete it");
        }
    }

    /** Writes {@code originals} (knob → sysfs word) atomically with mode 0600. */
    static void write(Path file, Map<String, String> originals, long pid) {
        StringBuilder b = new StringBuilder(HEADER).append('\n').append(VERSION).append('\n').append("pid ").append(pid).append('\n');
        originals.forEach((knob, value) -> {
            check(file, knob, value);
            b.append(knob).append(' ').append(value).append('\n');
        });
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Files.deleteIfExists(tmp);
            try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer bytes = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.US_ASCII));
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot record the original THP settings in " + file + " (" + e
                    + "); no knob was changed. Make its directory writable or choose another state file", e);
        }
    }

    /** The recorded originals, or null if there is no state file. */
    static Map<String, String> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the THP state file " + file + ": " + e, e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        boolean versioned = false;
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#") || line.startsWith("pid ")) {
                continue;
            }
            if (line.equals(VERSION)) {
                versioned = true;
                continue;
            }
            String[] kv = line.strip().split(" ");
            if (kv.length != 2) {
                throw new IllegalStateException(file + " has a line mthp4j did not write: \"" + line
                        + "\"; check the knobs by hand and delete the file");
            }
            check(file, kv[0], kv[1]);
            out.put(kv[0], kv[1]);
        }
        if (!versioned) {
            throw new IllegalStateException(file + " has no \"" + VERSION + "\" line: not a state file of this mthp4j version;"
                    + " check the knobs by hand and delete it");
        }
        return out;
    }

    /** The pid recorded in the file, or -1. */
    static long pid(Path file) {
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                if (line.startsWith("pid ")) {
                    return Long.parseLong(line.substring(4).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new IllegalStateException("cannot delete the THP state file " + file + ": " + e, e);
        }
    }
}
