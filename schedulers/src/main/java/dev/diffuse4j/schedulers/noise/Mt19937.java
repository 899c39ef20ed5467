package dev.diffuse4j.schedulers.noise;

/**
 * The 32-bit Mersenne Twister (Matsumoto and Nishimura 1998), seeded with {@code init_genrand}: the
 * engine of PyTorch's CPU generator, and the same sequence as {@code std::mt19937} and numpy's legacy
 * {@code RandomState} for a 32-bit seed.
 */
public final class Mt19937 {
    private static final int N = 624, M = 397;
    private static final int MATRIX_A = 0x9908B0DF, UPPER = 0x80000000, LOWER = 0x7FFFFFFF;

    private final int[] state = new int[N];
    private int next = N;

    /** Seeds with the low 32 bits of {@code seed}, as PyTorch does with the 64-bit manual seed. */
    public Mt19937(long seed) {
        state[0] = (int) seed;
        for (int j = 1; j < N; j++) state[j] = 1812433253 * (state[j - 1] ^ (state[j - 1] >>> 30)) + j;
    }

    /** Next output as an unsigned 32-bit value held in an int. */
    public int nextInt() {
        if (next == N) twist();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y;
    }

    /** Next output as a non-negative long in [0, 2^32). */
    public long nextUnsigned() {
        return nextInt() & 0xFFFFFFFFL;
    }

    private void twist() {
        for (int k = 0; k < N; k++) {
            int y = (state[k] & UPPER) | (state[(k + 1) % N] & LOWER);
            state[k] = state[(k + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
        }
        next = 0;
    }
}
