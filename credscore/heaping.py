"""Heaping: sources that round some of their numbers more coarsely than they say.

People who rate, estimate or count by eye favour round numbers: a worker
asked for a score from 0 to 100 answers "50" or "75" far more often than
"47", although each answer is written as an integer (precision 0.5). Read at
face value, a heaped "50" claims the truth lies in [49.5, 50.5]; three workers
who all wrote "50" by habit then look like exact agreement, and the posterior
spikes on a value that nobody measured. Heitjan & Rubin (1990, "Inference from
coarse data via multiple imputation with application to age heaping", JASA
85:304-314) model such data as coarsened at random: each report is rounded to
one of a ladder of coarser units, with a probability that belongs to the
reporter.

This module estimates, for each source and attribute, the probabilities
θ_ℓ of rounding to the units ``u · m_ℓ`` of :data:`LADDER` (``u`` the unit the
claim is written to, ``2 × precision``), from nothing but how often the
source's numbers are multiples of each unit. A number rounded to ``u · m_ℓ``
is a multiple of ``u · m_j`` (j > ℓ) with probability ``m_ℓ / m_j`` when the
unrounded values are spread over many units, so the observed "roundness" of
a claim (the largest unit of the ladder it is a multiple of) has a known law
given the level, and θ is the maximum a posteriori estimate of a multinomial
mixture (EM; Dempster, Laird & Rubin 1977), shrunk towards the attribute's
pooled θ with the weight of :data:`PRIOR_CLAIMS` claims; the attribute's θ is
itself shrunk towards "as written" with the same weight, so a handful of
claims never makes an attribute heap.

Each point claim is then read at its most probable rounding unit: a "50" from
a source that rounds to tens on a third of its claims states [45, 55], not
[49.5, 50.5]. Sources whose numbers end in every digit equally often are left
as written (θ of the coarser levels estimates to zero).

A unit takes part only where it is at most twice the spread of the claims
about one quantity (the median over the attribute's quantities of a robust sd
of each quantity's claims; the residues of N(μ, σ²) modulo m are
uniform to 1.5 % once σ ≥ m / 2): when sources agree to within a unit, round
numbers say more about the truth (a timetable in five-minute steps) than
about the habit of the sources, and the uniform-residue law above fails.
"""

from __future__ import annotations

import attrs
import numpy as np

from ._segments import segment_count, segment_quantile
from .claims import POINT, ClaimSet

__all__ = ["Heaping", "estimate_heaping", "LADDER", "PRIOR_CLAIMS"]

#: Rounding units as multiples of the unit a claim is written to: 1, 5, 10, 50, 100, ...
LADDER = np.array([1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0])
#: Weight (in claims) of the attribute's pooled rounding probabilities in each source's estimate
PRIOR_CLAIMS = 10.0
_SHAMOS = 1.0 / (np.sqrt(2.0) * 0.6744897501960817)  # σ from the median |difference| of two normal draws
_MAD = 1.482602218505602
#: Quantities with at most this many claims give their spread from all pairs of claims
_PAIRWISE = 32
#: A unit takes part up to this many times the spread: the residues of N(μ, σ²) modulo m are uniform
#: to 1.5 % once σ ≥ m / 2
_SPREAD_UNITS = 2.0
_ITERATIONS = 300
_TOL = 1e-6


@attrs.frozen(eq=False)
class Heaping:
    """Rounding habits of the sources and the rounding unit each claim is read at.

    Attributes
    ----------
    half_width : ndarray
        Per claim (ClaimSet order): the half-width of the interval the claim is read
        as, in natural units; its stated precision unless it is a point claim read
        at a coarser unit.
    level : ndarray of int
        Per claim: the index into :data:`LADDER` of the unit it is read at (0: as written).
    coarse_share : ndarray
        Per source: the share of its claims read at a coarser unit than written.
    theta : ndarray, shape (n_groups, len(LADDER))
        The rounding probabilities of each (source, attribute) group that has claims.
    """

    half_width: np.ndarray
    level: np.ndarray
    coarse_share: np.ndarray
    theta: np.ndarray


