#!/usr/bin/env python3
"""Fits the polynomial coefficients of runtime/.../cpu/VecMath.java (needs numpy and mpmath).

exp:  e^r = 1 + r + r^2 Q(r) on |r| <= ln2/2, Q of degree 4, minimising the relative error of e^r.
erfc: erfc(z) = t exp(-z^2 + P(2t - 1)), t = 1/(1 + z/2), z >= 0, P of degree 11, minimising the
      absolute error of the exponent (= relative error of erfc).
Both are weighted least squares on Chebyshev nodes followed by Lawson iterations, which drive the
fit towards the minimax (equi-ripple) solution. Coefficients are printed as float32 literals.
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def cheb_nodes(a, b, n):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)


def lawson(x, y, degree, weight, iterations=200):
    a = np.stack([x ** k for k in range(degree + 1)], 1)
    w = np.ones_like(x)
    for _ in range(iterations):
        sw = np.sqrt(w) * weight
        c, *_ = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)
        err = np.abs((a @ c - y) * weight)
        w = w * err
        w /= w.sum()
    return c, err.max()


def f32(c):
    return ", ".join(repr(float(np.float32(v))) + "f" for v in c)


r = cheb_nodes(-np.log(2) / 2, np.log(2) / 2, 4000)
q = np.array([float((mp.exp(mp.mpf(v)) - 1 - mp.mpf(v)) / mp.mpf(v) ** 2) for v in r])
c, err = lawson(r, q, 4, r ** 2 / np.exp(r))
print(f"exp Q0..Q4 (max relative error of e^r {err:.2e}):\n  {f32(c)}")

t = cheb_nodes(1e-6, 1.0, 6000)
g = np.array([float(mp.log(mp.erfc(z) / mp.mpf(tt)) + z * z) for tt in t for z in [(1 / mp.mpf(tt) - 1) * 2]])
c, err = lawson(2 * t - 1, g, 11, np.ones_like(t))
print(f"erfc P0..P11 in s = 2t - 1 (max error of the exponent {err:.2e}):\n  {f32(c)}")
