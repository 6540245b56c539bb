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

from ._segments import distinct_per_group, segment_count, segment_quantile, segment_sum
from .agreement import with_agreement
from .claims import KINDS, ClaimSet
from . import rescale
from .dependence import Dependence
from .dependence import detect_copies as detect_copies_
from .io import _codes
from .learning import LearningInfo, learn_model, prior_params
from .likelihood import build_claim_model
from .mixture import build_layout, fit_posteriors, initial_attribute_scale, widen_support
from .posterior import DEFAULT_GRID_SIZE, DEFAULT_ROBUST_GRID_SIZE
from .priors import QuantityPrior, SourcePriors, resolve_source_priors
from .results import FusionResult, Table, _check_level

__all__ = ["fuse"]

ACCURATE_AT = 0.8
WILD_AT = 0.2
#: Estimates columns in natural units (scaled back from a rescaled model space: credscore.rescale).
_NATURAL_ESTIMATES = ("mean", "sd", "median", "mode", "low", "high")


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
    detect_copies: bool | str = "auto",
    max_iter: int = 200,
    tol: float = 1e-3,
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
    dynamics : {'static', 'drift', 'auto'} or credscore.timeline.Drift
        ``'static'`` (default): one value per quantity. ``'drift'``: the value
        also follows a random walk over the claims' dates
        (:mod:`credscore.timeline`; options via a :class:`~credscore.timeline.Drift`);
        the static fit is kept and ``result.trajectory(q)`` /
        ``result.estimate(q, date=...)`` give the value as of any date, and
        the claims of a quantity stated on two dates or more are judged
        against its value at their own dates (``p_accurate``, ``status``,
        ``holds``; column ``judged_at``). ``'auto'`` (``Drift(auto=True)``):
        the data choose, per quantity, drifting or fixed by a Bayes factor
        (estimates columns ``dynamics``, ``drift_log_bf``;
        :mod:`credscore.dynamics`).
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
    # linear quantities of extreme magnitude are modelled in units of 2**k (credscore.rescale)
    k = rescale.exponents(cs)
    mcs = rescale.scaled_claims(cs, k)
    model = build_claim_model(mcs, priors, rescale.scaled_quantity_priors(quantity_priors or {}, cs, k))
    sp = resolve_source_priors(priors, cs)
    info, dep, src_fit = LearningInfo(False), None, None
    layout = build_layout(model, mcs)
    fixed = np.zeros(cs.n_quantities, dtype=bool)
    for name in quantity_priors or {}:
        fixed[cs.quantity_index(name)] = True
    # the attributes' starting scales once (the stated values they come from do not change below)
    attribute_sigma = initial_attribute_scale(layout)
    layout = widen_support(layout, prior_params(layout, sp["a"], sp["b"], sp["sigma"].astype(float),
                                                attribute_sigma).sigma, fixed)
    layout = attrs.evolve(layout, base=rescale.clip_prior(layout.base, k, fixed))
    model = layout.base
    grids = dict(grid_size=int(grid_size), robust_grid_size=int(robust_grid_size))
    prior_sigma = sp["sigma"].astype(float)  # NaN: the attribute's learned scale
    if detect_copies not in (True, False, "auto"):
        raise ValueError(f"`detect_copies` must be True, False or 'auto'; got {detect_copies!r}.")
    if _should_learn(learn_reliability, cs):
        params, fitted, src_fit, info, dep = learn_model(
            layout, sp["a"], sp["b"], prior_sigma, dependence=detect_copies in (True, "auto"),
            pooled=np.fromiter((str(x) not in priors.sources for x in cs.sources), bool, cs.n_sources),
            kinds=_codes([str(k) for k in cs.source_kinds])[0],
            max_iter=int(max_iter), tol=float(tol), **grids)
    else:
        if detect_copies is True:  # priors only: coincidences judged against a neutral belief
            dep = detect_copies_(cs.source[model.claim], cs.n_sources, model, np.full(len(model.claim), 0.5))
            layout = attrs.evolve(layout, base=attrs.evolve(model, weight=dep[3]))
        params = prior_params(layout, sp["a"], sp["b"], prior_sigma, attribute_sigma)
        fitted = fit_posteriors(layout, params, **grids)
    post, acc_model, model = fitted.posterior, fitted.accurate, fitted.model

    # per input claim: its evidence claim's probability of being accurate (exact or noisy) and exact
    ev_pos = np.empty(len(cs), dtype=np.int64)
    ev_pos[model.claim] = np.arange(len(model.claim))
    ev_pos = ev_pos[cs.evidence]  # the model position of each input claim's evidence
    p_acc, p_exact = acc_model[ev_pos], fitted.exact[ev_pos]
    estimates = _with_bounds(rescale.natural_columns(_estimates_table(mcs, post, level), k, _NATURAL_ESTIMATES),
                             cs, model, post, quantity_priors)
    sources = _sources_table(cs, priors, p_acc, p_exact, layout, params, src_fit, level, k)
    timeline, at_date = None, None
    if drift is not None:  # drifting truths (credscore.timeline); dated claims judged at their dates
        from .dynamics import judge_at_dates

        judged = judge_at_dates(model, mcs, drift, acc_model, level=level, dates=dates)
        timeline = rescale.natural_timeline(judged.timeline, k)
        acc_model = judged.accurate
        p_acc = acc_model[ev_pos]
        at_date = judged.drifting[cs.quantity]  # claims judged against their own date's value
        point = np.where(at_date, judged.timeline.claim_point[ev_pos], -1)
        estimates = Table({**estimates.data, "dynamics": np.where(judged.drifting, "drift", "static").astype(object),
                           "drift_log_bf": judged.log_bf})
    claims_t = _claims_table(cs, p_acc, p_exact)
    if at_date is not None:
        dates_col = np.array(list(timeline.points["date"]) + [None], dtype=object)[point]
        claims_t = Table({**claims_t.data, "judged_at": dates_col})
    result = FusionResult(
        estimates=estimates,
        claims=claims_t,
        sources=sources,
        level=level,
        claimset=cs,
        posterior=post,
        model=model,
        learning=info,
        dependence_scores=None if dep is None else Dependence(cs.sources.astype(object), *dep[:3]),
        timeline=timeline,
        exponent=k,
    )
    interval = None
    if at_date is not None and at_date.any():  # the interval of each claim's own date where its quantity drifts
        low, high = (np.asarray(result.estimates[c], float)[cs.quantity] for c in ("low", "high"))
        tl_low, tl_high = (np.append(np.asarray(timeline.points[c], float), np.nan)[point] for c in ("low", "high"))
        interval = (np.where(at_date, tl_low, low), np.where(at_date, tl_high, high))
    result = _with_statuses(result, interval)  # holds / evidence words per claim (credscore.statuses)
    if not diagnostics:
        return result
    result = with_agreement(result, acc_model)  # agreement and conflict columns (credscore.agreement)
    with np.errstate(over="ignore"):  # a variance beyond the float range (magnitudes over ~1e154) is inf
        return attrs.evolve(result, estimates=rescale.natural_columns(result.estimates, k, ("tau2",), power=2))


