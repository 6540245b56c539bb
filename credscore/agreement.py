"""Agreement and conflict: claim × claim agreement, per-claim diagnostics, per-quantity conflict.

Everything here works in model space (x = log θ on log quantities, θ on
linear ones) from the arrays of :class:`~credscore.likelihood.ClaimModel`
and the grid posteriors of :class:`~credscore.posterior.GridPosterior`,
vectorized over all claims and quantities (segment arithmetic, chunked
blocks; no Python loop per quantity or per claim).

**Claim × claim agreement.** Each claim's *accurate* likelihood
P_acc(c | x) (see :mod:`credscore.likelihood`: its statement interval [l, u]
observed with the source's error F(·/σ)) is read as a statement about x.

* A point or interval claim is a proper density in x once normalised:
  p_c(x) = [F((u − x)/σ) − F((l − x)/σ)] / (u − l), the uniform density on
  [l, u] convolved with the error density (a point: the error density
  itself). Two such claims agree by their **Bhattacharyya coefficient**
  (Bhattacharyya 1943)

  .. math:: A_{ij} = \\int \\sqrt{p_i(x)\\, p_j(x)}\\, dx \\in [0, 1],

  1 for identical statements, → 0 as they become impossible to reconcile
  given their precision and errors. Two normal points have the closed form
  sqrt(2σ_iσ_j / (σ_i² + σ_j²)) exp(−(μ_i − μ_j)² / (4(σ_i² + σ_j²))); other
  pairs are integrated by Gauss–Legendre quadrature on panels broken at each
  statement's edges ± 3σ (exact to ~1e-10). Note that BC also measures
  *precision*: a vague statement (one significant figure, ±50 %) and a
  precise one inside it agree at about sqrt(2.5σ / width) (0.6–0.7 for
  "10,000" vs "10,900" at σ = 0.1), identical statements at 1.
* A bound ("up to u", "at least l") has no normalisable density; its
  agreement with a point or interval claim j is the probability that the
  (soft) bound holds under j's density, E_j[F((u − x)/σ_i)] (resp.
  E_j[F((x − l)/σ_i)]); normal errors have closed forms. Two bounds in the
  same direction always agree (1: both hold for extreme enough x); an upper
  bound u and a lower bound l agree by Φ((u − l) / sqrt(σ_u² + σ_l²)), the
  probability that the soft bounds are compatible (0.5 when u = l; the
  normal form is used for Student-t errors too).

The definitions are symmetric by construction, bounded by [0, 1] and
invariant under a change of units on log quantities (everything depends on
differences of logs).

**Per claim** (:func:`claim_diagnostics`):

* ``p_wild`` = 1 − P(accurate | data).
* ``residual``: (centre − posterior mean) / sqrt(σ_c² + width²/12 + posterior
  var), model space; width²/12 is the variance of the rounding interval.
  NaN for bounds.
* ``consensus_agreement``: the expected *relative* likelihood of the claim
  under the **leave-one-out** posterior (the consensus of the other claims),
  E_{−c}[P_acc(c | x)] / max_x P_acc(c | x) ∈ [0, 1]: 1 when the others pin
  x where the claim is most likely, → 0 when they rule the claim out. For a
  bound, max P_acc = 1 and this is the consensus probability that the bound
  holds (as in the pairwise definition). NaN when the quantity has no other
  counted claim (no consensus to compare with).
* ``influence``: exact leave-one-out influence (in the spirit of Cook 1977):
  (median without c − median with c) / posterior sd, model space. The
  posterior without c is computed on the same grid as posterior / p(c | x),
  renormalised — no refit: it holds fixed everything ``fuse`` derived from
  the full data (the claim model: prior support, the wild component's range,
  default error scales, the reliabilities ρ) and removes only c's likelihood
  factor. A refit without c agrees exactly when those are pinned (explicit
  :class:`~credscore.priors.QuantityPrior` bounds and
  :class:`~credscore.priors.ErrorScale`, and c not at the extreme of the
  claims' extent, which sets the wild range). Relayed repeats of a statement
  (``counted == False``) have influence 0: removing one relay removes no
  evidence.

**Per quantity**:

* ``conflict``: the expected share of wild claims, the mean over counted
  claims of 1 − P(accurate | data).
* ``bimodal``: the model-space posterior density has a dip: a point where the
  density is at most :data:`BIMODAL_DIP` (half) of the highest density on
  either side, with at least :data:`BIMODAL_MASS` (5 %) of the mass on each
  side.
* ``Q, I2, H2, tau2``: Cochran's Q, I² (percent), H² and the REML τ² of a
  random-effects meta-analysis (Higgins & Thompson 2002; Viechtbauer 2005)
  of the quantity's counted point and approx claims (at least two), through
  :func:`credscore.meta.random_effects_grouped`: y = the claim's model-space
  centre, sampling variance σ_c² + width²/12 (the accurate error scale —
  which includes a stated se — plus the variance of the rounding interval).
  NaN for other quantities.

References
----------
Bhattacharyya, A. (1943). On a measure of divergence between two statistical
populations defined by their probability distributions. *Bull. Calcutta
Math. Soc.* 35, 99-109.

Cook, R. D. (1977). Detection of influential observation in linear
regression. *Technometrics* 19(1), 15-18.

Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a
meta-analysis. *Statistics in Medicine* 21(11), 1539-1558.
"""

from __future__ import annotations

import math
import warnings
import attrs
import numpy as np
from scipy import special

