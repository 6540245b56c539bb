"""Learning how far each source can be trusted, across quantities (truth discovery).

The claim model (:mod:`credscore.mixture`) has, per source s and attribute a,
the probabilities (π_e, π_n, π_w) that a claim is exact, noisy or wild, an
error scale σ_{s,a} and a bias b_{s,a}. :func:`learn_model` fits them by
expectation–maximisation (Dempster, Laird & Rubin 1977; for truth discovery
Zhao et al. 2012, PVLDB 5(6); Li et al. 2014, SIGMOD "CRH"; for numeric truths
with per-source bias and variance Zhao & Han 2012, QDB "GTM"):

* **E-step**: the exact posterior of every quantity (grid + atoms,
  :func:`credscore.mixture.fit_posteriors`) and each claim's posterior
  probabilities of being exact, noisy or wild, with the noisy residuals'
  first two moments.
* **M-step** (conjugate, per source × attribute):

  - (π_e, π_n, π_w): Dirichlet posterior mean with prior
    (a/2, a/2, b) from the source's :class:`~credscore.priors.Reliability`
    Beta(a, b) (exact and noisy share the "accurate" prior mass);
  - b: normal posterior mean, shrunk to zero with a prior worth
    :data:`PRIOR_CLAIMS` noisy claims (b ~ N(0, σ² / PRIOR_CLAIMS));
  - σ²: scaled-inverse-χ² posterior mean with :data:`PRIOR_CLAIMS` degrees of
    freedom centred on the attribute's error scale (or the source's
    :class:`~credscore.priors.ErrorScale` when it gives one). The attribute's
    scale is itself re-estimated from all its sources (partial pooling:
    Gelman et al., *BDA3*, ch. 5), floored at its median rounding half-width.

Each claim is weighted with its source's **cavity** parameters: those learned
from the source's *other* claims (a claim must not explain itself; the exact
posterior predictive of EP, Minka 2001). A source with one claim keeps its
prior, so learning over sources with one claim each gives the priors-only
answer.
"""

from __future__ import annotations

import warnings

import attrs
import numpy as np

from ._segments import segment_quantile, segment_sum
from .exceptions import ConvergenceWarning, GridResolutionWarning
from .mixture import ClaimLayout, continuous_model, ClaimParams, Fit, fit_posteriors, initial_attribute_scale, subset_layout, take_params

__all__ = ["LearningInfo", "SourceFit", "learn_model", "prior_params", "PRIOR_CLAIMS", "EMGlobals", "EMPartition",
           "EMStats", "EMState", "em_globals", "em_start", "em_estep", "em_mstep", "em_local", "em_finish"]

#: Weight, in sources, of the hyperprior at the prior mean when a kind's mean is learned.
HYPER_STRENGTH = 1.0
#: Weight, in claims, of the priors on each source × attribute error scale and bias.
PRIOR_CLAIMS = 4.0
#: Grid points of the E-steps while learning (the final pass uses the caller's grids).
EM_GRID_SIZE = 64
_DAMP_AFTER = 25
_DAMPING = 0.5


@attrs.frozen(eq=False)
class LearningInfo:
    """Convergence diagnostics of the learning.

    Attributes
    ----------
    enabled : bool
    iterations : int
    converged : bool
    history : ndarray
        The log marginal likelihood of all claims after each iteration.
    max_change : ndarray
        Largest change of any parameter per iteration (probabilities, log σ, bias / σ).
    variant : str
        The model variant that was fitted (see :func:`credscore.fuse`).
    """

    enabled: bool
    iterations: int = 0
    converged: bool = True
    history: np.ndarray = attrs.field(factory=lambda: np.zeros(0))
    max_change: np.ndarray = attrs.field(factory=lambda: np.zeros(0))
    variant: str = "exact+noisy+wild, bias"


@attrs.frozen(eq=False)
class SourceFit:
    """Learned parameters per source × attribute pair (arrays indexed by pair code).

    ``pair_source``, ``pair_attribute``: the pair's codes; ``exact``, ``noisy``,
    ``wild``: Dirichlet posterior parameters; ``sigma``, ``bias``: error scale
    and bias (model space); ``n``: counted claims; ``attribute_sigma``: the
    pooled scale per attribute.
    """

    pair_source: np.ndarray
    pair_attribute: np.ndarray
    exact: np.ndarray
    noisy: np.ndarray
    wild: np.ndarray
    sigma: np.ndarray
    bias: np.ndarray
    n: np.ndarray
    attribute_sigma: np.ndarray
    prior: np.ndarray  # the pairs' Dirichlet priors after kind pooling, (pairs, 3)


