"""Quantities known only by bounds: say what the claims say.

"More than 62 countries", alone, says θ ≥ 62 and nothing about how far above.
The posterior of such a quantity is the prior above the bound (with the small
weight of the wild reading below it): its median and interval come from the
prior's range, not from the claim (the default prior runs to a factor 100
beyond the claims, so "more than 62" gave a median of 480 and an interval from
6.2, below the only claim). Where every counted claim about a quantity is a
lower bound (or every one an upper bound), the answer shown is the strongest
bound, the posterior probability that it holds, and how much is known on its
open side: the limit of a :class:`~credscore.QuantityPrior` when one is given
("≥ 62, ≤ 195 by the prior"), else nothing ("nothing known above it"). The
numeric columns keep the posterior for code that needs a number; the text of
estimates, :meth:`~credscore.FusionResult.summary` and :class:`~credscore.Estimate`
show the bound.

This is censored-data reporting: with only a censoring bound observed, the
data identify P(θ ≥ b) and nothing beyond the support (e.g. Klein &
Moeschberger 2003, *Survival Analysis*, 2nd ed., §3.5: survival beyond the
last observation is not estimable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._segments import segment_count, segment_max, segment_min, segment_sum
from .claims import LOWER, UPPER
from .likelihood import SHAPE_LOWER, SHAPE_UPPER

__all__ = ["bound_columns", "format_bound"]


def bound_columns(cs, model, post, quantity_priors: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The estimates columns ``bound_side, bound, p_bound, limit`` per quantity.

    Parameters
    ----------
    cs : ClaimSet
        The claims (natural units).
    model : ClaimModel
        The fitted model (model space; its ``lo``/``hi`` are the bounds).
    post : GridPosterior
        The posterior (model space).
    quantity_priors : mapping of str to QuantityPrior, optional
        The user's priors (natural units): their ``high`` (``low``) is what is
        known above a lower bound (below an upper bound).

    Returns
    -------
    dict of ndarray
        ``bound_side``: ``'lower'``, ``'upper'`` or None (the quantity has some
        other claim); ``bound``: the strongest bound (natural units);
        ``p_bound``: the posterior probability that the value is beyond it;
        ``limit``: the known end on the open side (±inf: nothing known; 0 below
        an upper bound on a log-scale quantity). NaN where ``bound_side`` is None.
    """
    nq = cs.n_quantities
    ev = cs.is_evidence
    q, kind = cs.quantity[ev], cs.kind[ev]
    n = segment_count(q, nq)
    n_low = segment_count(q[kind == LOWER], nq)
    n_up = segment_count(q[kind == UPPER], nq)
    lower_only, upper_only = (n > 0) & (n_low == n), (n > 0) & (n_up == n)
    bound = np.full(nq, np.nan)
    with np.errstate(invalid="ignore"):
        bound = np.where(lower_only, segment_max(cs.lower_bound[ev], q, nq), bound)
        bound = np.where(upper_only, segment_min(cs.upper_bound[ev], q, nq), bound)
    side = np.full(nq, None, dtype=object)
    side[lower_only], side[upper_only] = "lower", "upper"
    limit = np.where(lower_only, np.inf, np.where(upper_only, np.where(cs.log_scale, 0.0, -np.inf), np.nan))
    for name, qp in (quantity_priors or {}).items():  # once per user-given prior
        i = cs.quantity_index(name)
        end = qp.high if lower_only[i] else qp.low if upper_only[i] else None
        if end is not None:
            limit[i] = end
    p = np.full(nq, np.nan)
    idx = np.flatnonzero(lower_only | upper_only)
    if len(idx):
        p[idx] = _mass_beyond(model, post, idx, lower_only)
    return {"bound_side": side, "bound": bound, "p_bound": p, "limit": limit}


def _mass_beyond(model, post, idx: np.ndarray, lower_only: np.ndarray) -> np.ndarray:
    """Posterior mass beyond each quantity's strongest bound, in model space (quadrature on the grid nodes
    with the node on the bound counted half, plus the atoms)."""
    nq = model.n_quantities
    low_b = segment_max(np.where(model.shape == SHAPE_LOWER, model.lo, -np.inf), model.quantity, nq)
    up_b = segment_min(np.where(model.shape == SHAPE_UPPER, model.hi, np.inf), model.quantity, nq)
    b_of = np.where(lower_only, low_b, up_b)
    sign = np.where(lower_only, 1.0, -1.0)
    out = np.zeros(nq)
    for blk in post.blocks(idx):
        d = sign[blk.part][:, None] * (blk.x - b_of[blk.part][:, None])
        beyond = np.where(d > 0, 1.0, np.where(d == 0, 0.5, 0.0))
        out[blk.part] = np.sum(blk.w * blk.q * beyond, axis=1) / np.maximum(np.sum(blk.w * blk.q, axis=1), 1e-300)
    out[idx] *= post.continuous_weight(idx)
    if post.atoms is not None and len(post.atoms.x):
        a = post.atoms
        d = sign[a.owner] * (a.x - b_of[a.owner])
        out += segment_sum(np.where(d >= 0, a.prob, 0.0), a.owner, nq)
    return np.clip(out[idx], 0.0, 1.0)


def format_bound(side: str, bound: float, limit: float, p: float, unit: str | None = None) -> str:
    """``'≥ 62 countries (p = 0.80 that it holds; nothing known above it)'``.

    Examples
    --------
    >>> format_bound("lower", 62, float("inf"), 0.8, "countries")
    '≥ 62 countries (p = 0.80 that it holds; nothing known above it)'
    >>> format_bound("lower", 62, 195, 0.63)
    '≥ 62, ≤ 195 by the prior (p = 0.63 that it holds)'
    >>> format_bound("upper", 10000, 0.0, 0.8)
    '≤ 10,000 (p = 0.80 that it holds; nothing known below it)'
    """
    from .formatting import format_number, format_probability

    u = f" {unit}" if unit else ""
    mark, other, word = ("≥", "≤", "above") if side == "lower" else ("≤", "≥", "below")
    text = f"{mark} {format_number(bound)}"
    known = np.isfinite(limit) and not (side == "upper" and limit == 0)
    if known:
        return f"{text}, {other} {format_number(limit)}{u} by the prior (p = {format_probability(p)} that it holds)"
    return f"{text}{u} (p = {format_probability(p)} that it holds; nothing known {word} it)"
