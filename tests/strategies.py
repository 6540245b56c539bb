"""Hypothesis strategies for claim records (shared by the posterior property tests).

Every number is generated with an explicit ``precision`` (0 or a given
half-width), because precision inferred from trailing zeros is not invariant
under changes of units. Each generated case is a dict::

    {"records": [...], "priors": SourcePriors, "scale": "log" | "linear"}

with one or more quantities ("q0", "q1", ...) on the given scale, sources
"s0".."s5" (a few with their own reliability / error-scale priors) and a
``note`` field holding each record's original position (to follow rows
through permutations).
"""

from __future__ import annotations

from hypothesis import strategies as st

from credscore import ErrorScale, Reliability, SourcePriors

SOURCES = tuple(f"s{i}" for i in range(6))
#: Claim kinds drawn (points more often).
ALL_KINDS = ("point", "point", "point", "approx", "range", "upper", "lower")
#: Kinds whose statement interval moves with a shift of origin ("approx" widens
#: by 10 % of the value, which is not shift invariant on a linear scale).
SHIFT_KINDS = ("point", "point", "point", "range", "upper", "lower")


@st.composite
def claim_record(draw, quantity: str, scale: str, centre: float, kinds=ALL_KINDS):
    """One claim about ``quantity``: point, approx, range, upper or lower.

    On a log scale numbers are ``centre`` times a factor in [0.2, 5]
    (occasionally [0.01, 100], an outlier); on a linear scale ``centre`` plus
    an offset of a few units.
    """
    kind = draw(st.sampled_from(kinds))
    source = draw(st.sampled_from(SOURCES))
    outlier = draw(st.integers(0, 9)) == 0

    def number():
        if scale == "log":
            lim = 100.0 if outlier else 5.0
            f = draw(st.floats(1.0 / lim, lim, allow_nan=False, allow_infinity=False))
            return centre * f
        lim = 60 if outlier else 5
        # on a 1e-3 lattice: no subnormal or 1e-200-sized numbers (see the report on tiny scales)
        return centre + draw(st.integers(-1000 * lim, 1000 * lim)) / 1000.0

    rec = {"quantity": quantity, "source": source, "kind": kind, "scale": scale}
    if kind == "range":
        a, b = sorted((number(), number()))
        if b - a < 1e-6 * max(abs(a), abs(b), 1.0):
            b = a + max(abs(a), 1.0) * 0.05
        rec["low"], rec["high"] = a, b
        centre_v = 0.5 * (a + b)
    else:
        v = number()
        rec["value"] = v
        centre_v = v
        if kind in ("point", "approx"):
            # exact, or rounded with a small explicit half-width
            frac = draw(st.sampled_from([0.0, 0.0, 0.01, 0.05]))
            # relative on a log scale, absolute (units) on a linear one
            rec["precision"] = frac * abs(v) if scale == "log" else frac * 100.0
        else:
            rec["precision"] = 0
    if kind != "range" and draw(st.booleans()) and kind in ("point", "approx"):
        rel = draw(st.floats(0.02, 0.4))
        rec["se"] = rel * abs(centre_v) if scale == "log" else rel * 5.0
    elif kind == "range" and draw(st.integers(0, 3)) == 0:
        rec["se"] = 0.1 * abs(centre_v) if scale == "log" else 0.5
    return rec


@st.composite
def source_priors(draw, scale: str, default_sigma: bool = True) -> SourcePriors:
    """Default priors plus own priors for a few sources (some Student-t).

    ``default_sigma=False`` always gives an explicit error scale (the default
    linear scale falls back to 1e-3 of the claims' magnitude when they do not
    spread, which is not shift invariant).
    """
    default = Reliability(draw(st.sampled_from([0.6, 0.8, 0.95])), draw(st.sampled_from([2.0, 5.0, 20.0])))
    if scale == "log":
        sigma = draw(st.sampled_from([None, 0.1, 0.3] if default_sigma else [0.1, 0.3]))
    else:
        sigma = draw(st.sampled_from([None, 0.5, 2.0] if default_sigma else [0.5, 2.0]))
    own = {}
    for s in SOURCES[:3]:
        choice = draw(st.integers(0, 3))
        if choice == 1:
            own[s] = Reliability(draw(st.floats(0.3, 0.99)), 5.0)
        elif choice == 2:
            own[s] = ErrorScale(0.2 if scale == "log" else 1.0, df=draw(st.sampled_from([2.0, 4.0, 10.0])))
        elif choice == 3:
            own[s] = (Reliability(0.9, 10.0), ErrorScale(0.05 if scale == "log" else 0.5))
    return SourcePriors(default=default, error=ErrorScale(sigma), sources=own)


@st.composite
def claim_cases(draw, scale: str | None = None, max_quantities: int = 3, min_claims: int = 1, max_claims: int = 8,
                kinds=ALL_KINDS, default_sigma: bool = True):
    """A set of claim records about 1..``max_quantities`` quantities, with priors."""
    scale = scale or draw(st.sampled_from(["log", "linear"]))
    nq = draw(st.integers(1, max_quantities))
    records = []
    for i in range(nq):
        q = f"q{i}"
        if scale == "log":
            centre = 10.0 ** draw(st.floats(-2.0, 8.0))
        else:
            centre = draw(st.integers(-100_000, 100_000)) / 100.0
        n = draw(st.integers(min_claims, max_claims))
        for _ in range(n):
            records.append(draw(claim_record(q, scale, centre, kinds)))
    for k, r in enumerate(records):
        r["note"] = str(k)
    return {"records": records, "priors": draw(source_priors(scale, default_sigma)), "scale": scale}
