"""Where would one more independent source's report land? The posterior predictive interval.

The credible interval of :func:`credscore.fuse` is for the true value: with many
agreeing sources it is far narrower than any one source's error. A reference that
is itself a report (another agency's figure, a gold standard taken from one more
website) differs from the truth by its own error, and is covered by the interval
of a **new report**, not by the truth's. For quantity q with posterior p(x | y),
a typical accurate source of q's attribute reports

    y* | x  ~  π_e · δ(x)  +  (1 − π_e) · F((y* − x) / σ)

(exact with the attribute's exact share π_e, else noisy with its typical error
scale σ and no bias; wild reports are left out), so

    P(y* ≤ t | y) = ∫ [π_e 1(x ≤ t) + (1 − π_e) F((t − x) / σ)] p(x | y) dx,

computed on the posterior's grid and atoms and inverted by bisection (Gelman et
al., *Bayesian Data Analysis*, 3rd ed., §1.3 and §6.3: posterior predictive
distributions). The typical source of an attribute is the claim-weighted median
error scale and the mean exact share of the fitted claims of that attribute.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._segments import segment_quantile, segment_sum
from .likelihood import SHAPE_POINT
from .results import Table

_BISECT = 45  # halvings of the bracket (3e-14 of its width)


def typical_source(model, attribute: np.ndarray, n_attributes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per attribute: the median error scale of its accurate point claims and its mean exact share.

    Parameters
    ----------
    model : ClaimModel
        The fitted continuous model (:attr:`FusionResult.model`).
    attribute : ndarray
        Attribute code of each quantity.
    n_attributes : int

    Returns
    -------
    sigma, exact_share : ndarray
        Model space; ``exact_share`` is 0 for attributes without sharp claims.
    """
    q = model.quantity
    a = attribute[q]
    p_acc = np.exp(model.log_rho)
    p_wild = np.exp(model.log_1mrho)
    p_exact = np.clip(1.0 - p_acc - p_wild, 0.0, 1.0)
    point = model.shape == SHAPE_POINT
    sig = segment_quantile(np.where(point, model.sigma, np.nan), a, n_attributes)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = segment_sum(p_exact / np.maximum(p_exact + p_acc, 1e-300), a, n_attributes) / \
            np.maximum(segment_sum(np.ones(len(a)), a, n_attributes), 1)
    fallback = segment_quantile(model.sigma, a, n_attributes)
    return np.where(np.isfinite(sig), sig, fallback), np.nan_to_num(share)


class _Mixture:
    """A set of posteriors held as weighted nodes (grid nodes and atoms), built once for the bisection."""

    def __init__(self, post, qidx: np.ndarray):
        self.n = len(qidx)
        inv = np.full(post.n, -1, dtype=np.int64)
        inv[qidx] = np.arange(len(qidx))
        self.blocks = []
        self.lo, self.hi = np.empty(self.n), np.empty(self.n)
        for b in post.blocks(qidx):
            i = inv[b.part]
            self.blocks.append((i, b.x, post.continuous_weight(b.part)[:, None] * b.w * b.q))
            self.lo[i], self.hi[i] = b.x[:, 0], b.x[:, -1]
        self.atom_owner = np.zeros(0, dtype=np.int64)
        self.atom_x = self.atom_p = np.zeros(0)
        atoms = post.atoms
        if atoms is not None and len(atoms.x):
            counts = atoms.start[qidx + 1] - atoms.start[qidx]
            ai = np.repeat(atoms.start[qidx], counts) + (np.arange(int(counts.sum()))
                                                         - np.repeat(np.cumsum(counts) - counts, counts))
            self.atom_owner, self.atom_x, self.atom_p = np.repeat(np.arange(self.n), counts), atoms.x[ai], atoms.prob[ai]

    def cdf(self, t: np.ndarray, sigma: np.ndarray, pe: np.ndarray) -> np.ndarray:
        """P(y* ≤ t | y) per quantity (t, sigma, pe per quantity)."""
        out = np.zeros(self.n)
        for i, x, wq in self.blocks:
            g = special.ndtr((t[i][:, None] - x) / sigma[i][:, None])
            g *= (1 - pe[i])[:, None]
            g += pe[i][:, None] * (x <= t[i][:, None])
            out[i] = np.sum(wq * g, axis=1)
        if len(self.atom_x):
            li, x = self.atom_owner, self.atom_x
            g = pe[li] * (x <= t[li]) + (1 - pe[li]) * special.ndtr((t[li] - x) / sigma[li])
            out += segment_sum(self.atom_p * g, li, self.n)
        return out

    def snap(self, t: np.ndarray, tol: np.ndarray) -> np.ndarray:
        """``t`` moved onto an atom within ``tol`` of it (a quantile at a jump is the atom itself)."""
        if not len(self.atom_x):
            return t
        li = self.atom_owner
        near = np.abs(self.atom_x - t[li]) <= tol[li]
        out = t.copy()
        out[li[near]] = self.atom_x[near]
        return out


def predictive_interval(post, model, attribute: np.ndarray, n_attributes: int, level: float,
                        qidx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval of one more independent report of each quantity (model space)."""
    qidx = np.arange(post.n) if qidx is None else np.asarray(qidx)
    sig_a, pe_a = typical_source(model, attribute, n_attributes)
    sigma, pe = sig_a[attribute[qidx]], pe_a[attribute[qidx]]
    mix = _Mixture(post, qidx)
    # the bracket: the grid's ends (atoms lie inside) widened by 12 error scales
    lo0, hi0 = mix.lo - 12 * sigma, mix.hi + 12 * sigma
    out = []
    for p in ((1 - level) / 2, (1 + level) / 2):
        lo, hi = lo0.copy(), hi0.copy()
        for _ in range(_BISECT):
            mid = 0.5 * (lo + hi)
            below = mix.cdf(mid, sigma, pe) < p
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        # the quantile is the least t with F(t) ≥ p: the bracket's upper end, or the atom it closes on
        out.append(mix.snap(hi, 1e-9 * (hi0 - lo0)))
    return out[0], out[1]


def predictive_table(result, level: float | None = None) -> Table:
    """The :meth:`credscore.FusionResult.predictive` table (natural units)."""
    from .fusion import _check_level
    from .mixture import quantity_attributes

    level = result.level if level is None else _check_level(level)
    cs = result.claimset
    attr = quantity_attributes(cs)
    na = int(attr.max()) + 1 if len(attr) else 0
    lo, hi = predictive_interval(result.posterior, result.model, attr, na, level)
    logq = cs.log_scale
    idx = np.arange(cs.n_quantities)
    if result.posterior.atoms is not None:  # an end on an atom comes back as the value stated
        lo, hi = result.posterior.atoms.natural(lo, idx, logq), result.posterior.atoms.natural(hi, idx, logq)
    else:
        lo = np.where(logq, np.exp(np.where(logq, lo, 0.0)), lo)
        hi = np.where(logq, np.exp(np.where(logq, hi, 0.0)), hi)
    k = getattr(result, "exponent", None)
    if k is not None:  # a linear quantity modelled in units of 2**k (credscore.rescale)
        from .rescale import natural

        lo, hi = natural(lo, k), natural(hi, k)
    return Table({
        "quantity": cs.quantities.astype(object), "median": result.estimates["median"],
        "low": result.estimates["low"], "high": result.estimates["high"],
        "report_low": lo, "report_high": hi, "level": np.full(len(lo), level),
    })