def prior_params(layout: ClaimLayout, prior_a: np.ndarray, prior_b: np.ndarray, prior_sigma: np.ndarray,
                 attribute_sigma: np.ndarray | None = None) -> ClaimParams:
    """Parameters from the priors alone: mixture weights at the prior means, no bias, error scales
    from the source's :class:`~credscore.priors.ErrorScale` or the attribute's pooled scale."""
    s = layout.source
    a, b = prior_a[s], prior_b[s]
    tot = a + b
    with np.errstate(divide="ignore"):
        log_e = np.log(0.5 * a / tot)
        log_n = log_e.copy()
        log_w = np.log(b / tot)
    # claims that cannot be exact put the whole accurate mass on the noisy component
    log_n = np.where(layout.exact_possible, log_n, np.log(a / tot))
    log_e = np.where(layout.exact_possible, log_e, -np.inf)
    sa = initial_attribute_scale(layout) if attribute_sigma is None else attribute_sigma
    sigma = np.where(np.isnan(prior_sigma[s]), sa[layout.attribute], prior_sigma[s])
    sigma = np.where(layout.has_se, layout.base.sigma, sigma)
    return ClaimParams(log_exact=log_e, log_noisy=log_n, log_wild=log_w, sigma=sigma, bias=np.zeros(len(s)))


def learn_model(
    layout: ClaimLayout,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    prior_sigma: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    pooled: np.ndarray | None = None,
    kinds: np.ndarray | None = None,
    bias: bool = True,
    dependence: bool = False,
    max_iter: int = 100,
    tol: float = 1e-3,
    grid_size: int = 128,
    robust_grid_size: int = 512,
) -> tuple[ClaimParams, Fit, SourceFit, LearningInfo, tuple | None]:
    """Learn the per source × attribute parameters by EM with exact E-steps.

    Parameters
    ----------
    layout : ClaimLayout
    prior_a, prior_b : ndarray
        Beta reliability prior of each source (by source code).
    prior_sigma : ndarray
        Error-scale prior of each source (model space; NaN: the attribute's).
    weight : ndarray, optional
        Weight of each claim (model order) in the source statistics.
    pooled, kinds : ndarray, optional
        Per source: whether its prior is shared with its kind (no prior of its
        own), and its kind code. The Dirichlet prior of a pooled source is
        centred on the mean of its kind's sources (a hyperprior worth
        :data:`HYPER_STRENGTH` source at the prior mean; Gelman et al., *BDA3*,
        ch. 5): a source with two claims borrows strength from its kind.
    bias : bool
        Learn the per source × attribute biases (else zero).
    dependence : bool
        Detect sources that copy each other and discount their shared
        evidence (:func:`credscore.dependence.detect_copies`), re-estimated
        every iteration from the current posterior.
    max_iter, tol : int, float
        Iteration limit; convergence when no probability, log error scale or
        bias (in error scales) changes by more than ``tol``.

    Returns
    -------
    params : ClaimParams
        The learned (cavity) parameters of every claim.
    fit : Fit
        The exact posterior pass with those parameters.
    sources : SourceFit
    info : LearningInfo
    dependence : tuple or None
        (score, shared, coincide, weight) of the last dependence update.
    """
    em = em_globals(layout, prior_a, prior_b, prior_sigma, pooled=pooled, kinds=kinds, bias=bias,
                    attribute_sigma=initial_attribute_scale(layout), floor=_attribute_floor(layout))
    part = em_start(layout, em, weight=weight)
    state = EMState.initial(em)
    history, changes = [], []
    converged = False
    it = 0
    em_grid, em_robust = em_grids(grid_size, robust_grid_size)
    for it in range(1, max_iter + 1 if part.informative else 1):
        part, stats = em_estep(part, em_grid, em_robust, dependence)
        history.append(stats.log_evidence)
        state = em_mstep(em, stats, state, it)
        part, change = em_local(part, state)
        changes.append(change)
        if change < tol:
            converged = True
            break
    if not part.informative:
        converged = True
    if not converged:
        warnings.warn(
            f"learning stopped after {max_iter} iterations without converging "
            f"(last change {changes[-1]:.2g} > tol {tol:g}); results use the last iterate.",
            ConvergenceWarning,
            stacklevel=3,
        )
    params, fit, wt = em_finish(part, state, grid_size, robust_grid_size)
    dep = None if state.dependence is None else state.dependence + (wt,)
    sources = em_source_fit(em, state, em_counts(part, em))
    info = LearningInfo(True, it, converged, np.asarray(history), np.asarray(changes))
    return params, fit, sources, info, dep


