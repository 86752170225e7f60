package io.mthp4j.api;

/**
 * Text read from a sysfs or procfs file is not in the format the kernel writes. The message names the
 * file, quotes the text and says what was expected; nothing was changed.
 */
public class SysfsFormatException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String file;
    private final String text;

    public SysfsFormatException(String file, String text, String problem) {
        super("malformed text in " + file + ": \"" + escape(text) + "\" (" + problem + ")");
        this.file = file;
        this.text = text;
    }

    /** The file the text came from. */
    public String file() {
        return file;
    }

    /** The text as read. */
    public String text() {
        return text;
    }

    static String escape(String text) {
        if (text == null) {
            return "<missing>";
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && i < 200; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        if (text.length() > 200) {
            out.append("...");
        }
        return out.toString();
    }
}