def _claim_probabilities(cs: ClaimSet, fitted) -> tuple[np.ndarray, np.ndarray]:
    """Per input claim: its evidence claim's probability of being accurate (exact or noisy) and exact."""
    model = fitted.model
    ev_pos = np.empty(len(cs), dtype=np.int64)
    ev_pos[model.claim] = np.arange(len(model.claim))
    ev_pos = ev_pos[cs.evidence]  # the model position of each input claim's evidence
    return fitted.accurate[ev_pos], fitted.exact[ev_pos]


def _assemble(cs: ClaimSet, fitted, p_acc, p_exact, sources: Table, level: float, info, dependence,
              diagnostics: bool) -> FusionResult:
    """The FusionResult of a static fit without rescaling (what :mod:`credscore.dask` builds per
    partition of the quantities: its estimates and claims; ``sources`` is made by the caller)."""
    post, model = fitted.posterior, fitted.model
    result = FusionResult(estimates=_estimates_table(cs, post, level), claims=_claims_table(cs, p_acc, p_exact),
                          sources=sources, level=level, claimset=cs, posterior=post, model=model, learning=info,
                          dependence_scores=dependence)
    result = _with_statuses(result)  # holds / evidence words per claim (credscore.statuses)
    if not diagnostics:
        return result
    return with_agreement(result, fitted.accurate)  # agreement and conflict columns (credscore.agreement)


def _should_learn(learn: bool | str, cs: ClaimSet) -> bool:
    if learn == "auto":
        return bool(np.any(distinct_per_group(cs.source, cs.quantity, cs.n_sources, cs.n_quantities) > 1))
    if isinstance(learn, (bool, np.bool_)):
        return bool(learn)
    raise ValueError(f"`learn_reliability` must be True, False or 'auto'; got {learn!r}.")


