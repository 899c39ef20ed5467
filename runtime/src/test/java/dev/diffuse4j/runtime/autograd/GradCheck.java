package dev.diffuse4j.runtime.autograd;

import dev.diffuse4j.runtime.Scope;
import dev.diffuse4j.runtime.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks a backward rule: the runtime forward runs under a {@link Tape} with the chosen inputs
 * watched, is seeded with random weights w, and every element of every watched input's analytic
 * gradient is compared with the central difference (L(x+h) - L(x-h)) / 2h of L = sum(w * f(x)),
 * where f is an independent float64 reference of the op's forward.
 */
final class GradCheck {
    private GradCheck() {}

    static final double H = 1e-4;

    static void check(String name, List<Nd> inputs, boolean[] watch, Function<List<Nd>, Nd> ref,
                      Function<List<Tensor>, Tensor> runtime, double tol) {
        Nd expectedOut = ref.apply(inputs);
        Nd w = Nd.random(new Random(name.hashCode()), expectedOut.shape());
        List<double[]> analytic = new ArrayList<>();
        try (Scope s = Scope.open(); Tape tape = Tape.record()) {
            List<Tensor> ts = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                Tensor t = inputs.get(i).tensor();
                ts.add(watch[i] ? tape.watch(t) : t);
            }
            Tensor y = runtime.apply(ts);
            assertArrayEquals(expectedOut.shape(), y.shape(), name + ": output shape");
            Nd got = Nd.of(y);
            double fmax = maxAbs(expectedOut.v());
            for (int i = 0; i < got.v().length; i++)
                if (Math.abs(got.v()[i] - expectedOut.v()[i]) > 1e-4 * Math.max(1, fmax))
                    fail(name + ": forward differs from the float64 reference at " + i + ": " + got.v()[i] + " vs " + expectedOut.v()[i]);
            Gradients g = tape.backward(Map.of(y, w.tensor()));
            for (int i = 0; i < inputs.size(); i++) analytic.add(watch[i] ? Nd.of(g.of(ts.get(i))).v() : null);
        }
        for (int i = 0; i < inputs.size(); i++) {
            if (!watch[i]) continue;
            double[] fd = new double[inputs.get(i).v().length];
            for (int e = 0; e < fd.length; e++) {
                List<Nd> plus = perturbed(inputs, i, e, H), minus = perturbed(inputs, i, e, -H);
                fd[e] = (dot(w, ref.apply(plus)) - dot(w, ref.apply(minus))) / (2 * H);
            }
            double[] an = analytic.get(i);
            double scale = Math.max(maxAbs(fd), 1e-3), worst = 0;
            int at = -1;
            for (int e = 0; e < fd.length; e++) {
                double err = Math.abs(an[e] - fd[e]);
                if (err > worst) { worst = err; at = e; }
            }
            assertTrue(worst <= tol * scale, name + ": gradient of input " + i + " " + Arrays.toString(inputs.get(i).shape())
                    + " differs from finite differences by " + worst + " (scale " + scale + ") at element " + at
                    + (at >= 0 ? ": analytic " + an[at] + " vs " + fd[at] : ""));
        }
    }

    static void check(String name, List<Nd> inputs, Function<List<Nd>, Nd> ref, Function<List<Tensor>, Tensor> runtime) {
        boolean[] all = new boolean[inputs.size()];
        Arrays.fill(all, true);
        check(name, inputs, all, ref, runtime, 2e-3);
    }

    private static List<Nd> perturbed(List<Nd> in, int i, int e, double h) {
        List<Nd> out = new ArrayList<>(in);
        Nd c = in.get(i).copy();
        c.v()[e] += h;
        out.set(i, c);
        return out;
    }

    static double dot(Nd a, Nd b) {
        double s = 0;
        for (int i = 0; i < a.v().length; i++) s += a.v()[i] * b.v()[i];
        return s;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) m = Math.max(m, Math.abs(x));
        return m;
    }
}