# ---------------------------------------------------------------------------------------------
# The EM in three steps, so that it runs on one partition of the quantities as on many
# (credscore.dask): a per-partition E-step returning sums over claims per source × attribute pair,
# a driver M-step turning the reduced sums into pair parameters, and a per-partition local step
# turning pair parameters into per-claim (cavity) parameters. Source, attribute and pair codes are
# global (the same in every partition), so the partitions' sums add up.


@attrs.frozen(eq=False)
class EMGlobals:
    """What the M-step needs about every source × attribute pair (global codes).

    ``prior_a, prior_b, prior_sigma``: per source; ``pair_source, pair_attribute``: per pair;
    ``alpha0``: the pairs' Dirichlet priors (exact, noisy, wild); ``pooled, kinds``: per source
    (kind pooling, or None); ``attribute_sigma``: the attributes' starting scales
    (:func:`~credscore.mixture.initial_attribute_scale` of all claims); ``floor``: the smallest
    scale each attribute may learn (:func:`_attribute_floor` of all claims).
    """

    prior_a: np.ndarray
    prior_b: np.ndarray
    prior_sigma: np.ndarray
    pair_source: np.ndarray
    pair_attribute: np.ndarray
    n_sources: int
    n_attributes: int
    alpha0: np.ndarray
    pooled: np.ndarray | None
    kinds: np.ndarray | None
    bias: bool
    attribute_sigma: np.ndarray
    floor: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.pair_source)


def em_globals(layout: ClaimLayout, prior_a, prior_b, prior_sigma, *, pooled=None, kinds=None, bias=True,
               attribute_sigma, floor) -> EMGlobals:
    """The :class:`EMGlobals` of a layout whose codes are global (all partitions' pairs)."""
    a_pair, b_pair = prior_a[layout.pair_source], prior_b[layout.pair_source]
    alpha0 = np.stack([0.5 * a_pair, 0.5 * a_pair, b_pair], axis=1)  # Dirichlet prior (exact, noisy, wild)
    return EMGlobals(prior_a=prior_a, prior_b=prior_b, prior_sigma=prior_sigma, pair_source=layout.pair_source,
                     pair_attribute=layout.pair_attribute, n_sources=layout.n_sources,
                     n_attributes=layout.n_attributes, alpha0=alpha0, pooled=pooled, kinds=kinds, bias=bool(bias),
                     attribute_sigma=np.asarray(attribute_sigma, float), floor=np.asarray(floor, float))


@attrs.frozen(eq=False)
class EMPartition:
    """The EM state of one partition of the quantities (lives where the partition does).

    ``full``: the partition's layout (global codes) with its frozen ``narrow``; ``rows``: the
    positions of the claims of quantities with two or more statements (the EM's claims) in it;
    ``layout``: their layout; ``w``: their weights; ``params``: their current (cavity) parameters;
    ``exact0``: their prior probabilities of being exact (the copy detection's chance rate).
    The rest is what the last E-step left for the local step: each claim's weighted
    (exact, noisy, wild) responsibilities ``own``, its noisy weight ``wn`` and residual sums
    ``t1, t2``, and the coinciding claim pairs ``copies`` of the copy detection.
    """

    full: ClaimLayout
    rows: np.ndarray
    layout: ClaimLayout
    w: np.ndarray
    params: ClaimParams
    exact0: np.ndarray | None = None
    own: np.ndarray | None = None
    wn: np.ndarray | None = None
    t1: np.ndarray | None = None
    t2: np.ndarray | None = None
    copies: tuple | None = None

    @property
    def informative(self) -> bool:
        return len(self.rows) > 0


