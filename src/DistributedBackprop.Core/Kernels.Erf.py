"""Fits the polynomials behind Kernels.Erf.cs (run: /usr/bin/python3 Kernels.Erf.py; needs mpmath).

erfc(a) = exp(-a^2) S(t) / (1 + 2a) for a >= 0, with t = (a - K) / (a + K) mapping [0, inf) onto [-1, 1)
(Shepherd and Laframboise, Math. Comp. 36 (1981)): S(t) = (1 + 2a) exp(a^2) erfc(a) runs smoothly from 1 at
t = -1 to 2/sqrt(pi) at t = 1, so one polynomial in t covers the whole half-line. S is fitted by Chebyshev
interpolation (mpmath.chebyfit) at 40 digits; the coefficients are printed highest degree first, for Horner,
and each set is checked in double arithmetic against mpmath at 4001 points.
"""
import mpmath as mp

mp.mp.dps = 40


def s_of(k):
    def s(t):
        if t == 1:
            return 2 / mp.sqrt(mp.pi)
        a = k * (1 + t) / (1 - t)
        return (1 + 2 * a) * mp.exp(a * a) * mp.erfc(a)
    return s


def fit(name, k, terms):
    poly, err = mp.chebyfit(s_of(k), [-1, 1], terms, error=True)
    coefficients = [float(c) for c in poly]
    worst = 0
    for i in range(4001):
        t = -1 + 2 * i / 4000
        p = 0.0
        for c in coefficients:
            p = p * t + c
        exact = s_of(k)(mp.mpf(t))
        worst = max(worst, abs((p - exact) / exact))
    print(f"// {name}: K = {k}, degree {terms - 1}; fit error {mp.nstr(err, 3)}, in double {mp.nstr(worst, 3)}")
    print(f"private static readonly double[] {name} = [")
    for i in range(0, len(coefficients), 4):
        print("    " + ", ".join(repr(c) for c in coefficients[i:i + 4]) + ",")
    print("];")


fit("ForFloat", 3.0, 13)
fit("ForDouble", 3.75, 25)
ln2 = mp.log(2)
print("// ln 2 beyond the double nearest it:", repr(float(ln2 - mp.mpf(float(ln2)))), "double:", repr(float(ln2)))
