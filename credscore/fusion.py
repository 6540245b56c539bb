"""fuse(): Bayesian estimates of every quantity from conflicting claims.

With fixed priors each quantity's posterior is computed exactly on a grid
(:mod:`credscore.posterior`) from the mixture likelihood of
:mod:`credscore.likelihood`: each claim is accurate with its source's prior
mean reliability ρ_s (the plug-in of the Beta prior's mean, exact for one
claim per source and quantity) and wild otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np
from scipy import stats

from ._segments import distinct_per_group, segment_count, segment_sum
from .agreement import with_agreement
from .claims import KINDS, ClaimSet
from .dependence import Dependence
from .dependence import detect_copies as detect_copies_
from .learning import LearningInfo, learn_sources
from .likelihood import build_claim_model
from .posterior import DEFAULT_GRID_SIZE, DEFAULT_ROBUST_GRID_SIZE, compute_posteriors
from .priors import QuantityPrior, SourcePriors, resolve_source_priors
from .results import FusionResult, Table, _check_level

__all__ = ["fuse"]

ACCURATE_AT = 0.8
WILD_AT = 0.2


def _as_claimset(claims: Any) -> ClaimSet:
    if isinstance(claims, ClaimSet):
        return claims
    if isinstance(claims, tuple) and any(isinstance(c, (ClaimSet, SourcePriors)) for c in claims):
        raise TypeError(
            "`claims` is a tuple of " + ", ".join(type(c).__name__ for c in claims)
            + ", as load_seed_case() returns: unpack it, `claims, priors = load_seed_case()`, "
            "then call fuse(claims, priors)."
        )
    if isinstance(claims, Iterable) and not isinstance(claims, (str, bytes, Mapping)):
        from .claims import Claim

        items = list(claims)
        if items and all(isinstance(c, Claim) for c in items):
            return ClaimSet.from_claims(items)
        return ClaimSet.from_records(items)
    raise TypeError(f"`claims` must be a ClaimSet or a list of records; got {type(claims).__name__}.")


def fuse(
    claims: Any,
    priors: SourcePriors | None = None,
    *,
    level: float = 0.9,
    quantity_priors: Mapping[str, QuantityPrior] | None = None,
    learn_reliability: bool | str = "auto",
    detect_copies: bool = False,
    max_iter: int = 200,
    tol: float = 1e-6,
    diagnostics: bool = True,
    grid_size: int = DEFAULT_GRID_SIZE,
    robust_grid_size: int = DEFAULT_ROBUST_GRID_SIZE,
    dynamics: Any = "static",
    dates: Any = None,
) -> FusionResult:
    """Fuse conflicting claims into a Bayesian estimate of every quantity.

    Parameters
    ----------
    claims : ClaimSet or list of dict or list of Claim
        The claims (records are validated by :meth:`ClaimSet.from_records`).
    priors : SourcePriors, optional
        Reliability and error-scale priors per source / source kind
        (default: :class:`SourcePriors` ()).
    level : float
        Mass of the equal-tailed credible intervals, in (0, 1).
    quantity_priors : mapping of str to QuantityPrior, optional
        Priors on the true values (default: flat in model space over a
        range wider than the claims).
    learn_reliability : bool or 'auto'
        Learn each source's reliability and error-scale inflation from its
        track record across quantities (:mod:`credscore.learning`). ``'auto'``
        (default) learns when some source states more than one quantity;
        with one claim per source learning changes nothing (each claim is
        weighed by what the source's *other* claims say).
    detect_copies : bool
        Detect sources that copy each other (:mod:`credscore.dependence`) and
        discount their shared evidence (default False; with learning on).
        Opt-in because the data cannot tell copying from agreeing on a correct
        official figure: on the population benchmark, editors who all typed
        the census figure are scored dependent, and discounting them lets a
        wrong value win (MAE 2,439 → 3,848); on sources copying a bad one it
        is what keeps the estimate in place (``benchmarks/RESULTS.md``).
        ``result.dependence()`` gives the scores either way.
    diagnostics : bool
        Add the agreement, residual, influence and conflict columns
        (:mod:`credscore.agreement`) to the tables (default). ``False`` skips
        them, which halves the time of large fits; ``result.agreement(q)``,
        ``result.conflict(q)`` and ``result.source_agreement()`` still work.
    max_iter, tol : int, float
        Iteration limit and tolerance of the learning (a
        :class:`~credscore.ConvergenceWarning` is raised when it stops early).
    grid_size, robust_grid_size : int
        Grid points of the fast and the robust passes (see
        :mod:`credscore.posterior`).
    dynamics : {'static', 'drift'} or credscore.timeline.Drift
        ``'static'`` (default): one value per quantity. ``'drift'``: the value
        also follows a random walk over the claims' dates
        (:mod:`credscore.timeline`; options via a :class:`~credscore.timeline.Drift`);
        the static fit is kept and ``result.trajectory(q)`` /
        ``result.estimate(q, date=...)`` give the value as of any date.
    dates : iterable of date-like, optional
        Extra dates at which every quantity's trajectory is reported (drift only).

    Returns
    -------
    FusionResult

    Notes
    -----
    Claim c by source s about a quantity with model-space value x has
    likelihood ρ_s P_acc(c | x, σ_c) + (1 − ρ_s) P_wild(c) (see
    :mod:`credscore.likelihood`); the posterior is prior × Π_c p(c | x) over
    the distinct statements (a statement relayed by several outlets counts
    once). The mixture treatment of unreliable sources follows Zhao et al.
    (2012), "A Bayesian approach to discovering truth from conflicting
    sources for data integration", PVLDB 5(6); rounding is treated as interval
    censoring (Heitjan & Rubin 1991, "Ignorability and coarse data", Ann.
    Statist. 19(4)).

    Examples
    --------
    >>> import credscore
    >>> res = credscore.fuse([
    ...     {"quantity": "troops", "source": "Kyiv", "value": 11000},
    ...     {"quantity": "troops", "source": "officials", "kind": "approx", "value": 10000},
    ...     {"quantity": "troops", "source": "NIS", "value": 1500},
    ... ])
    >>> est = res.estimate("troops")
    >>> 9000 < est.median < 12000
    True
    >>> res.claims["status"].tolist()
    ['accurate', 'accurate', 'wild']
    """
    level = _check_level(level)
    from .timeline import Drift

    drift = Drift.coerce(dynamics)
    if dates is not None and drift is None:
        raise ValueError("`dates` needs dynamics='drift'.")
    if priors is not None and not isinstance(priors, SourcePriors):
        raise TypeError(f"`priors` must be a SourcePriors; got {type(priors).__name__}.")
    for name, g in (("grid_size", grid_size), ("robust_grid_size", robust_grid_size)):
        if int(g) != g or g < 16:
            raise ValueError(f"`{name}` must be an integer of at least 16.")
    cs = _as_claimset(claims)
    priors = priors or SourcePriors()
    model = build_claim_model(cs, priors, dict(quantity_priors or {}))
    sp = resolve_source_priors(priors, cs)
    fit, info, dep = None, LearningInfo(False), None
    if not isinstance(detect_copies, (bool, np.bool_)):
        raise ValueError(f"`detect_copies` must be True or False; got {detect_copies!r}.")
    if _should_learn(learn_reliability, cs):
        pooled = ~np.isin(cs.sources.astype(object), list(priors.sources))
        learned, fit, info = learn_sources(model, cs, sp["a"], sp["b"], pooled, max_iter=int(max_iter), tol=float(tol))
        if detect_copies is True:
            dep = detect_copies_(cs.source[model.claim], cs.n_sources, learned, fit.responsibility)
            if np.any(dep[3] < 1.0):
                weighted = attrs.evolve(model, weight=dep[3])
                learned, fit, info = learn_sources(weighted, cs, sp["a"], sp["b"], pooled, max_iter=int(max_iter), tol=float(tol))
        model = learned
    elif detect_copies is True:
        dep = detect_copies_(cs.source[model.claim], cs.n_sources, model, np.full(len(model.claim), 0.5))
        model = attrs.evolve(model, weight=dep[3])
    post, acc_model = compute_posteriors(model, int(grid_size), int(robust_grid_size))

    # per input claim: its evidence claim's probability of being accurate
    p_acc_ev = np.empty(len(cs))
    p_acc_ev[model.claim] = acc_model
    p_acc = p_acc_ev[cs.evidence]
    result = FusionResult(
        estimates=_estimates_table(cs, post, level),
        claims=_claims_table(cs, p_acc),
        sources=_sources_table(cs, priors, p_acc, fit, level),
        level=level,
        claimset=cs,
        posterior=post,
        model=model,
        learning=info,
        dependence_scores=None if dep is None else Dependence(cs.sources.astype(object), *dep[:3]),
    )
    if drift is not None:  # drifting truths (credscore.timeline), on the fitted model
        from .timeline import fit_timeline

        result = attrs.evolve(result, timeline=fit_timeline(model, cs, drift, level=level, dates=dates))
    if not diagnostics:
        return result
    result = with_agreement(result, acc_model)  # agreement and conflict columns (credscore.agreement)
    return result


def _should_learn(learn: bool | str, cs: ClaimSet) -> bool:
    if learn == "auto":
        return bool(np.any(distinct_per_group(cs.source, cs.quantity, cs.n_sources, cs.n_quantities) > 1))
    if isinstance(learn, (bool, np.bool_)):
        return bool(learn)
    raise ValueError(f"`learn_reliability` must be True, False or 'auto'; got {learn!r}.")


def _estimates_table(cs: ClaimSet, post, level: float) -> Table:
    nq = cs.n_quantities
    logq = cs.log_scale
    qs = post.quantiles([0.5, (1 - level) / 2, (1 + level) / 2])
    mean, sd, mode = np.empty(nq), np.empty(nq), np.empty(nq)
    lin, idx = np.flatnonzero(~logq), np.flatnonzero(logq)
    if len(lin):
        mean[lin], sd[lin] = post.moments(lin)
        mode[lin] = post.mode(lin)
    if len(idx):  # natural units: moments and mode of exp(x)
        mean[idx], sd[idx] = post.moments(idx, exp=True)
        mode[idx] = np.exp(post.mode(idx, exp=True))
    back = qs.copy()
    back[logq] = np.exp(qs[logq])
    units = np.empty(nq, dtype=object)
    units[cs.quantity[::-1]] = cs.unit[::-1]  # first stated unit per quantity
    n_claims = segment_count(cs.quantity, nq)
    n_stmt = segment_count(cs.quantity[cs.is_evidence], nq)
    return Table({
        "quantity": cs.quantities.astype(object),
        "scale": np.where(logq, "log", "linear").astype(object),
        "unit": units,
        "n_claims": n_claims,
        "n_statements": n_stmt,
        "mean": mean,
        "sd": sd,
        "median": back[:, 0],
        "mode": mode,
        "low": back[:, 1],
        "high": back[:, 2],
        "level": np.full(nq, level),
        "log_evidence": post.log_evidence,
        "grid_attempts": post.attempts,
        "resolved": post.resolved,
    })


def _claims_table(cs: ClaimSet, p_acc: np.ndarray) -> Table:
    status = np.where(p_acc >= ACCURATE_AT, "accurate", np.where(p_acc <= WILD_AT, "wild", "doubtful")).astype(object)
    reporter = np.array([None] + list(cs.reporters), dtype=object)[cs.reporter + 1]
    return Table({
        "row": cs.row,
        "quantity": cs.quantities[cs.quantity].astype(object),
        "source": cs.sources[cs.source].astype(object),
        "reported_by": reporter,
        "kind": np.array(KINDS, dtype=object)[cs.kind],
        "value": cs.value,
        "low": cs.low,
        "high": cs.high,
        "counted": cs.is_evidence,
        "evidence_row": cs.row[cs.evidence],
        "p_accurate": p_acc,
        "status": status,
    })


def _sources_table(cs: ClaimSet, priors: SourcePriors, p_acc: np.ndarray, fit, level: float) -> Table:
    """One row per source: prior, reliability posterior (with its credible interval), error scale."""
    ns = cs.n_sources
    sp = resolve_source_priors(priors, cs)
    ev = cs.is_evidence
    n_claims = segment_count(cs.source[ev], ns)
    n_q = distinct_per_group(cs.source, cs.quantity, ns, cs.n_quantities)
    acc = segment_sum(p_acc[ev], cs.source[ev], ns)
    a0, b0 = (sp["a"], sp["b"]) if fit is None else (fit.a, fit.b)
    # Beta posterior of the reliability given the exact P(accurate) of the source's claims
    a_post, b_post = a0 + acc, b0 + (n_claims - acc)
    certain = b_post <= 0  # a prior mean of exactly 1
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(certain, 1.0, stats.beta.ppf((1 - level) / 2, a_post, np.maximum(b_post, 1e-300)))
        hi = np.where(certain, 1.0, stats.beta.ppf((1 + level) / 2, a_post, np.maximum(b_post, 1e-300)))
    kinds = np.array([priors.source_kinds.get(str(s), k) for s, k in zip(cs.sources, cs.source_kinds)], dtype=object)
    error = sp["sigma"] if fit is None else fit.sigma
    return Table({
        "source": cs.sources.astype(object),
        "source_kind": kinds,
        "reliability_prior": sp["a"] / (sp["a"] + sp["b"]),
        "reliability": a_post / (a_post + b_post),
        "reliability_low": lo,
        "reliability_high": hi,
        "error_scale": error,
        "error_inflation": np.ones(ns) if fit is None else fit.inflation,
        "n_claims": n_claims,
        "n_quantities": n_q,
        "mean_p_accurate": acc / np.maximum(n_claims, 1),
    })