@attrs.frozen(eq=False)
class EMStats:
    """Sums over a partition's claims per pair (they add across partitions).

    ``counts`` (pairs, 3): Σ w·P(exact, noisy, wild); ``n, t1, t2``: Σ of the noisy weight and
    the noisy residuals' first two moments; ``log_evidence``: Σ of the quantities' log evidence;
    ``copies``: the copy detection's per source-pair sums (:func:`credscore.dependence.copy_statistics`).
    """

    counts: np.ndarray
    n: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    log_evidence: float
    copies: tuple | None = None

    def __add__(self, other: "EMStats") -> "EMStats":
        from .dependence import merge_copy_statistics

        cp = None if self.copies is None else merge_copy_statistics([self.copies, other.copies])
        return EMStats(self.counts + other.counts, self.n + other.n, self.t1 + other.t1, self.t2 + other.t2,
                       self.log_evidence + other.log_evidence, cp)


@attrs.frozen(eq=False)
class EMState:
    """The driver's state after an M-step: the pair parameters every partition needs (broadcast).

    ``it``: the iteration; ``alpha`` (pairs, 3): Dirichlet priors after kind pooling; ``counts, n,
    t1, t2``: the reduced sums; ``centre_b``: per attribute, the bias centre; ``centre``: per pair,
    the error-scale prior centre; ``bias, s2``: the pairs' bias and error variance;
    ``attribute_sigma``: pooled scales; ``dependence``: (score, shared, coincide) or None.
    """

    it: int
    alpha: np.ndarray
    counts: np.ndarray
    n: np.ndarray
    t1: np.ndarray
    t2: np.ndarray
    centre_b: np.ndarray
    centre: np.ndarray
    bias: np.ndarray
    s2: np.ndarray
    attribute_sigma: np.ndarray
    dependence: tuple | None = None
    learn_bias: bool = True

    @classmethod
    def initial(cls, em: EMGlobals) -> "EMState":
        """Before any iteration (what a fit with no informative quantity keeps)."""
        npair = em.n_pairs
        return cls(0, em.alpha0, np.zeros((npair, 3)), np.zeros(npair), np.zeros(npair), np.zeros(npair),
                   np.zeros(em.n_attributes), np.ones(npair), np.zeros(npair), np.ones(npair), em.attribute_sigma,
                   learn_bias=em.bias)


def em_grids(grid_size: int, robust_grid_size: int) -> tuple[int, int]:
    """The E-steps' coarser grids (their statistics are sums over many claims; the final pass is
    exact on the full grids)."""
    return min(grid_size, EM_GRID_SIZE), min(robust_grid_size, 2 * EM_GRID_SIZE)


def em_start(full: ClaimLayout, em: EMGlobals, weight: np.ndarray | None = None) -> EMPartition:
    """A partition's starting state (its layout with global codes; ``weight`` per claim of it)."""
    # only quantities with two or more statements say anything about their sources (a lone claim is
    # weighed by its source's other claims and is its own posterior): the EM runs on those
    informative = full.base.counts >= 2
    # which claims are narrow against their error scale is decided once, from the starting scales:
    # a claim flipping between an atom and the grid as σ moves would keep the EM from settling
    start = prior_params(full, em.prior_a, em.prior_b, em.prior_sigma, em.attribute_sigma)
    full = attrs.evolve(full, narrow=continuous_model(full, start)[0].shape == 0)
    layout, rows = subset_layout(full, informative)
    w = np.ones(len(layout.source)) if weight is None else np.asarray(weight, float)[rows]
    params = take_params(start, rows)
    # the prior chance that a claim states the truth (copy detection)
    return EMPartition(full=full, rows=rows, layout=layout, w=w, params=params, exact0=np.exp(params.log_exact))


