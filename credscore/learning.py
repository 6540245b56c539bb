"""Learning source reliability and error scales across quantities (truth discovery).

When sources make claims about many quantities, their track record tells how
far to trust them. :func:`learn_sources` alternates, in the manner of
variational EM (Dempster, Laird & Rubin 1977; Zhao et al. 2012, PVLDB 5(6)
for truth discovery; Li et al. 2014, SIGMOD, "CRH"), between

* **E-step** (O(claims)): a Gaussian approximation of every quantity's
  posterior (the reweighted locate step of :mod:`credscore.posterior`) and
  each claim's probability of being accurate, r_c;
* **M-step**: each source's reliability posterior
  Beta(a_s + Σ r_c, b_s + Σ (1 − r_c)) and, for its claims that state no
  standard error, an inflation λ_s of their prior or default error scale,
  under a
  scaled-inverse-χ² prior centred on λ = 1 with 10 degrees of freedom, and
  bounded to [¼, 4] (:data:`INFLATION_BOUNDS`). (One factor per source, not one
  σ: error scales of linear quantities in different units are not
  comparable, relative errors and inflations are.) A stated ``se`` is kept as
  the accurate error: learning an inflation of it is biased upwards by wild
  claims that land near the truth, and a source that understates its error
  is caught by the wild component instead.

Each claim is weighted with its source's *cavity* posterior: the reliability
and error scale learned from the source's **other** claims (the exact
posterior predictive of a claim's accuracy given the rest, as in
expectation propagation, Minka 2001). A source with one claim therefore keeps
its prior, and learning over sources with one claim each gives exactly the
priors-only answer.

**Partial pooling.** Sources without a prior of their own (those matched by
kind or by default) share a learned group-level prior mean per source kind:
a source with two claims borrows strength from its kind (a hierarchical Beta
model fitted by empirical Bayes; Gelman et al., *BDA3*, ch. 5). The kind's
mean is the prior mean (worth one source) updated by the posterior means of
its sources with a track record (claims on two or more quantities), each
source's own record left out.

The final posteriors and intervals are computed exactly on the grid
(:func:`credscore.posterior.compute_posteriors`) with the learned weights.
"""

from __future__ import annotations

import math
import warnings

import attrs
import numpy as np
from scipy import special

from ._segments import distinct_per_group, segment_count, segment_sum
from .exceptions import ConvergenceWarning
from .io import _codes
from .likelihood import SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER, ClaimModel
from .posterior import _locate

__all__ = ["LearningInfo", "SourceFit", "learn_sources", "ERROR_PRIOR_DF", "INFLATION_BOUNDS"]

#: Degrees of freedom (prior sample size) of the error-scale inflation prior when learning.
ERROR_PRIOR_DF = 10.0
#: Bounds of the learned inflation λ: a source erring by more than four times its stated
#: (or prior) scale is better described as unreliable than as imprecise. Without the bound the
#: inflation can absorb the wild claims (a broad accurate component explains everything) and
#: the reliability is no longer identified.
INFLATION_BOUNDS = (0.25, 4.0)
#: Weight of the kind-level hyperprior, in sources.
HYPER_STRENGTH = 1.0
_DAMP_AFTER = 20
_DAMPING = 0.5


@attrs.frozen(eq=False)
class LearningInfo:
    """Convergence diagnostics of the reliability learning.

    Attributes
    ----------
    enabled : bool
    iterations : int
    converged : bool
    history : ndarray
        The objective (plug-in log-likelihood of all claims plus the log
        prior densities of the reliabilities) after each iteration.
    max_change : ndarray
        Largest change of any claim's weight per iteration.
    """

    enabled: bool
    iterations: int = 0
    converged: bool = True
    history: np.ndarray = attrs.field(factory=lambda: np.zeros(0))
    max_change: np.ndarray = attrs.field(factory=lambda: np.zeros(0))


@attrs.frozen(eq=False)
class SourceFit:
    """Learned per-source parameters (arrays indexed by source code)."""

    a: np.ndarray  # Beta prior shape (after pooling)
    b: np.ndarray
    accurate: np.ndarray  # Σ r_c over the source's counted claims
    n: np.ndarray  # number of counted claims
    inflation: np.ndarray  # λ_s: learned factor on the scales of claims that state no se (1 if none)
    sigma: np.ndarray  # λ_s × the median base error scale of the source's claims (model space)
    responsibility: np.ndarray  # last E-step's P(accurate) of each claim (model order)