def estimate_heaping(claims: ClaimSet) -> Heaping:
    """Estimate the sources' rounding habits and the unit each claim is read at.

    Parameters
    ----------
    claims : ClaimSet

    Returns
    -------
    Heaping
        ``half_width`` equals ``claims.precision`` wherever no heaping is found.

    Examples
    --------
    Two workers rate 300 items as integers; a third rounds most ratings to tens:

    >>> import numpy as np
    >>> from credscore import ClaimSet
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.uniform(0, 100, 300)
    >>> rate = lambda: truth + rng.normal(0, 8, 300)
    >>> rounded = np.where(rng.random(300) < 0.7, np.round(rate() / 10) * 10, np.round(rate()))
    >>> cs = ClaimSet.from_arrays(np.tile(np.arange(300).astype(str), 3), np.repeat(["ann", "bob", "cy"], 300),
    ...                           np.concatenate([np.round(rate()), np.round(rate()), rounded]),
    ...                           precision=0.5, scales="linear")
    >>> h = estimate_heaping(cs)
    >>> h.coarse_share.round(2).tolist()  # the share of each source's claims read as rounded to 5 or 10
    [0.0, 0.0, 0.75]
    >>> i = 600 + np.flatnonzero(rounded % 10 == 0)[0]
    >>> float(cs.value[i]), float(h.half_width[i])  # cy's round number states ± 5, not ± 0.5
    (20.0, 5.0)
    >>> j = 600 + np.flatnonzero(rounded % 5 != 0)[0]
    >>> float(cs.value[j]), float(h.half_width[j])  # and a number that is not round, as written
    (69.0, 0.5)
    """
    n = len(claims.value)
    half = np.asarray(claims.precision, dtype=float).copy()
    level = np.zeros(n, dtype=np.int64)
    ns = claims.n_sources
    empty = Heaping(half_width=half, level=level, coarse_share=np.zeros(ns), theta=np.zeros((0, len(LADDER))))
    unit = 2.0 * half
    value = np.asarray(claims.value, dtype=float)
    point = (claims.kind == POINT) & np.isfinite(value) & (unit > 0) & np.isfinite(unit)
    if not point.any():
        return empty
    k = np.where(point, value / np.where(point, unit, 1.0), 0.0)
    point &= np.abs(k - np.round(k)) <= 1e-6 * np.maximum(1.0, np.abs(k))
    rows = np.flatnonzero(point)
    if not len(rows):
        return empty
    k = np.round(k[rows])
    attr = claims.attribute[rows]
    top = _top_level(claims, rows, unit[rows], attr)
    if not (top > 0).any():
        return empty
    r = _roundness(k, top)
    na, nl = len(claims.attributes), int(top.max()) + 1
    src = claims.source[rows]
    group = _codes(attr.astype(np.int64) * ns + src)
    # the EM needs only the counts of each (group, top, roundness): a table far smaller than the claims
    cell, inv = np.unique((group * nl + top) * nl + r, return_inverse=True)
    count = np.bincount(inv).astype(float)
    c_group, c_top, c_r = cell // (nl * nl), (cell // nl) % nl, cell % nl
    lik = _level_likelihood(c_r, c_top)[:, :nl]  # (cells, levels): P(roundness | level)
    c_attr = _first(attr, group)[c_group]
    # an attribute heaps only when its claims show it: its habit starts from PRIOR_CLAIMS claims
    # read as written (three claims once read "1,500" as rounded to 500 on no evidence)
    as_written = np.zeros((na, nl))
    as_written[:, 0] = 1.0
    theta_attr = _em(lik, c_attr, na, count, prior=(as_written, PRIOR_CLAIMS))
    theta = _em(lik, c_group, int(group.max()) + 1, count, prior=(theta_attr[_first(attr, group)], PRIOR_CLAIMS))
    chosen = np.argmax(theta[c_group] * lik, axis=1)[inv]
    theta = np.pad(theta, ((0, 0), (0, len(LADDER) - nl)))
    level[rows] = chosen
    half[rows] = np.maximum(half[rows], 0.5 * unit[rows] * LADDER[chosen])
    coarse = np.bincount(claims.source, weights=(level > 0).astype(float), minlength=ns)
    share = coarse / np.maximum(segment_count(claims.source, ns), 1)
    return Heaping(half_width=half, level=level, coarse_share=share, theta=theta)


