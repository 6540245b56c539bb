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
The module is split by job: :mod:`credscore.agreement_pairs` (pair kernels, with
the compiled quadrature in :mod:`credscore.agreement_kernel`),
:mod:`credscore.agreement_claims` (per-claim and per-quantity diagnostics) and
:mod:`credscore.agreement_tables` (result objects); every public name stays
importable from here.
"""

from __future__ import annotations

from .agreement_claims import (AGREE_AT, BIMODAL_DIP, BIMODAL_MASS, _bimodal, _log_acc_max,  # noqa: F401
                               _loo_mixed_median, claim_diagnostics, extend_tables, heterogeneity)
from .agreement_pairs import (_G, _K_NORMAL, _GL_NODES, _T_STEPS, _effective_shape, _gl, _normal_acc,  # noqa: F401
                              _normal_breaks, _pair_chunks, _quad_chunk, _quad_normal, _quadrature, _window,
                              all_pair_agreement, pair_agreement, quantity_pairs)
from .agreement_tables import (AgreementMatrix, Conflict, SourceAgreement, _claim_labels,  # noqa: F401
                               agreement_matrix, conflict_report, source_agreement, with_agreement)

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
