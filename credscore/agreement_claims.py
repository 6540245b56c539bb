"""Agreement per claim and per quantity: leave-one-out diagnostics, bimodality, heterogeneity,
and the columns they add to ``fuse()``'s tables (definitions in :mod:`credscore.agreement`)."""

from __future__ import annotations

import warnings

import attrs
import numpy as np

from ._segments import segment_count, segment_sum
from .agreement_pairs import _effective_shape
from .likelihood import SHAPE_INTERVAL, ClaimModel, log_accurate, log_terms
from .loo import loo_chunks, rows_of
from .posterior import grid_quantiles
from .results import Table

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
