"""What a reader needs to know about each claim: does what it states hold, and what did the data say.

``fuse(...).claims`` carries two plain-word columns beside the model's
``status`` (which is a fixed cut on the posterior ``p_accurate`` alone):

``holds`` – does what the claim states hold, given the estimate?
    * ``"contradicted"``: the claim's statement interval
      (``ClaimSet.lower_bound`` .. ``upper_bound``: its rounding, range or
      bound, natural units) lies entirely outside the quantity's credible
      interval (``estimates`` ``low`` .. ``high``, at the result's level). At
      the default 90 % level this means that the estimate puts less than 5 %
      probability on any value the claim states, and a reader can check the
      word against the printed interval.
    * ``"too vague to tell"``: not contradicted, and the statement covers at
      least :data:`VAGUE_AT` (90 %) of the quantity's prior probability
      (``p_statement_prior``): it would hold for almost any answer, so its
      holding says nothing.
    * ``"holds"``: otherwise: some value the claim states lies in the
      credible interval (for a bound: the interval reaches the side the bound
      allows; for a rounded figure: its rounding interval meets the interval).

``evidence`` – how the data moved the claim's probability of being accurate
    (exact or noisy) away from its source's prior reliability
    (``sources["reliability_prior"]``): the odds ratio
    ``[p / (1 − p)] / [r / (1 − r)]`` of the posterior ``p_accurate`` against
    the prior ``r`` (column ``evidence_ratio``) is a Bayes factor. It reads
    ``"supported"`` at :data:`SUPPORTED_AT` (3) or more, ``"undermined"`` at
    1 / 3 or less, and ``"neutral"`` between. A factor of 3 is where Jeffreys'
    scale (Kass & Raftery 1995, "Bayes factors", *JASA* 90(430)) starts to call
    evidence substantial. A source graded E (prior 0.2) whose "up to 20,000"
    ends at p = 0.29 was moved by a factor of 1.6: neutral, not "doubtful".
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["VAGUE_AT", "SUPPORTED_AT", "statement_prior_probability", "holds_words", "evidence_words",
           "claim_statuses"]

VAGUE_AT = 0.9
SUPPORTED_AT = 3.0


def statement_prior_probability(claimset, model) -> np.ndarray:
    """Prior probability of each claim's statement interval, under its quantity's prior.

    The prior is flat in model space over [``model.prior_lo``,
    ``model.prior_hi``], times a normal (``prior_mean``, ``prior_sd``) where a
    :class:`~credscore.QuantityPrior` gives one.

    Parameters
    ----------
    claimset : ClaimSet
    model : ClaimModel
        Any model of ``claimset`` (its per-quantity prior arrays are used).

    Returns
    -------
    ndarray
        One probability per claim of ``claimset``, in [0, 1].
    """
    lo, hi = claimset.model_bounds
    q = claimset.quantity
    plo, phi = np.asarray(model.prior_lo)[q], np.asarray(model.prior_hi)[q]
    mean, sd = np.asarray(model.prior_mean)[q], np.asarray(model.prior_sd)[q]
    a, b = np.clip(lo, plo, phi), np.clip(hi, plo, phi)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat = (b - a) / (phi - plo)
        normal = np.isfinite(mean) & (sd > 0)
        if not normal.any():  # flat priors only: no normal CDFs to evaluate
            return np.clip(np.nan_to_num(flat, nan=0.0), 0.0, 1.0)
        m, s = np.where(normal, mean, 0.0), np.where(normal, sd, 1.0)
        z = ndtr((phi - m) / s) - ndtr((plo - m) / s)
        gauss = (ndtr((b - m) / s) - ndtr((a - m) / s)) / z
    out = np.where(normal & (z > 0), gauss, flat)
    return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)


def holds_words(lower: np.ndarray, upper: np.ndarray, low: np.ndarray, high: np.ndarray,
                prior_prob: np.ndarray) -> np.ndarray:
    """``"holds"``, ``"contradicted"`` or ``"too vague to tell"`` per claim (see the module notes).

    Parameters
    ----------
    lower, upper : ndarray
        The claims' statement intervals (natural units; ±inf for bounds).
    low, high : ndarray
        The credible interval of each claim's quantity (natural units).
    prior_prob : ndarray
        The prior probability of each statement (:func:`statement_prior_probability`).

    Examples
    --------
    >>> holds_words(np.array([-np.inf, 1400, 0]), np.array([20000, 1600, 1e9]),
    ...             np.array([1200, 1200, 1200]), np.array([1400, 1399, 1400]),
    ...             np.array([0.6, 0.01, 0.99])).tolist()
    ['holds', 'contradicted', 'too vague to tell']
    """
    contradicted = (upper < low) | (lower > high)
    vague = prior_prob >= VAGUE_AT
    code = np.where(contradicted, 0, np.where(vague, 1, 2))
    return np.array(["contradicted", "too vague to tell", "holds"], dtype=object)[code]


def evidence_words(p_accurate: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The posterior-to-prior odds ratio of being accurate, and its word (see the module notes).

    Examples
    --------
    >>> ratio, words = evidence_words(np.array([0.29, 0.9, 0.05]), np.array([0.2, 0.5, 0.5]))
    >>> np.round(ratio, 2).tolist(), words.tolist()
    ([1.63, 9.0, 0.05], ['neutral', 'supported', 'undermined'])
    """
    p = np.clip(np.asarray(p_accurate, dtype=float), 0.0, 1.0)
    r = np.clip(np.asarray(prior, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (np.log(p) - np.log1p(-p)) - (np.log(r) - np.log1p(-r))
    # a certain prior (r = 0 or 1) cannot move: neutral; p = r exactly: neutral
    log_ratio = np.where(np.isnan(log_ratio) | (p == r) | (r <= 0) | (r >= 1), 0.0, log_ratio)
    ratio = np.exp(log_ratio)
    cut = np.log(SUPPORTED_AT) - 1e-9  # compared in log space: a ratio of 3 up to rounding is supported
    code = np.where(log_ratio >= cut, 0, np.where(log_ratio <= -cut, 1, 2))
    words = np.array(["supported", "undermined", "neutral"], dtype=object)[code]
    return ratio, words


def claim_statuses(result, interval=None) -> dict[str, np.ndarray]:
    """The columns ``p_statement_prior, holds, evidence_ratio, evidence`` of a :class:`FusionResult`'s claims.

    ``interval``: per claim, the (low, high) credible interval it is judged against (default: its
    quantity's; a drifting quantity's claims are judged at their dates, :mod:`credscore.dynamics`).
    """
    cs = result.claimset
    est, q = result.estimates, cs.quantity
    if interval is None:
        interval = (np.asarray(est["low"], float)[q], np.asarray(est["high"], float)[q])
    from .rescale import model_claims

    prior_prob = statement_prior_probability(model_claims(result), result.model)
    holds = holds_words(cs.lower_bound, cs.upper_bound, interval[0], interval[1], prior_prob)
    rel_prior = np.asarray(result.sources["reliability_prior"], dtype=float)[cs.source]
    ratio, words = evidence_words(np.asarray(result.claims["p_accurate"], float), rel_prior)
    return {"p_statement_prior": prior_prob, "holds": holds, "evidence_ratio": ratio, "evidence": words}
