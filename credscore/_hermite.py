"""The quintic Hermite interpolant of a CDF on one grid cell, shared by the numpy reference
(:mod:`credscore.posterior`) and the compiled pass (:mod:`credscore.kernel`, which compiles these
same functions). Plain arithmetic: works on floats and on numpy arrays."""


def quintic(y0, y1, d0, d1, s0, s1, t):
    """Quintic Hermite interpolant on [0, 1] (values, slopes and curvatures scaled to the cell)."""
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    t5 = t4 * t
    return ((1 - 10 * t3 + 15 * t4 - 6 * t5) * y0 + (t - 6 * t3 + 8 * t4 - 3 * t5) * d0
            + (0.5 * t2 - 1.5 * t3 + 1.5 * t4 - 0.5 * t5) * s0 + (0.5 * t3 - t4 + 0.5 * t5) * s1
            + (-4 * t3 + 7 * t4 - 3 * t5) * d1 + (10 * t3 - 15 * t4 + 6 * t5) * y1)


def quintic_slope(y0, y1, d0, d1, s0, s1, t):
    """The derivative in t of :func:`quintic`."""
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    return ((-30 * t2 + 60 * t3 - 30 * t4) * y0 + (1 - 18 * t2 + 32 * t3 - 15 * t4) * d0
            + (t - 4.5 * t2 + 6 * t3 - 2.5 * t4) * s0 + (1.5 * t2 - 4 * t3 + 2.5 * t4) * s1
            + (-12 * t2 + 28 * t3 - 15 * t4) * d1 + (30 * t2 - 60 * t3 + 30 * t4) * y1)