def learn_sources(
    model: ClaimModel,
    claimset,
    prior_a: np.ndarray,
    prior_b: np.ndarray,
    pooled: np.ndarray,
    *,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> tuple[ClaimModel, SourceFit, LearningInfo]:
    """Learn reliabilities and error scales; return the re-weighted model.

    Parameters
    ----------
    model : ClaimModel
        Built with the prior weights (:func:`credscore.likelihood.build_claim_model`).
    claimset : ClaimSet
    prior_a, prior_b : ndarray
        Beta prior of each source (by source code).
    pooled : ndarray of bool
        Sources whose prior is shared with their kind (no prior of their own).
    max_iter, tol : int, float
        Iteration limit; convergence when no claim's weight or log error
        scale changes by more than ``tol``.

    Returns
    -------
    model : ClaimModel
        With the learned (cavity) weights and error scales.
    fit : SourceFit
    info : LearningInfo
    """
    src = claimset.source[model.claim]
    ns = claimset.n_sources
    kinds = claimset.source_kinds
    kind_codes = _codes(list(kinds))[0]
    nk = int(kind_codes.max()) + 1 if len(kind_codes) else 0
    base = model.sigma  # stated se, else the prior / default error scale
    stated = ~np.isnan(claimset.model_se[model.claim])  # a stated se is kept: understating is wildness
    finite = np.isfinite(model.lo) & np.isfinite(model.hi)
    n_s = segment_count(src, ns).astype(float)
    track = distinct_per_group(src, model.quantity, ns, model.n_quantities) >= 2  # sources stating 2+ quantities
    s_rel = prior_a + prior_b

    log_rho, log_1mrho, sigma = model.log_rho, model.log_1mrho, model.sigma
    history, changes = [], []
    converged = False
    a_s, b_s = prior_a.copy(), prior_b.copy()
    lam2 = np.ones(ns)
    it = 0
    m = None
    for it in range(1, max_iter + 1):
        current = model.with_weights(log_rho, log_1mrho, sigma)
        m, s = _locate(current, start=m)
        r, loglik = _responsibilities(current, m, s)
        # ---- M-step: reliability, with kind-level pooling of the prior mean
        acc_s = segment_sum(r, src, ns)
        mean_s = (a_s + acc_s) / (s_rel + n_s)
        if pooled.any() and nk:
            # the kind's mean reliability: a hyperprior worth HYPER_STRENGTH sources at the prior mean,
            # plus the posterior means of the kind's sources that have a track record (claims on two or
            # more quantities), each source's own record left out (a cavity over sources)
            base_mean = prior_a / s_rel
            kp = kind_codes[pooled]
            informs = track[pooled]
            k_sum = segment_sum(np.where(informs, mean_s[pooled], 0.0), kp, nk)
            k_n = segment_sum(informs.astype(float), kp, nk)
            m0 = np.bincount(kp, weights=base_mean[pooled], minlength=nk) / np.maximum(segment_count(kp, nk), 1)
            own = np.where(informs, mean_s[pooled], 0.0)
            kind_mean = (HYPER_STRENGTH * m0[kp] + k_sum[kp] - own) / (HYPER_STRENGTH + k_n[kp] - informs)
            a_s[pooled] = kind_mean * s_rel[pooled]
            b_s[pooled] = (1.0 - kind_mean) * s_rel[pooled]
        # cavity over claims: the source's reliability without the claim itself
        a_c = a_s[src] + acc_s[src] - r
        b_c = b_s[src] + (n_s[src] - acc_s[src]) - (1.0 - r)
        rho_c = np.clip(a_c / (a_c + b_c), 1e-12, 1.0)
        # ---- M-step: error-scale inflation λ_s on each claim's base scale (scaled-inverse-χ²
        #      posterior mean with prior λ = 1 and ERROR_PRIOR_DF degrees of freedom; cavity over claims)
        resid2 = np.where(finite, (model.centre - m[model.quantity]) ** 2 + s[model.quantity] ** 2, 0.0) / base**2
        rw = np.where(finite & (model.shape <= 1) & ~stated, r, 0.0)
        ss = segment_sum(rw * resid2, src, ns)
        nn = segment_sum(rw, src, ns)
        lam2_c = (ERROR_PRIOR_DF + np.maximum(ss[src] - rw * resid2, 0.0)) / (ERROR_PRIOR_DF + np.maximum(nn[src] - rw, 0.0))
        lo_b, hi_b = INFLATION_BOUNDS
        new_sigma = np.where(stated, base, np.sqrt(np.clip(lam2_c, lo_b**2, hi_b**2)) * base)
        lam2 = np.clip((ERROR_PRIOR_DF + ss) / (ERROR_PRIOR_DF + nn), lo_b**2, hi_b**2)
        with np.errstate(divide="ignore"):
            new_log_rho, new_log_1mrho = np.log(rho_c), np.log1p(-rho_c)
        if it > _DAMP_AFTER:  # damped updates settle the few claims that would flip back and forth
            rho_old = np.exp(log_rho)
            rho_new = rho_old + _DAMPING * (np.exp(new_log_rho) - rho_old)
            with np.errstate(divide="ignore"):
                new_log_rho, new_log_1mrho = np.log(rho_new), np.log1p(-rho_new)
            new_sigma = np.exp(np.log(sigma) + _DAMPING * (np.log(new_sigma) - np.log(sigma)))
        change = max(
            float(np.max(np.abs(np.exp(new_log_rho) - np.exp(log_rho)), initial=0.0)),
            float(np.max(np.abs(np.log(new_sigma) - np.log(sigma)), initial=0.0)),
        )
        log_rho, log_1mrho, sigma = new_log_rho, new_log_1mrho, new_sigma
        prior_term = np.sum(special.xlogy(a_s - 1, np.clip(mean_s, 1e-300, 1)) + special.xlog1py(b_s - 1, -np.clip(mean_s, 0, 1 - 1e-16)))
        history.append(loglik + prior_term)
        changes.append(change)
        if change < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"reliability learning stopped after {max_iter} iterations without converging "
            f"(last change {changes[-1]:.2g} > tol {tol:g}); results use the last iterate.",
            ConvergenceWarning,
            stacklevel=3,
        )
    learned = model.with_weights(log_rho, log_1mrho, sigma)
    from ._segments import segment_quantile

    typical = segment_quantile(base, src, ns)
    fit = SourceFit(a=a_s, b=b_s, accurate=segment_sum(r, src, ns), n=n_s, inflation=np.sqrt(lam2),
                    sigma=np.sqrt(lam2) * typical, responsibility=r)
    info = LearningInfo(True, it, converged, np.asarray(history), np.asarray(changes))
    return learned, fit, info