def em_estep(part: EMPartition, grid_size: int, robust_grid_size: int, dependence: bool
             ) -> tuple[EMPartition, EMStats]:
    """E-step on one partition: the exact posteriors and each claim's responsibilities, summed per pair."""
    from .dependence import copy_statistics

    layout, params, w = part.layout, part.params, part.w
    pair, npair = layout.pair, layout.n_pairs
    with warnings.catch_warnings():  # the E-steps' coarse grids: only the final pass reports
        warnings.simplefilter("ignore", GridResolutionWarning)
        fit = fit_posteriors(layout, params, grid_size, robust_grid_size)
    log_ev = float(np.sum(fit.posterior.log_evidence))
    # ---- E: each claim's exact / noisy / wild probabilities
    sharp = layout.exact_possible & layout.narrow
    copies = stats_copies = None
    if dependence:  # copies of one statement count once, judged from the current fit
        believed = np.where(sharp, fit.exact, fit.accurate)
        # coincidence is judged on the statements as made: the fit's model has them shifted by
        # each source's bias (and narrow intervals as points), so copies would never coincide
        stated = attrs.evolve(fit.model, lo=layout.base.lo, hi=layout.base.hi, centre=layout.base.centre,
                              shape=layout.base.shape)
        stats_copies, copies = copy_statistics(layout.source, layout.n_sources, stated, believed,
                                               exact_rate=part.exact0)
    pe, pn = np.exp(params.log_exact), np.exp(params.log_noisy)
    ratio = np.where(pe + pn > 0, pe / np.maximum(pe + pn, 1e-300), 0.0)
    r_e = np.where(sharp, fit.exact, fit.accurate * ratio)
    r_n = np.clip(fit.accurate - r_e, 0.0, 1.0)
    r_w = np.clip(1.0 - fit.accurate, 0.0, 1.0)
    own = np.stack([r_e, r_n, r_w], axis=1) * w[:, None]
    counts = np.stack([segment_sum(own[:, k], pair, npair) for k in range(3)], axis=1)
    # ---- bias and error scale: noisy claims with a stated value
    ok = layout.residual_ok & np.isfinite(fit.r1) & np.isfinite(fit.r2)
    # the weight of the claim's biased Gaussian in the E-step's likelihood (continuous_model): the
    # noisy component of a sharp claim (its exact one is an atom at the stated value), the merged
    # exact + noisy component of the others (both shifted by the bias, one scale); fit.r1 and
    # fit.r2 carry that weight, so the statistics must too (weighting the bias term by r_n alone
    # gave a feedback gain of −r_e / r_n on the bias: it flipped sign and grew without bound)
    r_b = np.where(sharp, r_n, fit.accurate)
    wn = np.where(ok, w * r_b, 0.0)
    bc = params.bias
    # the rounding's own variance (w²/12, added to σ² for narrow claims) is not the source's error
    narrow = (fit.model.shape == 0) & np.isfinite(layout.width)
    r2 = fit.r2 - np.where(narrow, r_b * np.where(narrow, layout.width, 0.0) ** 2 / 12.0, 0.0)
    t1 = np.where(ok, w * (fit.r1 + bc * r_b), 0.0)  # Σ E[noisy (y − x)]
    t2 = np.where(ok, w * (r2 + 2 * bc * fit.r1 + bc * bc * r_b), 0.0)  # Σ E[noisy (y − x)²]
    n_p, t1_p, t2_p = (segment_sum(v, pair, npair) for v in (wn, t1, t2))
    part = attrs.evolve(part, own=own, wn=wn, t1=t1, t2=t2, copies=copies)
    return part, EMStats(counts, n_p, t1_p, t2_p, log_ev, stats_copies)


def em_mstep(em: EMGlobals, stats: EMStats, prev: EMState, it: int) -> EMState:
    """M-step on the driver: the pair parameters from the reduced sums of all partitions."""
    from .dependence import copy_scores

    counts = stats.counts
    alpha = em.alpha0
    if em.pooled is not None and em.pooled.any():
        alpha = _kind_pooled_prior(em.alpha0, counts, em.pair_source, em.pooled, em.kinds)
    attr_of_pair, na, npair = em.pair_attribute, em.n_attributes, em.n_pairs
    n_p, t1_p, t2_p = stats.n, stats.t1, stats.t2
    k = PRIOR_CLAIMS
    b_p = t1_p / (k + n_p) if em.bias else np.zeros(npair)
    # biases are identified only up to a shift of every truth of an attribute: centre them so that
    # the typical source (the claim-weighted median) is unbiased
    centre_b = prev.centre_b
    if it <= _DAMP_AFTER:  # then frozen: a median can jump between sources and keep the EM cycling
        centre_b = np.nan_to_num(segment_quantile(b_p, attr_of_pair, na, weights=n_p)) if em.bias else np.zeros(na)
    b_p = b_p - centre_b[attr_of_pair]
    ss_p = np.maximum(t2_p - 2 * b_p * t1_p + b_p * b_p * n_p, 0.0)
    # the attribute's pooled scale (hyperprior centre), floored at its rounding
    attr_var = segment_sum(ss_p, attr_of_pair, na) / np.maximum(segment_sum(n_p, attr_of_pair, na), 1e-300)
    have = segment_sum(n_p, attr_of_pair, na) > 2 * k
    sig_attr = np.where(have, np.sqrt(np.maximum(attr_var, em.floor**2)), prev.attribute_sigma)
    sig0_src = em.prior_sigma[em.pair_source]
    centre = np.where(np.isnan(sig0_src), sig_attr[attr_of_pair], sig0_src)
    s2_p = (k * centre**2 + ss_p) / (k + n_p)
    dep = None if stats.copies is None else copy_scores(em.n_sources, stats.copies)
    return EMState(it, alpha, counts, n_p, t1_p, t2_p, centre_b, centre, b_p, s2_p, sig_attr, dep, em.bias)


