package dev.diffuse4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr: {@code label [#####.....] 12/50 1.23 it/s ETA 0:31}. On a
 * terminal the line redraws in place; otherwise (logs, CI) it prints a line per 10% so output stays
 * readable. An optional note (e.g. the guidance loss) is appended.
 */
public final class ProgressBar {
    private final PrintWriter out;
    private final String label;
    private final int total;
    private final boolean interactive;
    private final long start = System.nanoTime();
    private int lastDecile = -1;

    public ProgressBar(PrintWriter out, String label, int total) {
        this(out, label, total, System.console() != null);
    }

    ProgressBar(PrintWriter out, String label, int total, boolean interactive) {
        this.out = out;
        this.label = label;
        this.total = Math.max(total, 1);
        this.interactive = interactive;
    }

    public void update(int done) { update(done, null); }

    public void update(int done, String note) {
        double secs = (System.nanoTime() - start) / 1e9;
        double rate = done > 0 ? done / secs : 0;
        String line = render(done, rate, note);
        if (interactive) {
            out.print("\r" + line);
            if (done >= total) out.println();
        } else {
            int decile = done * 10 / total;
            if (decile != lastDecile || done >= total) {
                lastDecile = decile;
                out.println(line);
            }
        }
        out.flush();
    }

    String render(int done, double itPerSec, String note) {
        int width = 24, fill = (int) ((long) Math.min(done, total) * width / total);
        String rate = itPerSec >= 1 || itPerSec == 0 ? String.format(Locale.ROOT, "%.2f it/s", itPerSec)
                : String.format(Locale.ROOT, "%.2f s/it", 1 / itPerSec);
        String eta = itPerSec > 0 && done < total ? " ETA " + clock((total - done) / itPerSec) : "";
        return String.format(Locale.ROOT, "%s [%s%s] %d/%d %s%s%s", label, "#".repeat(fill), ".".repeat(width - fill),
                done, total, rate, eta, note == null ? "" : " " + note);
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
