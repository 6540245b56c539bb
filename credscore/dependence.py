"""Copy detection: sources that repeat each other, and the discount of their evidence.

Declared relays (``reported_by``) are handled when claims are read: one
statement relayed by several outlets counts once. Undeclared copying is
detected here, in the spirit of Dong, Berti-Equille & Srivastava (2009),
"Integrating conflicting data: the role of source dependence", PVLDB 2(1):
independent sources rarely state *exactly* the same value, and more rarely
still the same value the consensus rejects; a pair of sources that does so on
many shared quantities is probably dependent.

For a pair of sources (a, b) and each quantity both state, let the statement
intervals coincide (equal to 1e-9 of their scale) or not. Two independent
sources that both state the truth coincide, so coinciding on a value the fit
believes (the posterior probability t that it is the truth) is no evidence
either way: an independent bloc that agrees with the truth keeps its weight.
Coinciding on a value the fit rejects is: independent noisy claims coincide
by chance with probability π ≈ w / (2 √π σ) (two draws of N(x + b, σ²) within
one rounding width w of each other), while a copier repeats its original with
probability c. The dependence score is the posterior probability of copying,

    P(dep | data) = σ( logit α + Σ_q log LR_q ),
    LR_q = [(c + (1 − c) π) / π]^(1 − t) if the claims coincide, else 1 − c,

with prior α = 0.1 and copy rate c = 0.8. Dependent evidence is discounted by
weighting the likelihood of each claim (a power likelihood) by
1 / (1 + Σ_j d_{s(i), s(j)}) over the claims j of other sources that coincide
with it, where d is the excess of the score over its prior,
(P(dep) − α) / (1 − α): k copies of one statement by fully dependent sources
count once, and a bloc whose coincidences are all on believed values is not
discounted.
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import special

from .likelihood import ClaimModel

__all__ = ["Dependence", "detect_copies", "copy_statistics", "merge_copy_statistics", "copy_scores", "copy_weights", "PRIOR_DEPENDENCE", "COPY_RATE"]

PRIOR_DEPENDENCE = 0.1
COPY_RATE = 0.8


@attrs.frozen(eq=False, repr=False)
class Dependence:
    """Source × source dependence scores.

    Attributes
    ----------
    sources : ndarray of str
    score : ndarray, shape (S, S)
        Posterior probability that the two sources are dependent (symmetric;
        NaN for pairs with no shared quantity; 0 on the diagonal).
    shared : ndarray of int, shape (S, S)
        Quantities both state.
    coincide : ndarray of int, shape (S, S)
        Quantities on which their statements coincide exactly.
    """

    sources: np.ndarray
    score: np.ndarray
    shared: np.ndarray
    coincide: np.ndarray

    def pairs(self, min_score: float = 0.5):
        """The pairs scoring at least ``min_score``, most dependent first, as a Table."""
        from .results import Table

        a, b = np.triu_indices(len(self.sources), 1)
        s = self.score[a, b]
        keep = np.nan_to_num(s, nan=-1.0) >= min_score
        order = np.argsort(-s[keep], kind="stable")
        a, b = a[keep][order], b[keep][order]
        return Table({
            "source_a": self.sources[a].astype(object),
            "source_b": self.sources[b].astype(object),
            "score": self.score[a, b],
            "shared": self.shared[a, b],
            "coincide": self.coincide[a, b],
        })

    def to_dataframe(self, which: str = "score"):
        """``which='score'``, ``'shared'`` or ``'coincide'`` as a labelled DataFrame (needs pandas)."""
        if which not in ("score", "shared", "coincide"):
            raise ValueError(f"`which` must be 'score', 'shared' or 'coincide'; got {which!r}.")
        from .results import square_frame

        return square_frame(getattr(self, which), self.sources)

    def __repr__(self) -> str:
        n = int(np.sum(np.triu(np.nan_to_num(self.score) >= 0.5, 1)))
        return f"<Dependence: {len(self.sources)} sources, {n} pairs scoring >= 0.5>"


def detect_copies(
    source: np.ndarray,
    n_sources: int,
    model: ClaimModel,
    believed: np.ndarray,
    *,
    prior: float = PRIOR_DEPENDENCE,
    copy_rate: float = COPY_RATE,
    exact_rate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dependence scores of all source pairs and the resulting claim weights.

    Parameters
    ----------
    source : ndarray of int
        Source code of each claim of ``model`` (model order).
    n_sources : int
    model : ClaimModel
    believed : ndarray
        Posterior probability that each claim of ``model`` states the truth (to its rounding).
    prior, copy_rate : float
        Prior probability of dependence and the rate at which a copier copies.
    exact_rate : ndarray, optional
        Prior probability that each claim states the truth exactly (its source's prior π_e).
        Two independent sources that both state the truth coincide, so the chance rate of a
        coincidence is at least the product of theirs: one shared quantity can then never make
        two careful sources look like copies.

    Returns
    -------
    score, shared, coincide : ndarray, shape (S, S)
    weight : ndarray
        Likelihood weight of each claim of ``model``.
    """
    stats, copies = copy_statistics(source, n_sources, model, believed, copy_rate=copy_rate, exact_rate=exact_rate)
    score, shared, coincide = copy_scores(n_sources, stats, prior=prior)
    return score, shared, coincide, copy_weights(score, source, copies, len(model.claim), prior=prior)