def em_local(part: EMPartition, state: EMState) -> tuple[EMPartition, float]:
    """Local step on one partition: each claim's cavity parameters from the pair parameters (the
    pair's statistics without the claim), and the largest change of any parameter."""
    from .dependence import copy_weights

    layout, params, own, wn, t1, t2 = part.layout, part.params, part.own, part.wn, part.t1, part.t2
    pair = layout.pair
    if state.dependence is not None:
        wts = copy_weights(state.dependence[0], layout.source, part.copies, len(pair))
        layout = attrs.evolve(layout, base=attrs.evolve(layout.base, weight=wts))
    # ---- Dirichlet weights with a cavity over claims
    cav = state.alpha[pair] + state.counts[pair] - own
    cav = np.maximum(cav, 1e-12)
    cav /= cav.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        new_le = np.where(layout.exact_possible, np.log(cav[:, 0]), -np.inf)
        new_ln = np.where(layout.exact_possible, np.log(cav[:, 1]), np.log(cav[:, 0] + cav[:, 1]))
        new_lw = np.log(cav[:, 2])
    # ---- bias and error scale: the pair's statistics without the claim
    k = PRIOR_CLAIMS
    n_c = state.n[pair] - wn
    t1_c = state.t1[pair] - t1
    t2_c = state.t2[pair] - t2
    b_c = t1_c / (k + n_c) - state.centre_b[layout.attribute] if state.learn_bias else np.zeros(len(pair))
    ss_c = np.maximum(t2_c - 2 * b_c * t1_c + b_c * b_c * n_c, 0.0)
    s2_c = (k * state.centre[pair] ** 2 + ss_c) / (k + n_c)
    new_sigma = np.where(layout.has_se, layout.base.sigma, np.sqrt(s2_c))
    new_bias = np.where(layout.has_se, 0.0, b_c)
    if state.it > _DAMP_AFTER:  # damped updates settle parameters that would flip back and forth
        new_le = np.logaddexp(np.log(1 - _DAMPING) + params.log_exact, np.log(_DAMPING) + new_le)
        new_ln = np.logaddexp(np.log(1 - _DAMPING) + params.log_noisy, np.log(_DAMPING) + new_ln)
        new_lw = np.logaddexp(np.log(1 - _DAMPING) + params.log_wild, np.log(_DAMPING) + new_lw)
        new_sigma = np.exp(np.log(params.sigma) + _DAMPING * (np.log(new_sigma) - np.log(params.sigma)))
        new_bias = params.bias + _DAMPING * (new_bias - params.bias)
    with np.errstate(invalid="ignore"):
        change = max(
            float(np.max(np.abs(np.exp(new_le) - np.exp(params.log_exact)), initial=0.0)),
            float(np.max(np.abs(np.exp(new_lw) - np.exp(params.log_wild)), initial=0.0)),
            float(np.max(np.abs(np.log(new_sigma) - np.log(params.sigma)), initial=0.0)),
            float(np.max(np.abs(new_bias - params.bias) / new_sigma, initial=0.0)),
        )
    params = ClaimParams(new_le, new_ln, new_lw, new_sigma, new_bias)
    return attrs.evolve(part, layout=layout, params=params), change


def em_counts(part: EMPartition, em: EMGlobals) -> np.ndarray:
    """Σ weight of the partition's EM claims per pair (adds across partitions)."""
    return segment_sum(part.w, part.layout.pair, em.n_pairs)