def _estimates_table(cs: ClaimSet, post, level: float) -> Table:
    nq = cs.n_quantities
    logq = cs.log_scale
    # natural units: moments and mode of exp(x) on log quantities
    mean, sd, mode_x, qs = post.summaries([0.5, (1 - level) / 2, (1 + level) / 2], exp=logq)
    allq = np.arange(nq)
    if post.atoms is not None:  # a stated value comes back exactly as stated
        back = post.atoms.natural(qs, allq, logq)
        mode = post.atoms.natural(mode_x, allq, logq)
    else:
        back = qs.copy()
        back[logq] = np.exp(qs[logq])
        mode = np.where(logq, np.exp(np.where(logq, mode_x, 0.0)), mode_x)
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


def _with_bounds(estimates: Table, cs: ClaimSet, model, post, quantity_priors) -> Table:
    """The estimates with ``bound_side, bound, p_bound, limit`` (quantities known only by bounds:
    :mod:`credscore.bounds`)."""
    from .bounds import bound_columns

    return Table({**estimates.data, **bound_columns(cs, model, post, quantity_priors)})


def _claims_table(cs: ClaimSet, p_acc: np.ndarray, p_exact: np.ndarray) -> Table:
    # string columns from integer codes: an object array of the few labels, indexed (no string per claim made)
    code = np.where(p_acc >= ACCURATE_AT, 0, np.where(p_acc <= WILD_AT, 1, 2))
    status = np.array(["accurate", "wild", "doubtful"], dtype=object)[code]
    reporter = np.array([None] + list(cs.reporters), dtype=object)[cs.reporter + 1]
    return Table({
        "row": cs.row,
        "quantity": cs.quantities.astype(object)[cs.quantity],
        "source": cs.sources.astype(object)[cs.source],
        "reported_by": reporter,
        "kind": np.array(KINDS, dtype=object)[cs.kind],
        "value": cs.value,
        "low": cs.low,
        "high": cs.high,
        "counted": cs.is_evidence,
        "evidence_row": cs.row[cs.evidence],
        "p_accurate": p_acc,
        "p_exact": p_exact,
        "status": status,
    })


def _with_statuses(result: FusionResult, interval=None) -> FusionResult:
    """The result with the claims' ``p_statement_prior, holds, evidence_ratio, evidence`` columns
    (:mod:`credscore.statuses`): whether what each claim states holds given the estimate (or, with
    ``interval``, per claim the interval it is judged against), and how the data moved its
    probability of being accurate from its source's prior reliability."""
    from .statuses import claim_statuses

    claims = Table({**result.claims.data, **claim_statuses(result, interval)})
    return attrs.evolve(result, claims=claims)


def _sources_table(cs: ClaimSet, priors: SourcePriors, p_acc: np.ndarray, p_exact: np.ndarray, layout, params,
                   src_fit, level: float, k: np.ndarray | None = None) -> Table:
    """One row per source: prior, reliability posterior (with its credible interval), exact share,
    error scale and bias (model space, of the source's most frequent attribute; a rescaled linear
    attribute's in natural units: ``k``, :mod:`credscore.rescale`)."""
    sums = _source_sums(cs.source, cs.quantity, cs.is_evidence, cs.n_sources, cs.n_quantities, p_acc, p_exact,
                        layout, params, k)
    return _sources_from_sums(sums, cs.sources, cs.source_kinds, priors, layout.pair_source, src_fit, level)


def _source_sums(source, quantity, evidence, ns: int, nq: int, p_acc, p_exact, layout, params, k=None) -> dict:
    """What the sources table needs from the claims, as sums per source and per pair (``source``:
    codes of ``layout``'s sources): additive over partitions holding disjoint quantities, except
    ``first_sigma, first_bias`` (per pair, of its first claim; NaN where it has none) and
    ``stated`` (samples: each claim's stated error scale or NaN, by source); ``first_k``: the
    rescaling exponent of that first claim's quantity (``k``, :mod:`credscore.rescale`)."""
    ev = evidence
    claim_of_pair = np.full(layout.n_pairs, -1, dtype=np.int64)
    claim_of_pair[layout.pair[::-1]] = np.arange(len(layout.pair))[::-1]
    there = claim_of_pair >= 0
    first_sigma, first_bias = np.full(layout.n_pairs, np.nan), np.full(layout.n_pairs, np.nan)
    first_sigma[there], first_bias[there] = params.sigma[claim_of_pair[there]], params.bias[claim_of_pair[there]]
    first_k = np.zeros(layout.n_pairs, dtype=np.int64)
    if k is not None:
        first_k[there] = np.asarray(k)[layout.base.quantity[claim_of_pair[there]]]
    return {
        "n_claims": segment_count(source[ev], ns),
        "n_quantities": distinct_per_group(source, quantity, ns, nq),
        "accurate": segment_sum(p_acc[ev], source[ev], ns),
        "exact": segment_sum(p_exact[ev], source[ev], ns),
        "per_pair": segment_count(layout.pair, layout.n_pairs),
        "first_sigma": first_sigma,
        "first_bias": first_bias,
        "stated": (np.where(layout.has_se, params.sigma, np.nan), layout.source),
        "first_k": first_k,
    }