def _top_level(claims: ClaimSet, rows: np.ndarray, unit: np.ndarray, attr: np.ndarray) -> np.ndarray:
    """Per claim: the coarsest level of :data:`LADDER` whose unit is within the attribute's spread.

    The spread is the median over the attribute's quantities of a robust sd of each
    quantity's claims: the Shamos estimator (median pairwise |difference| / (√2 Φ⁻¹(3/4)),
    consistent from two claims on) for quantities of at most :data:`_PAIRWISE` claims, 1.4826 ×
    the median absolute deviation for larger ones. Robust to wild claims, independent of the
    order of the rows.
    """
    from types import SimpleNamespace

    from .agreement_pairs import quantity_pairs

    q = claims.quantity[rows]
    v = np.asarray(claims.value, dtype=float)[rows]
    nq = claims.n_quantities
    order = np.argsort(q, kind="stable")
    qs, vs = q[order], v[order]
    k = segment_count(qs, nq)
    sd = np.full(nq, np.nan)
    small = np.flatnonzero((k >= 2) & (k <= _PAIRWISE))
    if len(small):
        frame = SimpleNamespace(n_quantities=nq, counts=k, starts=np.concatenate(([0], np.cumsum(k)[:-1])),
                                quantity=qs)
        i, j, pq = quantity_pairs(frame, small)
        sd[small] = _SHAMOS * segment_quantile(np.abs(vs[i] - vs[j]), pq, nq)[small]
    large = k > _PAIRWISE
    if large.any():
        med = segment_quantile(vs, qs, nq)
        sd = np.where(large, _MAD * segment_quantile(np.abs(vs - med[qs]), qs, nq), sd)
    keep = np.flatnonzero(np.isfinite(sd))
    na = len(claims.attributes)
    spread = segment_quantile(sd[keep], claims.quantity_attribute[keep], na) if len(keep) else np.full(na, np.nan)
    spread = np.where(np.isfinite(spread), spread, 0.0)
    fits = LADDER[None, :] * unit[:, None] <= _SPREAD_UNITS * spread[attr][:, None]
    return np.maximum(fits.sum(axis=1) - 1, 0)


def _roundness(k: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The largest level (at most ``top``) whose multiple the integer ``k`` is."""
    r = np.zeros(len(k), dtype=np.int64)
    for j in range(1, len(LADDER)):  # a handful of levels, vectorised over claims
        r = np.where((j <= top) & (np.mod(k, LADDER[j]) == 0), j, r)
    return r


def _level_likelihood(r: np.ndarray, top: np.ndarray) -> np.ndarray:
    """P(roundness r | rounded at level ℓ) for ℓ = 0 … len(LADDER) − 1 (0 where ℓ > top)."""
    m = LADDER
    nxt = np.append(m[1:], np.inf)
    lvl = np.arange(len(m))
    ratio_r = m[None, :] / m[r][:, None]  # m_ℓ / m_r
    beyond = np.where(r == top, 0.0, 1.0 / nxt[r])  # the share that is a multiple of the next unit up
    p = ratio_r - m[None, :] * beyond[:, None]
    p = np.where(lvl[None, :] <= r[:, None], p, 0.0)
    return np.where(lvl[None, :] <= top[:, None], np.maximum(p, 0.0), 0.0)


def _codes(key: np.ndarray) -> np.ndarray:
    return np.unique(key, return_inverse=True)[1]


def _first(codes: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group: the ``codes`` value of its first member (constant within a group)."""
    out = np.empty(group.max() + 1, dtype=codes.dtype)
    out[group] = codes
    return out


def _em(lik: np.ndarray, group: np.ndarray, n: int, count: np.ndarray, prior) -> np.ndarray:
    """Rounding probabilities per group: the MAP multinomial-mixture fit by EM.

    ``lik`` holds P(roundness | level) of cells of ``count`` claims each, ``group``
    their group; ``prior`` is None (a flat Dirichlet) or ``(centre, weight)``: a
    Dirichlet with ``weight × centre`` pseudo-claims per group.
    """
    nl = lik.shape[1]
    allowed = np.stack([np.bincount(group, weights=lik[:, j] > 0, minlength=n) for j in range(nl)], axis=1) > 0
    theta = allowed / np.maximum(allowed.sum(axis=1, keepdims=True), 1.0)
    pseudo = 0.0 if prior is None else prior[1] * prior[0][:, :nl] * allowed
    for _ in range(_ITERATIONS):
        w = theta[group] * lik
        w *= (count / np.maximum(w.sum(axis=1), 1e-300))[:, None]
        new = np.stack([np.bincount(group, weights=w[:, j], minlength=n) for j in range(nl)], axis=1) + pseudo
        new /= np.maximum(new.sum(axis=1, keepdims=True), 1e-300)
        done = np.max(np.abs(new - theta)) < _TOL
        theta = new
        if done:
            break
    return theta
