"""Static or drifting truth, and dated claims judged at their own dates.

With ``fuse(..., dynamics="drift")`` (or a :class:`~credscore.timeline.Drift`)
every quantity whose claims carry two or more dates is modelled as a value
that moves (:mod:`credscore.timeline`), and each of its claims is judged
against the value *at its own date*: its probability of being accurate is
Σ_x p(x_t | all claims) P(accurate | x_t, claim) on the drift model's grid
(``Timeline.claim_accurate``), and whether what it states holds is read
against the credible interval of that date. "1,500 troops" stated on 18
October is then compared with the 1,500-odd the trajectory gives for 18
October, not with the 10,000 of November.

With ``dynamics="auto"`` (``Drift(auto=True)``) the data choose, quantity by
quantity, by a truth-free check: the Bayes factor of the drift model (its
marginal likelihood averaged over the drift scale τ under its half-Cauchy
prior) against τ = 0 (a value that does not move) on the same grid, so that
both are measured alike (Kass & Raftery 1995, "Bayes factors", *JASA*
90(430)). The drift model is chosen where its log Bayes factor is positive.
The estimates table says what was chosen (``dynamics``, ``drift_log_bf``);
the static estimate is kept in its numeric columns either way.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ._segments import distinct_per_group

__all__ = ["DatedJudgement", "judge_at_dates"]


@attrs.frozen(eq=False)
class DatedJudgement:
    """What :func:`judge_at_dates` found.

    Attributes
    ----------
    timeline : Timeline
        The drift fit (model units).
    drifting : ndarray of bool
        Per quantity: modelled as drifting (its claims judged at their dates).
    log_bf : ndarray
        Per quantity: log Bayes factor of drift against a fixed value (NaN with
        fewer than two claim dates).
    accurate : ndarray
        Per model claim: P(accurate), at its date where its quantity drifts,
        else the static fit's.
    """

    timeline: Any
    drifting: np.ndarray
    log_bf: np.ndarray
    accurate: np.ndarray


def judge_at_dates(model, claims, drift, accurate: np.ndarray, *, level: float, dates: Any = None) -> DatedJudgement:
    """Fit the drift model, choose static or drifting per quantity, and re-judge the dated claims.

    Parameters
    ----------
    model : ClaimModel
        The fitted model (model units).
    claims : ClaimSet
        The claims in the model's units (for the dates).
    drift : Drift
        The drift options; ``drift.auto`` chooses by the Bayes factor, else
        every quantity with two or more claim dates drifts.
    accurate : ndarray
        Per model claim: P(accurate) from the static fit.
    level : float
    dates : iterable of date-like, optional
        Extra dates of the trajectories.
    """
    from .timeline import fit_timeline

    tl = fit_timeline(model, claims, drift, level=level, dates=dates, accuracy=True)
    nq = model.n_quantities
    pt = tl.claim_point
    dated = ~np.isnan(claims.date[model.claim])
    n_points = max(len(tl.points), 1)
    n_dates = distinct_per_group(model.quantity[dated], pt[dated], nq, n_points)  # distinct claim dates
    multi = n_dates >= 2
    log_bf = np.full(nq, np.nan)
    if multi.any():
        with np.errstate(all="ignore"):  # claims that no fixed value can explain (no wild reading): evidence 0
            still = fit_timeline(model, claims, attrs.evolve(drift, scale=0.0, auto=False), level=level,
                                 quantities=np.flatnonzero(multi))
        ev_drift = np.asarray(tl.quantities["log_evidence"], float)[multi]
        ev_still = np.asarray(still.quantities["log_evidence"], float)
        ev_still = np.where(np.isnan(ev_still), -np.inf, ev_still)
        with np.errstate(invalid="ignore"):
            log_bf[multi] = np.where(np.isinf(ev_still) & np.isfinite(ev_drift), np.inf, ev_drift - ev_still)
    drifting = multi & (log_bf > 0) if drift.auto else multi
    acc = np.asarray(accurate, float).copy()
    re = drifting[model.quantity] & np.isfinite(tl.claim_accurate)
    acc[re] = tl.claim_accurate[re]
    return DatedJudgement(timeline=tl, drifting=drifting, log_bf=log_bf, accurate=acc)