def _sources_from_sums(sums: dict, sources, source_kinds, priors: SourcePriors, pair_source, src_fit, level: float,
                       stated_weights=None) -> Table:
    """The sources table from :func:`_source_sums` (of all claims)."""
    ns = len(sources)
    sp = resolve_source_priors(priors, _Labels(sources, source_kinds))
    n_claims, n_q, acc, exact = sums["n_claims"], sums["n_quantities"], sums["accurate"], sums["exact"]
    a0, b0 = sp["a"].astype(float), sp["b"].astype(float)
    # (after learning, the prior of a source pooled with its kind is its kind's: its main pair's)
    # Beta posterior of the reliability given the exact P(accurate) of the source's claims
    a_post, b_post = a0 + acc, b0 + (n_claims - acc)
    certain = b_post <= 0  # a prior mean of exactly 1
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(certain, 1.0, stats.beta.ppf((1 - level) / 2, a_post, np.maximum(b_post, 1e-300)))
        hi = np.where(certain, 1.0, stats.beta.ppf((1 + level) / 2, a_post, np.maximum(b_post, 1e-300)))
    kinds = np.array([priors.source_kinds.get(str(s), k) for s, k in zip(sources, source_kinds)], dtype=object)
    # error scale and bias of each source's most frequent attribute (the claim-weighted pair)
    per_pair = sums["per_pair"]
    order = np.lexsort((-per_pair, pair_source))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_source[order][1:] != pair_source[order][:-1]
    main = np.full(ns, -1, dtype=np.int64)
    main[pair_source[order][first]] = order[first]
    has = main >= 0
    error, bias = np.full(ns, np.nan), np.full(ns, np.nan)
    error[has], bias[has] = sums["first_sigma"][main[has]], sums["first_bias"][main[has]]
    if src_fit is not None:
        strength = a0[has] + b0[has]
        al = src_fit.prior[main[has]]
        a0[has] = (al[:, 0] + al[:, 1]) / al.sum(axis=1) * strength
        b0[has] = al[:, 2] / al.sum(axis=1) * strength
        a_post, b_post = a0 + acc, b0 + (n_claims - acc)
        with np.errstate(invalid="ignore", divide="ignore"):
            lo = np.where(b_post <= 0, 1.0, stats.beta.ppf((1 - level) / 2, a_post, np.maximum(b_post, 1e-300)))
            hi = np.where(b_post <= 0, 1.0, stats.beta.ppf((1 + level) / 2, a_post, np.maximum(b_post, 1e-300)))
    if src_fit is not None:  # learned: the pair's posterior (sources stating an se: its median)
        stated = segment_quantile(*sums["stated"], ns, weights=stated_weights)
        error[has] = np.where(np.isnan(stated[has]), src_fit.sigma[main[has]], stated[has])
        bias[has] = src_fit.bias[main[has]]
    kp = sums.get("first_k")
    if kp is not None and np.any(kp):  # rescaled linear attributes (credscore.rescale): natural units
        kc = kp[main[has]]
        error[has], bias[has] = rescale.natural(error[has], kc), rescale.natural(bias[has], kc)
    return Table({
        "source": np.asarray(sources).astype(object),
        "source_kind": kinds,
        "reliability_prior": sp["a"] / (sp["a"] + sp["b"]),
        "reliability": a_post / (a_post + b_post),
        "reliability_low": lo,
        "reliability_high": hi,
        "exact_share": exact / np.maximum(n_claims, 1),
        "error_scale": error,
        "bias": bias,
        "n_claims": n_claims,
        "n_quantities": n_q,
        "mean_p_accurate": acc / np.maximum(n_claims, 1),
    })


@attrs.frozen
class _Labels:
    """Source labels and kinds, as :func:`credscore.priors.resolve_source_priors` reads them."""

    sources: Any
    source_kinds: Any

    @property
    def n_sources(self) -> int:
        return len(self.sources)
