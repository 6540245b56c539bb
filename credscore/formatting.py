"""Numbers as people read them: significant figures, separators, scale words, claims as written.

Every number credscore prints (``Estimate`` repr, ``Table.to_text``,
``FusionResult.summary``, plot titles, the command line) goes through this
module. The rules:

**Digits the interval supports.** An estimate printed beside its credible
interval ``[low, high]`` is rounded to two significant digits of the
interval's half-width ``(high - low) / 2`` (half-width 1,316 → hundreds:
``10,600 [9,400, 12,100]``), but never to fewer than two significant digits
of the number itself (``3.5 [0.17, 70]``, not ``3 [0, 70]``) and never to
more than ten. :func:`estimate_resolution` gives the rounding unit. Rounding
is to the nearest multiple of a power of ten (half to even), so the printed
interval always contains the printed median.

**Shapes.** Thousands separators (``10,600``); words for millions,
billions and trillions when the number has at most three decimals in that
unit (``16 million``, ``1.87 billion``; ``8,336,817`` stays in digits);
plain decimals down to 1e-4 (``0.00012``); exponent notation only outside
[1e-4, 1e15) (``1.2e-300``, ``3e20``). Negative numbers use the ASCII minus
(``-5``) so that everything printed reads back with
:func:`credscore.parse_number`; for the same reason a trailing zero that
would make a number read like a European thousands group is dropped
(``1.50``, not ``1.500``). NaN prints as ``n/a``, infinities as ``∞``.

**Claims as written.** :func:`format_claim` writes a claim in the words of
its kind: ``"10,900"``, ``"around 10,000"``, ``"up to 10,000"``, ``"more
than 62"``, ``"5,000–6,000"``; its number is printed in full (the shortest
representation that reads back exactly).

**Moments only where they mean something** (:func:`moments_meaningful`). A
posterior mean and standard deviation are shown only when the sd is at most
:data:`HEAVY_TAIL_FACTOR` times the sd a normal distribution with the same
credible interval would have, ``(high - low) / (2 z)`` with ``z`` the normal
quantile of ``(1 + level) / 2``, and the mean lies inside the interval.
Otherwise a heavy tail dominates them (claims ``100, 100, 5000`` give the
interval [54, 144] but sd 7,496) and text output says ``heavy tail`` instead.

Examples
--------
>>> format_estimate(10621.7, 9419.08, 12051.5, unit="soldiers")
'10,600 [9,400, 12,100] soldiers'
>>> format_estimate(1.60591e7, 1.49693e6, 1.86705e9, unit="USD/year")
'16 million [1.5 million, 1.87 billion] USD/year'
>>> format_claim("upper", 1.15e8, None, None)
'up to 115 million'
>>> format_number(3.4641, sig=2, unit="brigades")
'3.5 brigades'
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

import numpy as np

__all__ = [
    "HEAVY_TAIL_FACTOR",
    "MAX_SIGNIFICANT",
    "estimate_resolution",
    "format_claim",
    "format_estimate",
    "format_estimate_parts",
    "format_number",
    "format_probability",
    "format_signed",
    "moments_meaningful",
    "plural",
]

#: The sd may be at most this many times the sd implied by the credible
#: interval (``(high - low) / (2 z)``) for the mean and sd to be shown.
HEAVY_TAIL_FACTOR = 2.0

#: At most this many significant digits are printed beside an interval.
MAX_SIGNIFICANT = 10

#: Claim kinds and the words they are written with (ranges use a dash).
CLAIM_WORDS = {"point": "", "approx": "around ", "upper": "up to ", "lower": "more than "}

_WORDS = {2: "million", 3: "billion", 4: "trillion"}
_CTX = Context(prec=60, rounding=ROUND_HALF_EVEN)


def _finite(x: Any) -> float | None:
    """``x`` as a float, or None when it is None or NaN; infinities stay."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _msd(x: float) -> int:
    """Exponent of the most significant decimal digit of a finite non-zero ``x`` (exact)."""
    return Decimal(x).adjusted()


