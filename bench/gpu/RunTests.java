import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

/**
 * Runs the JUnit tests of a package (default dev.diffuse4j.runtime.cuda) on a machine without
 * Maven, printing one line per test and Surefire's style of summary; exits 1 on any failure.
 *
 * usage: RunTests [package [class-name regex]]
 */
public final class RunTests {
    public static void main(String[] args) {
        String pkg = args.length > 0 ? args[0] : "dev.diffuse4j.runtime.cuda";
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request().selectors(selectPackage(pkg));
        if (args.length > 1) b.filters(ClassNameFilter.includeClassNamePatterns(args[1]));
        LauncherDiscoveryRequest req = b.build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        TestExecutionListener printer = new TestExecutionListener() {
            @Override public void executionSkipped(TestIdentifier id, String reason) {
                System.out.println("[test] SKIPPED " + name(id) + ": " + reason);
            }

            @Override public void executionFinished(TestIdentifier id, TestExecutionResult r) {
                if (!id.isTest() && r.getStatus() == TestExecutionResult.Status.SUCCESSFUL) return;
                String why = r.getThrowable().map(t -> ": " + t).orElse("");
                System.out.println("[test] " + r.getStatus() + " " + name(id) + why);
            }

            private String name(TestIdentifier id) {
                String u = id.getUniqueId();
                int c = u.indexOf("[class:");
                String cls = c < 0 ? "" : u.substring(c + 7, u.indexOf(']', c)).replaceAll(".*\\.", "");
                return cls + " " + id.getDisplayName();
            }
        };
        launcher.execute(req, summary, printer);
        TestExecutionSummary s = summary.getSummary();
        PrintWriter out = new PrintWriter(System.out, true);
        s.printFailuresTo(out, 20);
        s.printTo(out);
        long failed = s.getTestsFailedCount();
        out.printf("Tests run: %d, Failures: %d, Errors: 0, Skipped: %d%n", s.getTestsStartedCount(), failed, s.getTestsSkippedCount() + s.getTestsAbortedCount());
        out.printf("%d passed, %d failed, %d skipped%n", s.getTestsSucceededCount(), failed, s.getTestsSkippedCount() + s.getTestsAbortedCount());
        System.exit(failed > 0 || s.getTestsStartedCount() == 0 ? 1 : 0);
    }
}