def copy_statistics(source: np.ndarray, n_sources: int, model: ClaimModel, believed: np.ndarray, *,
                    copy_rate: float = COPY_RATE, exact_rate: np.ndarray | None = None) -> tuple[tuple, tuple]:
    """The per source-pair sums of :func:`detect_copies` over the claims of ``model``.

    Returns ``(pairs, llr, shared, coincide)``, where ``pairs`` are the source pairs
    (a · n_sources + b, a < b, sorted) and the others their summed log likelihood ratios,
    shared quantities and coinciding quantities: sums over quantities, so the statistics of
    partitions holding disjoint quantities add (:func:`merge_copy_statistics`). The second
    element, ``(ci, cj)``, lists the coinciding claim pairs (positions in ``model``).
    """
    from .agreement import _pair_chunks

    ns = n_sources
    scale = np.maximum(np.abs(np.where(np.isfinite(model.centre), model.centre, 0.0)), model.sigma)
    llr_parts, key_parts, coin_parts = [], [], []
    ci_parts, cj_parts = [], []
    for i, j, q in _pair_chunks(model):
        diff = src_diff = source[i] != source[j]
        i, j, q = i[diff], j[diff], q[diff]
        del src_diff
        tol = 1e-9 * np.maximum(scale[i], scale[j])
        same = (model.shape[i] == model.shape[j]) & _close(model.lo[i], model.lo[j], tol) & _close(model.hi[i], model.hi[j], tol)
        # chance rate of two independent noisy claims coinciding: within one rounding width
        w = np.maximum(np.where(np.isfinite(model.hi - model.lo), model.hi - model.lo, 0.0)[i],
                       np.where(np.isfinite(model.hi - model.lo), model.hi - model.lo, 0.0)[j])
        sig = np.maximum(model.sigma[i], model.sigma[j])
        pi = np.clip(w / (2.0 * np.sqrt(np.pi) * sig), 1e-6, 0.5)
        if exact_rate is not None:  # both exact: independent sources coincide on the truth
            pi = np.clip(np.maximum(pi, exact_rate[i] * exact_rate[j]), 1e-6, 0.999)
        t = np.clip(np.minimum(believed[i], believed[j]), 0.0, 1.0)
        llr = np.where(same, (1.0 - t) * np.log((copy_rate + (1 - copy_rate) * pi) / pi), np.log1p(-copy_rate))
        a, b = np.minimum(source[i], source[j]), np.maximum(source[i], source[j])
        # one contribution per (quantity, source pair): average over their claim pairs there
        key = (q.astype(np.int64) * ns + a) * ns + b
        llr_parts.append(llr)
        key_parts.append(key)
        coin_parts.append(same)
        ci_parts.append(i[same])
        cj_parts.append(j[same])
    empty = np.zeros(0, dtype=np.int64)
    if not key_parts:
        return (empty, np.zeros(0), empty, empty), (empty, empty)
    key = np.concatenate(key_parts)
    uq, inv = np.unique(key, return_inverse=True)
    llr_q = np.bincount(inv, weights=np.concatenate(llr_parts)) / np.bincount(inv)
    coin_q = np.bincount(inv, weights=np.concatenate(coin_parts)) > 0
    ab = uq % (ns * ns)
    uab, inv2 = np.unique(ab, return_inverse=True)
    stats = (uab, np.bincount(inv2, weights=llr_q), np.bincount(inv2),
             np.bincount(inv2, weights=coin_q).astype(np.int64))
    return stats, (np.concatenate(ci_parts), np.concatenate(cj_parts))


def merge_copy_statistics(parts) -> tuple:
    """The :func:`copy_statistics` of several partitions holding disjoint quantities, summed."""
    parts = list(parts)
    pairs = np.concatenate([p[0] for p in parts])
    u, inv = np.unique(pairs, return_inverse=True)
    return (u, np.bincount(inv, weights=np.concatenate([p[1] for p in parts]), minlength=len(u)),
            np.bincount(inv, weights=np.concatenate([p[2] for p in parts]), minlength=len(u)).astype(np.int64),
            np.bincount(inv, weights=np.concatenate([p[3] for p in parts]), minlength=len(u)).astype(np.int64))


def copy_scores(n_sources: int, stats: tuple, *, prior: float = PRIOR_DEPENDENCE) -> tuple[np.ndarray, ...]:
    """Dependence scores, shared and coinciding quantities (S × S) from :func:`copy_statistics`."""
    ns = n_sources
    score = np.full((ns, ns), np.nan)
    shared = np.zeros((ns, ns), dtype=np.int64)
    coincide = np.zeros((ns, ns), dtype=np.int64)
    np.fill_diagonal(score, 0.0)
    uab, total, n_shared, n_coin = stats
    if len(uab) == 0:
        return score, shared, coincide
    a, b = uab // ns, uab % ns
    d = special.expit(special.logit(prior) + total)
    score[a, b] = score[b, a] = d
    shared[a, b] = shared[b, a] = n_shared
    coincide[a, b] = coincide[b, a] = n_coin
    return score, shared, coincide


def copy_weights(score: np.ndarray, source: np.ndarray, copies: tuple, n_claims: int, *,
                 prior: float = PRIOR_DEPENDENCE) -> np.ndarray:
    """Likelihood weight of each claim: 1 / (1 + Σ of the dependence excess over the claims of
    other sources that coincide with it); ``copies`` = (ci, cj) from :func:`copy_statistics`."""
    ci, cj = copies
    if len(ci) == 0:
        return np.ones(n_claims)
    dd = np.clip((score[source[ci], source[cj]] - prior) / (1.0 - prior), 0.0, 1.0)
    dup = np.bincount(ci, weights=dd, minlength=n_claims) + np.bincount(cj, weights=dd, minlength=n_claims)
    return 1.0 / (1.0 + dup)


def _close(x: np.ndarray, y: np.ndarray, tol: np.ndarray) -> np.ndarray:
    both_inf = np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y))
    with np.errstate(invalid="ignore"):
        return both_inf | (np.abs(x - y) <= tol)
