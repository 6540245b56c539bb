"""Rescaled model space for linear quantities of huge or tiny magnitude.

A linear quantity whose numbers are near the ends of the floating-point range
(``1e307``, ``-1e307``; ``1e-300``) cannot be modelled in its own units: the
prior span (ten spans of the claims each way) overflows, variances underflow,
and the answer comes back NaN or infinite. :func:`fuse` therefore models such
a quantity in units of a power of two, 2**k: every number stated about it
(values, bounds, standard errors, rounding, quantity priors) is divided by
2**k when the claim model is built, and every number reported (estimates,
intervals, moments, grids, trajectories, error scales and biases) is
multiplied back. Multiplying by a power of two only changes the binary
exponent, so both steps are exact, and the data seen by the model are the
same whatever k: multiplying every stated number by 2**j multiplies every
estimate by exactly 2**j.

The exponent is chosen per *attribute* (the family across which a source's
error scale and bias are learned), so the quantities that share those
parameters share their units; it is that of the attribute's largest stated
magnitude, and zero (no change at all) unless that magnitude lies outside
[2**-65, 2**64). Log-scale quantities are unaffected (their model space is
already the logarithm). The default prior range of a linear quantity is kept
within the largest finite float, so finite claims give finite answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from ._segments import segment_max

__all__ = ["SAFE_EXPONENT", "exponents", "scaled_claims", "scaled_quantity_priors", "natural",
           "natural_columns", "clip_prior", "model_claims", "natural_timeline"]

#: Linear attributes whose largest stated magnitude m has a binary exponent within ±SAFE_EXPONENT
#: (m = f 2**e, f in [0.5, 1): 2**-65 <= m < 2**64) are modelled in their own units.
SAFE_EXPONENT = 64

_MAX = np.finfo(float).max


def exponents(claims) -> np.ndarray:
    """Per quantity: the power of two k in whose units it is modelled (0 for log scale and ordinary magnitudes).

    Parameters
    ----------
    claims : ClaimSet

    Returns
    -------
    ndarray of int64
        One exponent per quantity; the quantities of one attribute share it.

    Examples
    --------
    >>> from credscore import ClaimSet
    >>> cs = ClaimSet.from_records([{"quantity": "a", "source": "s", "value": 1e300, "scale": "linear"},
    ...                             {"quantity": "b", "source": "s", "value": 1e300}])
    >>> exponents(cs).tolist()   # b is on the log scale
    [998, 0]
    """
    nq = claims.n_quantities
    k = np.zeros(nq, dtype=np.int64)
    lin = ~np.asarray(claims.log_scale, dtype=bool)
    if nq == 0 or not lin.any():
        return k
    mag = np.zeros(len(claims))
    for arr in (claims.lower_bound, claims.upper_bound, claims.value, claims.se, claims.precision):
        a = np.abs(np.asarray(arr, dtype=float))
        mag = np.maximum(mag, np.where(np.isfinite(a), a, 0.0))
    qa = np.asarray(claims.quantity_attribute, dtype=np.int64)
    na = int(qa.max()) + 1
    attr = qa[claims.quantity]
    sel = lin[claims.quantity]
    amax = segment_max(mag[sel], attr[sel], na, empty=0.0)
    _, e = np.frexp(amax)  # amax = m 2**e with m in [0.5, 1)
    ka = np.where((amax > 0) & (np.abs(e) > SAFE_EXPONENT), e, 0).astype(np.int64)
    return np.where(lin, ka[qa], 0)


def natural(x: Any, k: Any) -> np.ndarray:
    """x × 2**k, exactly (model units back to natural units; ``k`` broadcasts)."""
    return np.ldexp(np.asarray(x, dtype=float), np.asarray(k, dtype=np.int64))


def scaled_claims(claims, k: np.ndarray):
    """The ClaimSet with every number of quantity q divided by 2**k[q] (the same object when k is all 0)."""
    if not np.any(k):
        return claims
    kc = -k[claims.quantity]
    fields = ("value", "low", "high", "se", "precision", "lower_bound", "upper_bound")
    return attrs.evolve(claims, **{f: natural(getattr(claims, f), kc) for f in fields})


def model_claims(result):
    """The claims of a :class:`~credscore.FusionResult` in the units its model was fitted in."""
    k = getattr(result, "exponent", None)
    return result.claimset if k is None else scaled_claims(result.claimset, k)


def scaled_quantity_priors(priors: Mapping[str, Any], claims, k: np.ndarray) -> dict:
    """User quantity priors in model units: ``low``, ``high`` and ``mean`` of a linear quantity
    divided by 2**k (``sd`` too: on a linear quantity it is in natural units)."""
    out = dict(priors)
    if not np.any(k):
        return out
    for name, qp in priors.items():
        try:
            i = claims.quantity_index(name)
        except KeyError:
            continue  # reported by the model builder
        if k[i] == 0 or not hasattr(qp, "low"):
            continue
        f = lambda v: None if v is None else float(natural(v, -k[i]))  # noqa: E731
        out[name] = attrs.evolve(qp, low=f(qp.low), high=f(qp.high), mean=f(qp.mean), sd=f(qp.sd))
    return out


def clip_prior(model, k: np.ndarray, fixed: np.ndarray):
    """The model with each linear quantity's default prior and wild range kept within ±(largest
    float) in natural units, so that no quantile, moment or density of a finite claim set
    overflows; user-given (``fixed``) priors are kept."""
    lim = natural(_MAX, -k)
    lin = np.isfinite(lim) & ~fixed
    if not lin.any():
        return model
    clip = lambda a: np.where(lin, np.clip(a, -lim, lim), a)  # noqa: E731
    return attrs.evolve(model, prior_lo=clip(model.prior_lo), prior_hi=clip(model.prior_hi),
                        wild_lo=clip(model.wild_lo), wild_hi=clip(model.wild_hi))


def natural_columns(table, k_rows: np.ndarray, columns: Any, power: int = 1):
    """The :class:`~credscore.results.Table` with ``columns`` multiplied by 2**(power × k_rows)."""
    if not np.any(k_rows):
        return table
    from .results import Table

    data = dict(table.data)
    for c in columns:
        if c in data:
            data[c] = natural(data[c], power * np.asarray(k_rows))
    return Table(data)


_TRAJECTORY = ("median", "low", "high", "mean", "sd", "filtered_median", "filtered_low", "filtered_high",
               "filtered_mean")


def natural_timeline(tl, k: np.ndarray, qsel: Any = None):
    """A :class:`~credscore.timeline.Timeline` (fitted in model units) in natural units.

    ``qsel``: the quantity codes of the timeline's rows of ``quantities`` (default: all, in order).
    """
    if not np.any(k):
        return tl
    kq = k if qsel is None else k[np.asarray(qsel, dtype=np.int64)]
    rows = np.repeat(k, np.diff(np.asarray(tl.starts)))  # starts: every quantity's first row
    return attrs.evolve(tl, points=natural_columns(tl.points, rows, _TRAJECTORY),
                        quantities=natural_columns(tl.quantities, kq, ("drift_scale",)))
