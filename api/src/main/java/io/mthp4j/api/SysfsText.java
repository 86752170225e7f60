package io.mthp4j.api;

/**
 * The kernel's sysfs text formats, both ways (kernel-semantics.md §3.2): multi-choice files show every
 * choice separated by one space with the current one in brackets ({@code always [madvise] never}); writes
 * are compared with {@code sysfs_streq} (one trailing newline accepted); numbers are parsed like
 * {@code kstrtoul(buf, 10)}. Used by both backends so the real and the fake kernel agree.
 */
public final class SysfsText {

    private SysfsText() {
    }

    /**
     * Parses a shown multi-choice file. Choices the kernel may add later are tolerated when not selected;
     * the bracketed one must be known.
     *
     * @throws SysfsFormatException naming the file and quoting the text
     */
    public static <E extends Enum<E> & SysfsChoice> E parseChoice(String file, String text, Class<E> type) {
        if (text == null) {
            throw new SysfsFormatException(file, null, "file missing or unreadable");
        }
        String body = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        if (body.isEmpty()) {
            throw new SysfsFormatException(file, text, "empty; expected e.g. \"" + example(type) + "\"");
        }
        E current = null;
        for (String token : body.split(" ", -1)) {
            boolean bracketed = token.length() > 2 && token.startsWith("[") && token.endsWith("]");
            String word = bracketed ? token.substring(1, token.length() - 1) : token;
            if (word.isEmpty() || word.indexOf('[') >= 0 || word.indexOf(']') >= 0 || !word.chars().allMatch(SysfsText::isWordChar)) {
                throw new SysfsFormatException(file, text, "bad token \"" + SysfsFormatException.escape(token)
                        + "\"; expected e.g. \"" + example(type) + "\"");
            }
            if (bracketed) {
                if (current != null) {
                    throw new SysfsFormatException(file, text, "more than one value in brackets");
                }
                current = lookup(type, word);
                if (current == null) {
                    throw new SysfsFormatException(file, text, "current value \"" + word + "\" is not one of " + choices(type));
                }
            }
        }
        if (current == null) {
            throw new SysfsFormatException(file, text, "no value in brackets; expected e.g. \"" + example(type) + "\"");
        }
        return current;
    }

    /** The text the kernel shows for {@code current}, with a trailing newline. */
    public static <E extends Enum<E> & SysfsChoice> String showChoice(E current) {
        StringBuilder out = new StringBuilder();
        for (E choice : current.getDeclaringClass().getEnumConstants()) {
            if (out.length() > 0) {
                out.append(' ');
            }
            out.append(choice == current ? "[" + choice.sysfsName() + "]" : choice.sysfsName());
        }
        return out.append('\n').toString();
    }

    /**
     * The choice a write selects, compared as {@code sysfs_streq} does.
     *
     * @throws KernelException EINVAL, as the kernel's store function returns, naming the file and the choices
     */
    public static <E extends Enum<E> & SysfsChoice> E acceptChoice(String file, String written, Class<E> type) {
        for (E choice : type.getEnumConstants()) {
            if (sysfsStreq(written, choice.sysfsName())) {
                return choice;
            }
        }
        throw new KernelException(writeOp(written), file, Errno.EINVAL, "accepted: " + choices(type));
    }

    /** {@code sysfs_streq}: equal, ignoring one trailing newline on either side. */
    public static boolean sysfsStreq(String a, String b) {
        return strip(a).equals(strip(b));
    }

    /**
     * Parses a shown unsigned decimal number ({@code %lu\n}).
     *
     * @throws SysfsFormatException naming the file and quoting the text
     */
    public static long parseNumber(String file, String text) {
        if (text == null) {
            throw new SysfsFormatException(file, null, "file missing or unreadable");
        }
        String body = strip(text);
        if (body.isEmpty() || body.length() > 20 || !body.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new SysfsFormatException(file, text, "expected an unsigned decimal number");
        }
        try {
            return Long.parseLong(body);
        } catch (NumberFormatException e) {
            throw new SysfsFormatException(file, text, "number does not fit in a signed 64-bit long");
        }
    }

    /**
     * Parses a written number as {@code kstrtoul(buf, 10)} / {@code kstrtouint} do: an optional {@code +},
     * decimal digits, an optional trailing newline.
     *
     * @param max the largest value of the kernel's type ({@code UINT_MAX} for {@code kstrtouint})
     * @throws KernelException EINVAL for anything else, ERANGE above {@code max}
     */
    public static long acceptUnsigned(String file, String written, long max) {
        String body = strip(written);
        if (body.startsWith("+")) {
            body = body.substring(1);
        }
        if (body.isEmpty() || !body.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new KernelException(writeOp(written), file, Errno.EINVAL, "expected an unsigned decimal number");
        }
        long value;
        try {
            value = Long.parseLong(body);
        } catch (NumberFormatException e) {
            throw new KernelException(writeOp(written), file, Errno.ERANGE, "the largest accepted value is " + max);
        }
        if (value > max) {
            throw new KernelException(writeOp(written), file, Errno.ERANGE, "the largest accepted value is " + max);
        }
        return value;
    }

    /** The operation text of a write, for messages: {@code write "value"}. */
    public static String writeOp(String written) {
        return "write \"" + SysfsFormatException.escape(written) + "\"";
    }

    /** The choices of a file, space-separated, in display order. */
    public static <E extends Enum<E> & SysfsChoice> String choices(Class<E> type) {
        StringBuilder out = new StringBuilder();
        for (E choice : type.getEnumConstants()) {
            out.append(out.length() > 0 ? " " : "").append(choice.sysfsName());
        }
        return out.toString();
    }

    private static <E extends Enum<E> & SysfsChoice> String example(Class<E> type) {
        return showChoice(type.getEnumConstants()[0]).strip();
    }

    private static <E extends Enum<E> & SysfsChoice> E lookup(Class<E> type, String word) {
        for (E choice : type.getEnumConstants()) {
            if (choice.sysfsName().equals(word)) {
                return choice;
            }
        }
        return null;
    }

    private static boolean isWordChar(int c) {
        return c > ' ' && c < 0x7f;
    }

    private static String strip(String s) {
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