def _responsibilities(model: ClaimModel, m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, float]:
    """P(accurate) of each claim under a Gaussian approximation N(m, s²) of its quantity's posterior,
    and the plug-in log-likelihood Σ_c log p(c | m)."""
    q = model.quantity
    mq, sq = m[q], s[q]
    finite = np.isfinite(model.lo) & np.isfinite(model.hi)
    var = model.sigma**2 + sq**2 + np.where(finite, (model.hi - model.lo) ** 2 / 12.0, 0.0)
    with np.errstate(invalid="ignore"):
        la_point = -0.5 * (model.centre - mq) ** 2 / var - 0.5 * np.log(2 * math.pi * var)
        sd = np.sqrt(model.sigma**2 + sq**2)
        la_upper = special.log_ndtr((model.hi - mq) / sd)
        la_lower = special.log_ndtr((mq - model.lo) / sd)
    # finite intervals on the same footing as P_wild (a probability): density × width
    width = np.where(finite, model.hi - model.lo, 0.0)
    la_interval = la_point + np.log(np.where(model.shape == SHAPE_POINT, 1.0, np.maximum(width, 1e-300)))
    la = np.select([model.shape == SHAPE_UPPER, model.shape == SHAPE_LOWER], [la_upper, la_lower], la_interval)
    la = la + model.log_rho
    lb = model.log_1mrho + model.log_wild
    both = np.logaddexp(la, lb)
    r = np.exp(la - both)
    w = 1.0 if model.weight is None else model.weight
    return r, float(np.sum(w * both))