def em_finish(part: EMPartition, state: EMState, grid_size: int, robust_grid_size: int
              ) -> tuple[ClaimParams, Fit, np.ndarray | None]:
    """The final pass of one partition on the caller's grids: every claim's parameters (its pair's
    posterior means; the EM claims their cavity values), the fit, and the copy weights (or None)."""
    full = part.full
    params = _full_params(full, part.rows, part.params, state.alpha + state.counts, state.bias, np.sqrt(state.s2))
    wt = None
    if state.dependence is not None:
        wt = np.ones(len(full.source))
        wt[part.rows] = part.layout.base.weight
        full = attrs.evolve(full, base=attrs.evolve(full.base, weight=wt))
    return params, fit_posteriors(full, params, grid_size, robust_grid_size), wt


def em_source_fit(em: EMGlobals, state: EMState, n: np.ndarray) -> SourceFit:
    """The learned parameters per pair (``n``: the reduced :func:`em_counts`)."""
    post_alpha = state.alpha + state.counts
    return SourceFit(
        pair_source=em.pair_source, pair_attribute=em.pair_attribute, exact=post_alpha[:, 0],
        noisy=post_alpha[:, 1], wild=post_alpha[:, 2], sigma=np.sqrt(state.s2), bias=state.bias, n=n,
        attribute_sigma=state.attribute_sigma, prior=state.alpha,
    )


def _kind_pooled_prior(alpha0, counts, pair_source, pooled, kinds) -> np.ndarray:
    """Dirichlet priors of the pairs of pooled sources, centred on their kind's mean weights."""
    strength = alpha0.sum(axis=1, keepdims=True)
    mean = (alpha0 + counts) / (strength + counts.sum(axis=1, keepdims=True))
    k = kinds[pair_source]
    pp = pooled[pair_source]
    nk = int(kinds.max()) + 1
    informs = pp & (counts.sum(axis=1) >= 2)
    ksum = np.stack([segment_sum(np.where(informs, mean[:, j], 0.0), k, nk) for j in range(3)], axis=1)
    kn = segment_sum(informs.astype(float), k, nk)
    base = alpha0 / strength
    kind_mean = (HYPER_STRENGTH * base + ksum[k]) / (HYPER_STRENGTH + kn[k])[:, None]
    return np.where(pp[:, None], kind_mean * strength, alpha0)


def _full_params(full: ClaimLayout, rows: np.ndarray, cavity: ClaimParams, post_alpha: np.ndarray,
                 bias: np.ndarray, sigma: np.ndarray) -> ClaimParams:
    """Parameters of all claims: each pair's posterior means, and the EM claims' cavity values."""
    pi = post_alpha[full.pair] / post_alpha[full.pair].sum(axis=1, keepdims=True)
    ex = full.exact_possible
    with np.errstate(divide="ignore"):
        le = np.where(ex, np.log(pi[:, 0]), -np.inf)
        ln = np.where(ex, np.log(pi[:, 1]), np.log(pi[:, 0] + pi[:, 1]))
        lw = np.log(pi[:, 2])
    sig = np.where(full.has_se, full.base.sigma, sigma[full.pair])
    b = np.where(full.has_se, 0.0, bias[full.pair])
    out = ClaimParams(le, ln, lw, sig, b)
    for f in attrs.fields(ClaimParams):
        getattr(out, f.name)[rows] = getattr(cavity, f.name)
    return out


def _attribute_floor(layout: ClaimLayout) -> np.ndarray:
    """The smallest error scale an attribute may learn: its median rounding half-width (model space)."""
    return attribute_floor_from_samples(*attribute_floor_samples(layout), layout.n_attributes)


def attribute_floor_samples(layout: ClaimLayout) -> tuple[np.ndarray, np.ndarray]:
    """The rounding half-widths of the claims and their attribute codes (quantity-local)."""
    fin = np.isfinite(layout.width) & (layout.width > 0)
    return 0.5 * layout.width[fin], layout.attribute[fin]


def attribute_floor_from_samples(values, codes, n_attributes: int, weights=None) -> np.ndarray:
    """:func:`_attribute_floor` from :func:`attribute_floor_samples` (``weights``: counts of merged values)."""
    half = segment_quantile(values, codes, n_attributes, weights=weights)
    return np.nan_to_num(half, nan=0.0)