from ._segments import segment_count, segment_sum
from .likelihood import SHAPE_INTERVAL, SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER, ClaimModel, log_accurate, log_terms
from .loo import loo_chunks, rows_of
from .posterior import grid_quantiles
from .results import Table, square_frame

__all__ = [
    "AgreementMatrix",
    "Conflict",
    "SourceAgreement",
    "pair_agreement",
    "quantity_pairs",
    "claim_diagnostics",
    "heterogeneity",
    "extend_tables",
    "with_agreement",
    "BIMODAL_DIP",
    "BIMODAL_MASS",
    "AGREE_AT",
]

#: A dip separates two modes when the density there is at most this share of the peak on either side.
BIMODAL_DIP = 0.5
#: Each side of the dip must hold at least this share of the posterior mass.
BIMODAL_MASS = 0.05
#: A claim "agrees with the consensus" when its ``consensus_agreement`` is at least this.
#: The score is the claim's accurate likelihood averaged over the leave-one-out posterior,
#: relative to its maximum: a claim exactly at the consensus scores 1/sqrt(1 + s²/σ²) (0.45 when
#: the consensus is twice as wide as the claim's error), a claim 1.8 combined sds away about
#: 0.2 of that. 0.2 separates "fits" from "conflicts" for precise and vague claims alike.
AGREE_AT = 0.2

_K_NORMAL = 12.0  # window half-width in error sds: sqrt(φ) beyond it is below exp(-36)
_GL_NODES = 16
_T_STEPS = (3.0, 12.0, 48.0, 192.0, 768.0, 3072.0)  # panel breaks for heavy-tailed errors
_CELLS = 1 << 20  # pair × node (or claim × grid) cells per chunk
_SQRT2 = math.sqrt(2.0)


