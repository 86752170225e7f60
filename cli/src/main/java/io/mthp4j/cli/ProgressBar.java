package io.mthp4j.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on the terminal's error stream ({@code \r}-redrawn), shown only when the command
 * runs on a terminal ({@code System.console() != null}); when piped, {@link #NONE} draws nothing.
 */
public interface ProgressBar {

    /** Draws nothing. */
    ProgressBar NONE = new ProgressBar() {
        @Override
        public void update(long done, long total, String what) {
        }

        @Override
        public void finish() {
        }
    };

    /** Shows {@code done} of {@code total} with a label. */
    void update(long done, long total, String what);

    /** Clears the line. */
    void finish();

    /** A bar drawn on {@code err}, redrawn at most when the shown percentage or label changes. */
    static ProgressBar on(PrintStream err) {
        return new ProgressBar() {
            private int lastPercent = -1;
            private String lastWhat = "";
            private int width;

            @Override
            public void update(long done, long total, String what) {
                int percent = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
                if (percent == lastPercent && what.equals(lastWhat)) {
                    return;
                }
                lastPercent = percent;
                lastWhat = what;
                int filled = percent * 30 / 100;
                String line = String.format(Locale.ROOT, "\r[%s%s] %3d%%  %s", "#".repeat(filled), " ".repeat(30 - filled),
                        percent, what);
                int pad = Math.max(0, width - line.length());
                width = line.length();
                err.print(line + " ".repeat(pad));
                err.flush();
            }

            @Override
            public void finish() {
                if (width > 0) {
                    err.print("\r" + " ".repeat(width) + "\r");
                    err.flush();
                    width = 0;
                }
            }
        };
    }
}
