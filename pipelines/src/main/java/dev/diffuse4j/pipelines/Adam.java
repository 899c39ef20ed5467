package dev.diffuse4j.pipelines;

/** torch.optim.Adam (no weight decay, no amsgrad) over one flat parameter vector. */
final class Adam {
    private final double lr, beta1 = 0.9, beta2 = 0.999, eps;
    private final double[] m, v;
    private int t;

    Adam(int size, double lr, double eps) {
        this.lr = lr;
        this.eps = eps;
        this.m = new double[size];
        this.v = new double[size];
    }

    /** One step: {@code p -= lr * mhat / (sqrt(vhat) + eps)} with bias-corrected moments. */
    void step(double[] p, double[] grad) {
        t++;
        double c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < p.length; i++) {
            m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i];
            p[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
        }
    }
}