def _check_sig(sig: Any) -> int:
    if isinstance(sig, bool) or int(sig) != sig or sig < 1:
        raise ValueError(f"`sig` must be a positive integer; got {sig!r}.")
    return int(sig)


def _render(x: float, place: int, words: bool = True) -> str:
    """``x`` rounded to a multiple of ``10**place`` and written for people."""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    q = Decimal(1).scaleb(place, _CTX)
    exact = Decimal(x)
    d = _CTX.quantize(exact, q)
    if not d.is_zero() and d.adjusted() > exact.adjusted() and place < d.adjusted():
        place += 1  # a carry (9.96 -> 10.0): the value is a power of ten, drop the extra zero
    if d.is_zero():
        return "0" if place >= 0 else "0." + "0" * (-place)
    a = abs(d)
    e = d.adjusted()
    if a >= Decimal("1e15") or a < Decimal("1e-4"):
        mant = d.scaleb(-e, _CTX)
        return _unambiguous(f"{mant:.{max(e - place, 0)}f}") + f"e{e}"
    if words and a >= Decimal("1e6"):
        k = min(e // 3, 4)
        decimals = 3 * k - place
        if decimals <= 3:
            mant = d.scaleb(-3 * k, _CTX)
            return _unambiguous(f"{mant:.{max(decimals, 0)}f}") + f" {_WORDS[k]}"
    return _unambiguous(f"{d:,.{max(-place, 0)}f}")


_AMBIGUOUS = re.compile(r"-?[1-9][0-9]{0,2}\.[0-9]{2}0")


def _unambiguous(text: str) -> str:
    """Drop the last zero of ``1.500``: a dot before three digits reads as a thousands separator in many languages."""
    return text[:-1] if _AMBIGUOUS.fullmatch(text) else text


def _shortest_place(x: float) -> int:
    """Place of the last digit of the shortest representation of ``x`` that reads back exactly."""
    return Decimal(repr(float(x))).normalize(_CTX).as_tuple().exponent


def _with_unit(text: str, unit: str | None) -> str:
    return f"{text} {unit}" if unit else text


def format_number(x: Any, *, sig: int | None = None, unit: str | None = None) -> str:
    """One number as people read it.

    Parameters
    ----------
    x : float
        The number (NaN or None print as ``'n/a'``, infinities as ``'∞'``).
    sig : int, optional
        Significant digits. Default: all the digits of the shortest
        representation that reads back exactly (how a claim was written).
    unit : str, optional
        Appended after a space.

    Returns
    -------
    str
        With thousands separators, scale words from a million up to
        trillions, and exponent notation only outside [1e-4, 1e15) (see the
        module docstring).

    Raises
    ------
    ValueError
        If ``sig`` is not a positive integer.

    Examples
    --------
    >>> format_number(10621.7, sig=3)
    '10,600'
    >>> format_number(8e6), format_number(1.3e6, unit="soldiers"), format_number(1234567)
    ('8 million', '1.3 million soldiers', '1,234,567')
    >>> format_number(-0.000123), format_number(1.2e-300), format_number(3e20)
    ('-0.000123', '1.2e-300', '3e20')
    >>> format_number(float("nan"))
    'n/a'
    """
    if sig is not None:
        sig = _check_sig(sig)
    v = _finite(x)
    if v is None:
        return _with_unit("n/a", unit)
    if v == 0 or math.isinf(v):
        return _with_unit(_render(v, 0), unit)
    place = _shortest_place(v) if sig is None else _msd(v) - sig + 1
    return _with_unit(_render(v, place), unit)


def _interval_place(low: float | None, high: float | None) -> int | None:
    """Place of two significant digits of the half-width of [low, high]; None when it is 0 or not finite."""
    if low is None or high is None:
        return None
    hw = (high - low) / 2.0
    if not math.isfinite(hw) or hw <= 0:
        return None
    return _msd(hw) - 1


def _place_beside(x: float, interval_place: int | None) -> int:
    """Rounding place of ``x`` printed beside an interval whose place is ``interval_place``."""
    if x == 0:
        return 0 if interval_place is None else interval_place
    own = _msd(x)
    if interval_place is None:  # an exact (zero-width) interval: the number's own digits, at most 6
        return max(_shortest_place(x), own - 5)
    return max(min(interval_place, own - 1), own - MAX_SIGNIFICANT + 1)


def estimate_resolution(x: float, low: float, high: float) -> float:
    """The rounding unit of ``x`` when printed beside the credible interval ``[low, high]``.

    Two significant digits of the half-width ``(high - low) / 2``, but at
    least two and at most :data:`MAX_SIGNIFICANT` significant digits of
    ``x`` itself; for a zero-width interval, the digits of ``x`` (at most
    six). The printed number is within half this unit of ``x``.

    Examples
    --------
    >>> estimate_resolution(10621.7, 9419.08, 12051.5)
    100.0
    >>> estimate_resolution(3.4641, 0.170983, 70.1825)
    0.1
    """
    v, lo, hi = _finite(x), _finite(low), _finite(high)
    if v is None or math.isinf(v):
        return math.nan
    return 10.0 ** _place_beside(v, _interval_place(lo, hi))


def format_estimate_parts(median: Any, low: Any, high: Any) -> tuple[str, str, str]:
    """The median and the interval bounds as three strings, to the digits the interval supports.

    Examples
    --------
    >>> format_estimate_parts(88.61, 0.482923, 1464.45)
    ('89', '0.48', '1,460')
    """
    lo, hi = _finite(low), _finite(high)
    ip = _interval_place(lo, hi)
    out = []
    for v in (_finite(median), lo, hi):
        if v is None:
            out.append("n/a")
        elif math.isinf(v):
            out.append(_render(v, 0))
        else:
            out.append(_render(v, _place_beside(v, ip)))
    return out[0], out[1], out[2]


def format_estimate(median: Any, low: Any, high: Any, unit: str | None = None) -> str:
    """An estimate and its credible interval: ``'10,600 [9,400, 12,100] soldiers'``.

    Parameters
    ----------
    median, low, high : float
        The estimate and the bounds of its interval.
    unit : str, optional
        Written after the interval.

    Returns
    -------
    str
        Every number rounded to the digits the interval supports (see
        :func:`estimate_resolution`); the printed interval contains the
        printed median.

    Examples
    --------
    >>> format_estimate(10621.7, 9419.08, 12051.5, "soldiers")
    '10,600 [9,400, 12,100] soldiers'
    >>> format_estimate(3.4641, 0.170983, 70.1825, "brigades")
    '3.5 [0.17, 70] brigades'
    >>> format_estimate(-3.27, -4.91, -1.6)
    '-3.3 [-4.9, -1.6]'
    """
    m, lo, hi = format_estimate_parts(median, low, high)
    return _with_unit(f"{m} [{lo}, {hi}]", unit)


def format_claim(kind: str, value: Any, low: Any, high: Any, *, unit: str | None = None) -> str:
    """A claim as it was written: ``'up to 10,000'``, ``'around 10,000'``, ``'5,000–6,000'``, ``'more than 62'``.

    Parameters
    ----------
    kind : {'point', 'approx', 'range', 'upper', 'lower'}
    value : float
        The stated number (ignored for a range).
    low, high : float
        The stated range (used only for a range).
    unit : str, optional
        Appended after a space.

    Returns
    -------
    str
        Numbers in full (:func:`format_number` without ``sig``); a range
        with an en dash, or ``'A to B'`` when a bound is negative; both ends
        of a range in digits when only the high end would take a scale word
        (``"500,000–2 million"`` would read as 500,000 million to 2 million).

    Raises
    ------
    ValueError
        If ``kind`` is not a claim kind.

    Examples
    --------
    >>> format_claim("point", 10900, None, None), format_claim("approx", 1e4, None, None)
    ('10,900', 'around 10,000')
    >>> format_claim("upper", 8e6, None, None, unit="shells"), format_claim("lower", 62, None, None)
    ('up to 8 million shells', 'more than 62')
    >>> format_claim("range", None, 5000, 6000), format_claim("range", None, -5, 3)
    ('5,000–6,000', '-5 to 3')
    >>> format_claim("range", None, 3e6, 4e6), format_claim("range", None, 500_000, 2e6)
    ('3 million–4 million', '500,000–2,000,000')
    """
    if kind == "range":
        lo, hi = _finite(low), _finite(high)
        dash = "–" if (lo is None or lo >= 0) and (hi is None or hi >= 0) else " to "
        lo_text, hi_text = format_number(low), format_number(high)
        if hi_text.endswith(tuple(_WORDS.values())) and not lo_text.endswith(tuple(_WORDS.values())):
            # "1–15.6 million" reads as 1 million to 15.6 million: the word on the high end alone
            # applies to both, so write both ends in digits
            lo_text, hi_text = (_render(v, _shortest_place(v), words=False) if v not in (None, 0.0) and
                                math.isfinite(v) else format_number(v) for v in (lo, hi))
        return _with_unit(f"{lo_text}{dash}{hi_text}", unit)
    if kind not in CLAIM_WORDS:
        raise ValueError(f"`kind` must be one of 'point', 'approx', 'range', 'upper', 'lower'; got {kind!r}.")
    return _with_unit(CLAIM_WORDS[kind] + format_number(value), unit)


def moments_meaningful(mean: Any, sd: Any, low: Any, high: Any, level: Any = 0.9) -> np.ndarray:
    """Whether a posterior mean and sd describe the estimate rather than a heavy tail.

    True where both are finite, the mean lies in ``[low, high]`` and ``sd <=
    HEAVY_TAIL_FACTOR * (high - low) / (2 z)``, with ``z`` the standard
    normal quantile of ``(1 + level) / 2`` (the sd a normal distribution with
    that credible interval would have). Vectorized (broadcasts).

    Parameters
    ----------
    mean, sd, low, high : array_like
    level : array_like
        The mass of the interval ``[low, high]``, in (0, 1).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> moments_meaningful([10_650, 10_640], [800, 4_324], 9_419, 12_051).tolist()
    [True, False]
    """
    from scipy.special import ndtri

    mean, sd, low, high = (np.asarray(a, float) for a in (mean, sd, low, high))
    level = np.asarray(level, float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        implied = (high - low) / (2.0 * ndtri((1.0 + level) / 2.0))
        ok = (np.isfinite(mean) & np.isfinite(sd) & (mean >= low) & (mean <= high)
              & (sd <= HEAVY_TAIL_FACTOR * implied))
    return np.asarray(ok, bool)


def format_probability(p: Any) -> str:
    """A probability with two decimals (``'0.49'``); NaN prints as ``''``.

    Examples
    --------
    >>> format_probability(0.4878), format_probability(1.0)
    ('0.49', '1.00')
    """
    v = _finite(p)
    return "" if v is None else f"{v:.2f}"


def format_signed(x: Any) -> str:
    """A signed diagnostic (a residual, an influence) with two decimals; ``'0.00'`` has no sign.

    Examples
    --------
    >>> format_signed(0.181), format_signed(-1.4e-05), format_signed(-1.42)
    ('+0.18', '0.00', '-1.42')
    """
    v = _finite(x)
    if v is None:
        return ""
    s = f"{v:+.2f}"
    return "0.00" if s in ("+0.00", "-0.00") else s


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``n`` and the noun in the right number: ``'1 claim'``, ``'9 claims'``, ``'1,200 claims'``.

    Examples
    --------
    >>> plural(1, "claim"), plural(2, "claim"), plural(3, "quantity", "quantities")
    ('1 claim', '2 claims', '3 quantities')
    """
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{n:,} {word}"