# ----------------------------------------------------------------- pairs
def quantity_pairs(model: ClaimModel, qidx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All unordered pairs (i < j) of claims of the same quantity.

    Parameters
    ----------
    model : ClaimModel
    qidx : array of int, optional
        Quantities (default: all).

    Returns
    -------
    i, j : ndarray of int64
        Model positions of the two claims (i < j).
    q : ndarray of int64
        Their quantity.

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([{"quantity": "a", "source": s, "value": v}
    ...                                       for s, v in (("x", 1), ("y", 2), ("z", 3))])
    >>> i, j, q = quantity_pairs(build_claim_model(cs))
    >>> list(zip(i.tolist(), j.tolist()))
    [(0, 1), (0, 2), (1, 2)]
    """
    qidx = np.arange(model.n_quantities) if qidx is None else np.asarray(qidx, dtype=np.int64)
    n = model.counts[qidx].astype(np.int64)
    # claims of the selected quantities, with their local index k and the quantity size n
    rows = rows_of(model, qidx)
    owner = np.repeat(np.arange(len(qidx)), n)
    k = rows - model.starts[qidx][owner]
    partners = n[owner] - 1 - k
    i = np.repeat(rows, partners)
    first = np.concatenate(([0], np.cumsum(partners)[:-1]))
    j = i + 1 + (np.arange(len(i)) - np.repeat(first, partners))
    return i, j, model.quantity[i].astype(np.int64)


def _effective_shape(model: ClaimModel, rows: np.ndarray) -> np.ndarray:
    """Claim shapes, with intervals open at one end treated as the corresponding bound."""
    s = model.shape[rows].astype(np.int8)
    lo, hi = model.lo[rows], model.hi[rows]
    s = np.where((s == SHAPE_INTERVAL) & ~np.isfinite(lo), SHAPE_UPPER, s)
    s = np.where((s == SHAPE_INTERVAL) & ~np.isfinite(hi), SHAPE_LOWER, s)
    return s


def _G(z: np.ndarray) -> np.ndarray:
    """∫_{-∞}^z Φ(t) dt = z Φ(z) + φ(z)."""
    return z * special.ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def pair_agreement(model: ClaimModel, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Agreement in [0, 1] of claims ``i`` and ``j`` (model positions, elementwise).

    See the module docstring for the definition (Bhattacharyya coefficient of
    the normalised accurate likelihoods; probability that a bound holds).

    Parameters
    ----------
    model : ClaimModel
    i, j : array of int
        Model positions (same length); normally claims of the same quantity.

    Returns
    -------
    ndarray of float

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([
    ...     {"quantity": "t", "source": "a", "value": "10,000"},
    ...     {"quantity": "t", "source": "b", "value": "10,900"},
    ...     {"quantity": "t", "source": "c", "value": "11,000"},
    ...     {"quantity": "t", "source": "d", "value": "1,500"},
    ... ])
    >>> m = build_claim_model(cs)
    >>> np.round(pair_agreement(m, np.array([0, 0, 1, 2]), np.array([1, 2, 2, 3])), 2)
    array([0.66, 0.67, 1.  , 0.  ])
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    out = np.full(len(i), np.nan)
    if len(i) == 0:
        return out
    si, sj = _effective_shape(model, i), _effective_shape(model, j)
    bi, bj = si >= SHAPE_UPPER, sj >= SHAPE_UPPER
    sgi, sgj = model.sigma[i], model.sigma[j]
    normal = np.isinf(model.df[i]) & np.isinf(model.df[j])
    s2 = np.hypot(sgi, sgj)

    # --- two bounds
    bb = bi & bj
    out[bb & (si == sj)] = 1.0
    opp = bb & (si != sj)
    if opp.any():
        u = np.where(si == SHAPE_UPPER, model.hi[i], model.hi[j])[opp]
        lo = np.where(si == SHAPE_LOWER, model.lo[i], model.lo[j])[opp]
        with np.errstate(invalid="ignore"):
            z = (u - lo) / s2[opp]
        out[opp] = special.ndtr(np.nan_to_num(z, nan=1.0, posinf=np.inf, neginf=-np.inf))

    # --- two normal points: closed form
    pp = (si == SHAPE_POINT) & (sj == SHAPE_POINT) & normal
    if pp.any():
        a, b = sgi[pp] ** 2, sgj[pp] ** 2
        d = model.centre[i][pp] - model.centre[j][pp]
        out[pp] = np.sqrt(2 * sgi[pp] * sgj[pp] / (a + b)) * np.exp(-d * d / (4 * (a + b)))

    # --- a bound and a point or interval, normal errors: closed forms
    mixed = (bi ^ bj) & normal
    if mixed.any():
        k = np.flatnonzero(mixed)
        bnd = np.where(bi[k], i[k], j[k])
        oth = np.where(bi[k], j[k], i[k])
        bshape = np.where(bi[k], si[k], sj[k])
        oshape = np.where(bi[k], sj[k], si[k])
        s = s2[k]
        upper = bshape == SHAPE_UPPER
        edge = np.where(upper, model.hi[bnd], model.lo[bnd])
        sign = np.where(upper, 1.0, -1.0)
        # z > 0 where the bound holds: upper: (u - x), lower: (x - l)
        pt = oshape == SHAPE_POINT
        val = np.empty(len(k))
        val[pt] = special.ndtr(sign[pt] * (edge[pt] - model.centre[oth[pt]]) / s[pt])
        iv = ~pt
        if iv.any():
            lo, hi = model.lo[oth[iv]], model.hi[oth[iv]]
            e, sg, ss = edge[iv], sign[iv], s[iv]
            # upper: (s/w)[G((u-l)/s) - G((u-h)/s)]; lower: (s/w)[G((h-l')/s) - G((l-l')/s)]
            a1 = np.where(sg > 0, (e - lo) / ss, (hi - e) / ss)
            a0 = np.where(sg > 0, (e - hi) / ss, (lo - e) / ss)
            val[iv] = np.clip(ss / (hi - lo) * (_G(a1) - _G(a0)), 0.0, 1.0)
        out[k] = val

    # --- everything else: quadrature
    rest = np.flatnonzero(np.isnan(out))
    if len(rest):
        out[rest] = _quadrature(model, i[rest], j[rest], si[rest], sj[rest])
    return np.clip(out, 0.0, 1.0)


def _gl(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _quadrature(model, i, j, si, sj) -> np.ndarray:
    """Agreement of pairs needing numerical integration (intervals, Student-t errors)."""
    out = np.empty(len(i))
    heavy = ~(np.isinf(model.df[i]) & np.isinf(model.df[j]))
    light = np.flatnonzero(~heavy)
    per = max(1, _CELLS // (9 * _GL_NODES))
    for c0 in range(0, len(light), per):
        k = light[c0 : c0 + per]
        out[k] = _quad_normal(model, i[k], j[k], si[k], sj[k])
    hv = np.flatnonzero(heavy)
    per = max(1, _CELLS // ((4 * len(_T_STEPS) + 5) * _GL_NODES))
    for c0 in range(0, len(hv), per):
        k = hv[c0 : c0 + per]
        out[k] = _quad_chunk(model, i[k], j[k], si[k], sj[k], _T_STEPS)
    return out


def _normal_breaks(model, rows, shape):
    """Window and panel breaks of claims with normal errors: edges ± 3σ, and ± 8σ inside wide intervals."""
    sig, lo, hi = model.sigma[rows], model.lo[rows], model.hi[rows]
    wlo = np.where(shape == SHAPE_UPPER, -np.inf, lo - _K_NORMAL * sig)
    whi = np.where(shape == SHAPE_LOWER, np.inf, hi + _K_NORMAL * sig)
    a = np.where(np.isfinite(lo), lo, hi)
    b = np.where(np.isfinite(hi), hi, lo)
    wide = (b - a) > 16 * sig
    narrow = (b - a) < 2 * sig  # one bell: no inner breaks
    br = [a - 3 * sig, np.where(narrow, a - 3 * sig, a + 3 * sig), np.where(narrow, b + 3 * sig, b - 3 * sig),
          b + 3 * sig, np.where(wide, a + 8 * sig, a - 3 * sig), np.where(wide, b - 8 * sig, a - 3 * sig)]
    return wlo, whi, np.stack(br, axis=1)


def _normal_acc(model, rows, shape, x) -> np.ndarray:
    """P_acc of claims ``rows`` at x (elementwise, normal errors), without cancellation in the tails;
    points and intervals normalised to densities."""
    sig, lo, hi, c = model.sigma[rows], model.lo[rows], model.hi[rows], model.centre[rows]
    out = np.empty(len(x))
    pt = shape == SHAPE_POINT
    z = (x[pt] - c[pt]) / sig[pt]
    out[pt] = np.exp(-0.5 * z * z) / (sig[pt] * math.sqrt(2 * math.pi))
    iv = shape == SHAPE_INTERVAL
    xs, l_, h_, s_ = x[iv], lo[iv], hi[iv], sig[iv]
    # left of the centre Φ((x−l)/σ) − Φ((x−h)/σ), right of it Φ((h−x)/σ) − Φ((l−x)/σ): small terms, no cancellation
    sgn = np.where(xs < 0.5 * (l_ + h_), 1.0, -1.0) / s_
    p = np.abs(special.ndtr(sgn * (xs - l_)) - special.ndtr(sgn * (xs - h_)))
    out[iv] = p / (h_ - l_)
    up = shape == SHAPE_UPPER
    out[up] = special.ndtr((hi[up] - x[up]) / sig[up])
    lw = shape == SHAPE_LOWER
    out[lw] = special.ndtr((x[lw] - lo[lw]) / sig[lw])
    return out


def _quad_normal(model, i, j, si, sj) -> np.ndarray:
    """Gauss–Legendre on the panels of both claims inside their common window; empty panels skipped."""
    n = len(i)
    wlo_i, whi_i, br_i = _normal_breaks(model, i, si)
    wlo_j, whi_j, br_j = _normal_breaks(model, j, sj)
    wlo, whi = np.maximum(wlo_i, wlo_j), np.minimum(whi_i, whi_j)
    empty = ~(whi > wlo)
    wlo, whi = np.where(empty, 0.0, wlo), np.where(empty, 0.0, whi)
    br = np.concatenate([wlo[:, None], br_i, br_j, whi[:, None]], axis=1)
    br = np.sort(np.clip(br, wlo[:, None], whi[:, None]), axis=1)
    half = 0.5 * (br[:, 1:] - br[:, :-1])
    pair, panel = np.nonzero(half > 0)
    t, v = _gl(_GL_NODES)
    mid = 0.5 * (br[pair, panel + 1] + br[pair, panel])
    h = half[pair, panel]
    x = (mid[:, None] + h[:, None] * t).ravel()
    w = (h[:, None] * v).ravel()
    owner = np.repeat(pair, _GL_NODES)
    with np.errstate(under="ignore"):
        pi = _normal_acc(model, i[owner], si[owner], x)
        pj = _normal_acc(model, j[owner], sj[owner], x)
        bound = ((si >= SHAPE_UPPER) | (sj >= SHAPE_UPPER))[owner]
        f = np.where(bound, pi * pj, np.sqrt(pi * pj))
    return np.bincount(owner, weights=w * f, minlength=n)


def _window(model, rows, shape, steps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integration window and panel breaks of each claim (Student-t errors)."""
    sig, lo, hi, df = model.sigma[rows], model.lo[rows], model.hi[rows], model.df[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.where(np.isinf(df), _K_NORMAL, np.minimum(special.stdtrit(np.where(np.isinf(df), 1.0, df), 1 - 1e-10), 1e4))
    kt = np.maximum(kt, _K_NORMAL)
    wlo = np.where(shape == SHAPE_UPPER, -np.inf, lo - kt * sig)
    whi = np.where(shape == SHAPE_LOWER, np.inf, hi + kt * sig)
    a = np.where(np.isfinite(lo), lo, hi)
    b = np.where(np.isfinite(hi), hi, lo)
    br = [a + 3.0 * sig, b - 3.0 * sig]
    for s in steps:
        br += [a - s * sig, b + s * sig]
    return wlo, whi, np.stack(br, axis=1)


def _quad_chunk(model, i, j, si, sj, steps) -> np.ndarray:
    """Quadrature with the likelihood's own Student-t terms (heavy tails: geometric panel breaks)."""
    wlo_i, whi_i, br_i = _window(model, i, si, steps)
    wlo_j, whi_j, br_j = _window(model, j, sj, steps)
    wlo, whi = np.maximum(wlo_i, wlo_j), np.minimum(whi_i, whi_j)
    empty = ~(whi > wlo)
    wlo, whi = np.where(empty, 0.0, wlo), np.where(empty, 1.0, whi)
    br = np.concatenate([wlo[:, None], br_i, br_j, whi[:, None]], axis=1)
    br = np.sort(np.clip(br, wlo[:, None], whi[:, None]), axis=1)
    t, v = _gl(_GL_NODES)
    mid = 0.5 * (br[:, 1:] + br[:, :-1])
    half = 0.5 * (br[:, 1:] - br[:, :-1])
    x = (mid[:, :, None] + half[:, :, None] * t).reshape(len(i), -1)
    wts = (half[:, :, None] * v).reshape(len(i), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        li = log_accurate(model, i, x)
        lj = log_accurate(model, j, x)
    bi, bj = si >= SHAPE_UPPER, sj >= SHAPE_UPPER
    # normalise intervals to densities (points are densities already)
    with np.errstate(divide="ignore", invalid="ignore"):
        ni = np.where(si == SHAPE_INTERVAL, np.log(model.hi[i] - model.lo[i]), 0.0)
        nj = np.where(sj == SHAPE_INTERVAL, np.log(model.hi[j] - model.lo[j]), 0.0)
    # proper-proper: sqrt(p_i p_j); bound-proper: F_bound * p_proper
    ai = np.where(bi | bj, 1.0, 0.5)[:, None]
    with np.errstate(invalid="ignore", under="ignore"):
        e = ai * (li - ni[:, None] + lj - nj[:, None])
        val = np.sum(wts * np.exp(np.nan_to_num(e, nan=-np.inf)), axis=1)
    return np.where(empty, 0.0, val)


# ---------------------------------------------------------- per claim
def claim_diagnostics(model: ClaimModel, post, accurate: np.ndarray) -> dict[str, np.ndarray]:
    """Per-claim and per-quantity diagnostics from the grid posteriors (model space).

    Parameters
    ----------
    model : ClaimModel
    post : GridPosterior
    accurate : ndarray
        P(accurate | data) per model claim (as returned by
        :func:`credscore.posterior.compute_posteriors`).

    Returns
    -------
    dict
        Per model claim: ``p_wild``, ``residual``, ``consensus_agreement``,
        ``influence``; per quantity: ``conflict``, ``bimodal``, ``median``
        (model space, :func:`credscore.posterior.grid_quantiles`), ``mean``, ``sd``.
        Definitions in the module docstring.
    """
    nq, m = model.n_quantities, len(model.claim)
    mean, sd = post.moments()
    median = np.full(nq, np.nan)
    bimodal = np.zeros(nq, dtype=bool)
    med_loo = np.full(m, np.nan)
    agree = np.full(m, np.nan)
    counts = model.counts
    for b in post.blocks():
        part, g = b.part, b.x.shape[1]
        # full posterior: median and bimodality
        med, F = grid_quantiles(b.q, post.start[part], post.step[part], *post._map(part), [0.5])
        median[part] = med[:, 0] if post.atoms is None else post.quantiles([0.5], part)[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = post.density_x(b)
        bimodal[part] = _bimodal(dens, F)
        # leave-one-out, chunked over claims (credscore.loo)
        for ch in loo_chunks(model, b):
            rows, owner, ql, term, acc = ch.rows, ch.owner, ch.density, ch.term, ch.accurate
            with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
                # relative accurate likelihood: log P_acc = log r + term - log rho, minus its maximum
                lacc = np.log(acc) + term - model.log_rho[rows][:, None]
                lmax = _log_acc_max(model, rows)
                rel = np.exp(np.minimum(lacc - lmax[:, None], 0.0))
                agree[rows] = np.sum(ch.weights * ql * rel, axis=1)
            po = part[owner]
            if post.atoms is None or not np.any(post.atoms.total[po] > 0):
                med_loo[rows] = grid_quantiles(ql, post.start[po], post.step[po], *post._map(po), [0.5])[0][:, 0]
            else:  # the atoms without the claim's factor, normalised with the continuous part
                med_loo[rows] = _loo_mixed_median(model, post, b, rows, owner, po, ql, ch.log_mass)
    owner_q = model.quantity
    with np.errstate(divide="ignore", invalid="ignore"):
        influence = np.where(sd[owner_q] > 0, (med_loo - median[owner_q]) / sd[owner_q], 0.0)
    agree = np.where(counts[owner_q] >= 2, np.clip(agree, 0.0, 1.0), np.nan)

    shape = _effective_shape(model, np.arange(m))
    proper = shape <= SHAPE_INTERVAL
    width = np.where(proper, model.hi - model.lo, 0.0)
    with np.errstate(invalid="ignore"):
        resid = (model.centre - mean[owner_q]) / np.sqrt(model.sigma**2 + width**2 / 12 + sd[owner_q] ** 2)
    resid = np.where(proper, resid, np.nan)
    p_wild = 1.0 - np.asarray(accurate)
    conflict = segment_sum(p_wild, owner_q, nq) / np.maximum(counts, 1)
    return {
        "p_wild": p_wild, "residual": resid, "consensus_agreement": agree, "influence": influence,
        "conflict": conflict, "bimodal": bimodal, "median": median, "mean": mean, "sd": sd,
    }


def _loo_mixed_median(model, post, b, rows, owner, po, ql, log_cont_mass):
    """Medians of leave-one-claim-out posteriors with atoms (see :meth:`Atoms.loo`)."""
    from .likelihood import _log_terms
    from .posterior import Block, _mixed_quantiles

    def term_at(li, x):
        return _log_terms(model, rows[li], x[:, None])[0][:, 0]

    loo = post.atoms.loo(rows, po, term_at, model.weight)
    cw = post.continuous_weight(po)
    with np.errstate(divide="ignore", over="ignore"):
        cont = cw * np.exp(log_cont_mass)
    total = cont + loo.total
    prob = loo.prob / total[loo.owner]
    loo = attrs.evolve(loo, prob=prob, total=loo.total / total)
    blk = Block(np.arange(len(rows)), b.u[owner], b.x[owner], ql, b.w[owner])
    return _mixed_quantiles(blk, post.start[po], post.step[po], post._map(po), loo, [0.5])[:, 0]


def _log_acc_max(model: ClaimModel, rows: np.ndarray) -> np.ndarray:
    """max over x of log P_acc(c | x): at the centre for points and intervals, 0 for bounds."""
    shape = _effective_shape(model, rows)
    out = np.zeros(len(rows))
    proper = np.flatnonzero(shape <= SHAPE_INTERVAL)
    if len(proper):
        r = rows[proper]
        out[proper] = log_accurate(model, r, model.centre[r][:, None])[:, 0]
    return out


def _bimodal(dens: np.ndarray, F: np.ndarray) -> np.ndarray:
    """A dip at most BIMODAL_DIP of the peaks on both sides, with BIMODAL_MASS of the mass each side."""
    dens = np.nan_to_num(dens, nan=0.0, posinf=0.0)
    left = np.maximum.accumulate(dens, axis=1)
    right = np.maximum.accumulate(dens[:, ::-1], axis=1)[:, ::-1]
    dip = (dens <= BIMODAL_DIP * left) & (dens <= BIMODAL_DIP * right)
    mass = (F >= BIMODAL_MASS) & (F <= 1 - BIMODAL_MASS)
    return np.any(dip & mass, axis=1)


# --------------------------------------------------------- heterogeneity
def heterogeneity(model: ClaimModel, kinds: np.ndarray, tau2_ci: bool = False, level: float = 0.95):
    """Random-effects (REML) heterogeneity statistics per quantity.

    Parameters
    ----------
    model : ClaimModel
    kinds : ndarray of int
        The ClaimSet kind code of each model claim (``claimset.kind[model.claim]``).
    tau2_ci : bool
        Compute the Q-profile interval of τ².
    level : float
        Level of that interval.

    Returns
    -------
    dict of ndarray (length n_quantities)
        ``Q, I2, H2, tau2, tau2_ci_low, tau2_ci_high, k``; NaN where fewer than
        two counted point/approx claims (k is then the count).
    """
    from .claims import APPROX, POINT
    from .exceptions import ConvergenceWarning
    from .meta import random_effects_grouped

    nq = model.n_quantities
    shape = _effective_shape(model, np.arange(len(model.claim)))
    width = np.where(shape <= SHAPE_INTERVAL, model.hi - model.lo, np.nan)
    v = model.sigma**2 + width**2 / 12
    ok = ((kinds == POINT) | (kinds == APPROX)) & np.isfinite(model.centre) & np.isfinite(v) & (v > 0)
    k = segment_count(model.quantity[ok], nq)
    use = ok & (k[model.quantity] >= 2)
    out = {name: np.full(nq, np.nan) for name in ("Q", "I2", "H2", "tau2", "tau2_ci_low", "tau2_ci_high")}
    out["k"] = k
    if use.any():
        g = model.quantity[use]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = random_effects_grouped(model.centre[use], np.sqrt(v[use]), g, method="REML",
                                         level=level, tau2_ci=tau2_ci)
        G = len(res.Q)
        for name in ("Q", "I2", "H2", "tau2", "tau2_ci_low", "tau2_ci_high"):
            out[name][:G] = getattr(res, name)
        has = k >= 2
        for name in ("Q", "I2", "H2", "tau2", "tau2_ci_low", "tau2_ci_high"):
            out[name] = np.where(has, out[name], np.nan)
    return out


# ------------------------------------------------------------- tables
def extend_tables(cs, model: ClaimModel, post, accurate: np.ndarray, estimates: Table, claims: Table,
                  sources: Table) -> tuple[Table, Table, Table]:
    """Add the agreement and conflict columns to fuse()'s three tables.

    ``estimates`` gains ``conflict, bimodal, Q, I2, H2, tau2``; ``claims``
    gains ``p_wild, residual, consensus_agreement, influence`` (relayed
    repeats copy their evidence claim's values, with influence 0);
    ``sources`` gains ``consensus_agreement`` (mean over the source's counted
    claims that have a consensus), ``share_agreeing`` (the share of those with
    consensus_agreement ≥ :data:`AGREE_AT`) and ``n_compared``.
    """
    d = claim_diagnostics(model, post, accurate)
    het = heterogeneity(model, cs.kind[model.claim])
    est = dict(estimates.data)
    est.update(conflict=d["conflict"], bimodal=d["bimodal"], Q=het["Q"], I2=het["I2"], H2=het["H2"], tau2=het["tau2"])

    n = len(cs)
    pos = np.full(n, -1, dtype=np.int64)
    pos[model.claim] = np.arange(len(model.claim))
    ev_pos = pos[cs.evidence]
    counted = cs.is_evidence
    cl = dict(claims.data)
    for name in ("p_wild", "residual", "consensus_agreement", "influence"):
        cl[name] = d[name][ev_pos]
    cl["influence"] = np.where(counted, cl["influence"], 0.0)

    ns = cs.n_sources
    src = cs.source[model.claim]
    a = d["consensus_agreement"]
    has = np.isfinite(a)
    n_cmp = segment_count(src[has], ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = np.where(n_cmp > 0, segment_sum(a[has], src[has], ns) / np.maximum(n_cmp, 1), np.nan)
        share = np.where(n_cmp > 0, segment_sum((a[has] >= AGREE_AT).astype(float), src[has], ns)
                         / np.maximum(n_cmp, 1), np.nan)
    so = dict(sources.data)
    so.update(consensus_agreement=mean_a, share_agreeing=share, n_compared=n_cmp)
    return Table(est), Table(cl), Table(so)


# ------------------------------------------------------------ results
def _claim_labels(cs, rows: np.ndarray) -> np.ndarray:
    return np.array([f"#{int(cs.row[r])} {cs.sources[cs.source[r]]}" for r in rows], dtype=object)


@attrs.frozen(eq=False, repr=False)
class AgreementMatrix:
    """Claim × claim agreement of one quantity (see :mod:`credscore.agreement`).

    Attributes
    ----------
    quantity : str
    labels : ndarray of str
        ``"#row source"`` of each claim (rows and columns, input order).
    rows : ndarray of int
        The claims' input rows.
    values : ndarray, shape (n, n)
        Symmetric, in [0, 1], 1 on the diagonal. A relayed repeat has its
        evidence claim's agreements (and 1 with it).
    """

    quantity: str
    labels: np.ndarray
    rows: np.ndarray
    values: np.ndarray

    def __attrs_post_init__(self) -> None:
        for v in (self.labels, self.rows, self.values):
            v.setflags(write=False)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key):
        return self.values[key]

    def to_dataframe(self):
        """The matrix as a labelled :class:`pandas.DataFrame` (requires pandas)."""
        return square_frame(self.values, self.labels)

    def to_text(self, floatfmt: str = ".2f") -> str:
        """A plain-text rendering."""
        w = max([len(str(x)) for x in self.labels] + [4])
        head = " " * w + "  " + "  ".join(f"{k:>5}" for k in range(len(self)))
        lines = [head]
        for k, lab in enumerate(self.labels):
            cells = "  ".join(format(v, floatfmt).rjust(5) for v in self.values[k])
            lines.append(f"{str(lab):<{w}}  {cells}  ({k})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<AgreementMatrix {self.quantity!r}: {len(self)} claims>\n" + self.to_text()


@attrs.frozen(eq=False, repr=False)
class Conflict:
    """Conflict report of one quantity (see :meth:`FusionResult.conflict`).

    Attributes
    ----------
    quantity : str
    score : float
        Expected share of wild claims among the counted ones.
    bimodal : bool
        The posterior has separated modes, each side holding ≥ 5 % of the mass.
    Q, I2, H2, tau2, tau2_ci : float, float, float, float, (float, float)
        REML random-effects heterogeneity of the point/approx claims (model
        space; Q-profile interval for τ² at ``level``); NaN when fewer than two.
    k : int
        Number of claims in the meta-analysis.
    pairs : tuple of (str, str, float)
        The least-agreeing pairs of counted claims, ``(label_i, label_j,
        agreement)``, lowest first.
    claims : tuple of (str, float, float, float)
        The counted claims ``(label, p_wild, residual, influence)``, most
        likely wild first.
    stated : dict of str to str
        What each counted claim states (``"~10,000"``, ``"≤ 10,000"``), by label.
    p_wild : dict of str to float
        Each counted claim's probability of being wild, by label.
    """

    quantity: str
    score: float
    bimodal: bool
    Q: float
    I2: float
    H2: float
    tau2: float
    tau2_ci: tuple
    k: int
    level: float
    pairs: tuple
    claims: tuple
    stated: dict
    p_wild: dict

    def to_text(self) -> str:
        """A plain-text rendering."""
        lines = [f"{self.quantity}: conflict {self.score:.2f} (expected share of wild claims)"
                 + ("; bimodal posterior" if self.bimodal else "")]
        if self.k >= 2:
            lines.append(f"  heterogeneity (REML, k={self.k}): Q={self.Q:.3g}  I2={self.I2:.1f}%  H2={self.H2:.3g}  "
                         f"tau2={self.tau2:.3g} [{self.tau2_ci[0]:.3g}, {self.tau2_ci[1]:.3g}]")
        for a, b, v in self.pairs:
            w = a if self.p_wild[a] >= self.p_wild[b] else b
            lines.append(f"  {a} {self.stated[a]} vs {b} {self.stated[b]}: agreement {v:.2f}; "
                         f"{w} p_wild {self.p_wild[w]:.2f}")
        for lab, pw, r, inf in self.claims:
            rs = "" if math.isnan(r) else f"  residual {r:+.2f}"
            lines.append(f"  {lab} {self.stated[lab]}: p_wild {pw:.2f}{rs}  influence {inf:+.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Conflict {self.quantity!r}: score {self.score:.3f}, bimodal={self.bimodal}>"


@attrs.frozen(eq=False, repr=False)
class SourceAgreement:
    """Source × source agreement over shared quantities.

    Attributes
    ----------
    sources : ndarray of str
    values : ndarray, shape (S, S)
        Entry (a, b): the mean, over the quantities on which both state a
        counted claim, of the mean agreement between a's and b's claims there
        (pairs of distinct claims; NaN when none). Symmetric.
    shared : ndarray of int, shape (S, S)
        The number of those quantities (on the diagonal: quantities where the
        source has at least two counted claims).
    """

    sources: np.ndarray
    values: np.ndarray
    shared: np.ndarray

    def to_dataframe(self, which: str = "agreement"):
        """``which='agreement'`` (the values) or ``'shared'`` (the counts) as a labelled DataFrame."""
        if which not in ("agreement", "shared"):
            raise ValueError(f"`which` must be 'agreement' or 'shared'; got {which!r}.")
        return square_frame(self.values if which == "agreement" else self.shared, self.sources)

    def __repr__(self) -> str:
        return f"<SourceAgreement: {len(self.sources)} sources, {int(np.triu(self.shared, 1).sum())} shared pairs>"


def agreement_matrix(cs, model: ClaimModel, q: int) -> AgreementMatrix:
    """The claim × claim agreement matrix of quantity code ``q`` over all its input rows."""
    rows = np.flatnonzero(cs.quantity == q)
    i, j, _ = quantity_pairs(model, np.array([q]))
    s0, n = int(model.starts[q]), int(model.counts[q])
    A = np.eye(n)
    v = pair_agreement(model, i, j)
    A[i - s0, j - s0] = v
    A[j - s0, i - s0] = v
    pos = np.full(len(cs), -1, dtype=np.int64)
    pos[model.claim] = np.arange(len(model.claim))
    loc = pos[cs.evidence[rows]] - s0
    M = A[np.ix_(loc, loc)]
    return AgreementMatrix(quantity=str(cs.quantities[q]), labels=_claim_labels(cs, rows),
                           rows=cs.row[rows].copy(), values=M)


def conflict_report(result, q: int, top: int = 3) -> Conflict:
    """The :class:`Conflict` of quantity code ``q`` of a FusionResult."""
    cs, model = result.claimset, result.model
    s0, n = int(model.starts[q]), int(model.counts[q])
    i, j, _ = quantity_pairs(model, np.array([q]))
    v = pair_agreement(model, i, j)
    order = np.argsort(v, kind="stable")[:top]
    labels = _claim_labels(cs, model.claim[s0 : s0 + n])
    pairs = tuple((str(labels[i[k] - s0]), str(labels[j[k] - s0]), float(v[k])) for k in order)
    het = heterogeneity(model, cs.kind[model.claim], tau2_ci=True, level=0.95)
    c = result.claims
    ev = model.claim[s0 : s0 + n]
    pw = np.asarray(c["p_wild"])[ev]
    res_ = np.asarray(c["residual"])[ev]
    inf = np.asarray(c["influence"])[ev]
    worst = np.argsort(-pw, kind="stable")[:top]
    claims = tuple((str(labels[k]), float(pw[k]), float(res_[k]), float(inf[k])) for k in worst)
    from .results import _stated

    stated = {str(labels[k]): _stated(c.row(int(ev[k]))) for k in range(n)}
    p_wild = {str(labels[k]): float(pw[k]) for k in range(n)}
    e = result.estimates
    return Conflict(
        quantity=str(cs.quantities[q]), score=float(e["conflict"][q]), bimodal=bool(e["bimodal"][q]),
        Q=float(het["Q"][q]), I2=float(het["I2"][q]), H2=float(het["H2"][q]), tau2=float(het["tau2"][q]),
        tau2_ci=(float(het["tau2_ci_low"][q]), float(het["tau2_ci_high"][q])), k=int(het["k"][q]), level=0.95,
        pairs=pairs, claims=claims, stated=stated, p_wild=p_wild,
    )


def source_agreement(cs, model: ClaimModel) -> SourceAgreement:
    """Source × source agreement over shared quantities (all pairs of all quantities, chunked)."""
    ns, nq = cs.n_sources, model.n_quantities
    src = cs.source[model.claim].astype(np.int64)
    # per (quantity, source a <= source b): sum and count of pair agreements
    keys, sums, cnts = [], [], []
    for i, j, q in _pair_chunks(model):
        v = pair_agreement(model, i, j)
        a, b = np.minimum(src[i], src[j]), np.maximum(src[i], src[j])
        key = (q * ns + a) * ns + b
        u, inv = np.unique(key, return_inverse=True)
        keys.append(u)
        sums.append(np.bincount(inv, weights=v))
        cnts.append(np.bincount(inv))
    values = np.full((ns, ns), np.nan)
    shared = np.zeros((ns, ns), dtype=np.int64)
    if keys:
        key = np.concatenate(keys)
        u, inv = np.unique(key, return_inverse=True)
        s = np.bincount(inv, weights=np.concatenate(sums))
        c = np.bincount(inv, weights=np.concatenate(cnts))
        per_q = s / c  # mean agreement of a and b on one quantity
        ab = u % (ns * ns)
        uab, inv2 = np.unique(ab, return_inverse=True)
        tot = np.bincount(inv2, weights=per_q)
        nsh = np.bincount(inv2)
        a, b = uab // ns, uab % ns
        values[a, b] = values[b, a] = tot / nsh
        shared[a, b] = shared[b, a] = nsh
    return SourceAgreement(sources=cs.sources.astype(object), values=values, shared=shared)


def _pair_chunks(model: ClaimModel, max_pairs: int = 1 << 21):
    """Yield (i, j, q) pair arrays over all quantities, at most about ``max_pairs`` per chunk."""
    n = model.counts.astype(np.int64)
    npairs = n * (n - 1) // 2
    cum = np.cumsum(npairs)
    start, nq = 0, model.n_quantities
    while start < nq:
        base = cum[start - 1] if start else 0
        stop = max(int(np.searchsorted(cum, base + max_pairs, side="right")), start + 1)
        qidx = np.arange(start, min(stop, nq))
        if cum[qidx[-1]] - base > 0:
            yield quantity_pairs(model, qidx)
        start = stop


def all_pair_agreement(model: ClaimModel, max_pairs: int = 1 << 21) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agreement of every pair of claims of every quantity: (i, j, value), chunked over quantities.

    Examples
    --------
    >>> import credscore
    >>> from credscore.likelihood import build_claim_model
    >>> cs = credscore.ClaimSet.from_records([
    ...     {"quantity": "a", "source": "x", "value": 100, "precision": 0},
    ...     {"quantity": "a", "source": "y", "value": 100, "precision": 0},
    ...     {"quantity": "b", "source": "x", "value": 5, "precision": 0},
    ... ])
    >>> i, j, v = all_pair_agreement(build_claim_model(cs))
    >>> i.tolist(), j.tolist(), v.tolist()
    ([0], [1], [1.0])
    """
    parts = [(i, j, pair_agreement(model, i, j)) for i, j, _ in _pair_chunks(model, max_pairs)]
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), np.zeros(0)
    return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]


def with_agreement(result, accurate: np.ndarray):
    """A FusionResult with the agreement and conflict columns added (see :func:`extend_tables`)."""
    est, cl, so = extend_tables(result.claimset, result.model, result.posterior, accurate,
                                result.estimates, result.claims, result.sources)
    return attrs.evolve(result, estimates=est, claims=cl, sources=so)
