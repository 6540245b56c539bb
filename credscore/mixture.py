"""The three-component claim model: exact, noisy, wild.

A claim c by source s on attribute a about a quantity with model-space value x
is one of three things (``../DESIGN.md`` §3):

* **exact** (probability π_e): the source stated the truth to its rounding,
  x ∈ [l_c, u_c]. When that interval is narrow against the source's error
  scale ("sharp") the posterior puts a point mass, an *atom*, on the stated
  value; several sources stating one number concentrate the posterior there,
  and a split gives two atoms rather than a compromise no one stated.
* **noisy** (π_n): the stated value misses x by the source's bias b_{s,a} and
  error scale σ_{s,a}: y ~ N(x + b, σ²) (or Student-t), rounded to the claim's
  interval (interval censoring; Heitjan & Rubin 1991, *Ann. Statist.* 19(4)).
* **wild** (π_w): unrelated to x, uniform over the quantity's plausible range
  (:mod:`credscore.likelihood`).

For claims that are not sharp (coarse rounding, ranges, bounds, a stated
``se``) the exact and noisy components cannot be told apart and are merged into
one accurate component of weight π_e + π_n. The posterior of x is then a
continuous part, computed exactly on the grid of :mod:`credscore.posterior`
from the noisy and wild components, plus atoms at the sharp stated values,
whose masses follow from the same likelihood at the atom (the continuous
density at x = v times the width of the stated interval, with each claim that
states v contributing π_e + g_c(v) instead of g_c(v); g the noisy + wild part).

This is the truth-discovery mixture of Zhao et al. (2012, PVLDB 5(6)) and
Dong, Berti-Equille & Srivastava (2009, PVLDB 2(1)), where a source either
provides the true value or a false one, extended with a noisy component for
numeric claims (Li et al. 2014, "Resolving conflicts in heterogeneous data by
truth discovery and source reliability estimation", SIGMOD) and with
per-source biases and error scales (Zhao & Han 2012, "A probabilistic model for
estimating real-valued truth from conflicting sources", QDB, GTM).
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from ._segments import segment_count, segment_quantile, segment_sum
from .likelihood import SHAPE_INTERVAL, SHAPE_LOWER, SHAPE_POINT, SHAPE_UPPER, ClaimModel, _log_terms, _log_wild
from .posterior import Atoms, GridPosterior, _log_prior, compute_posteriors

__all__ = ["ClaimLayout", "ClaimParams", "Fit", "SHARP", "build_layout", "continuous_model", "fit_posteriors",
           "subset_layout", "take_params", "attribute_scale_samples", "attribute_scale_from_samples"]

#: A claim is *sharp* (its exact component is an atom) when the width of its stated interval
#: is below SHARP times its error scale: the noisy density is then nearly constant across it.
SHARP = 0.5


@attrs.frozen(eq=False)
class ClaimLayout:
    """What does not change while the model's parameters are learned (evidence claims, model order).

    ``base`` is the :class:`~credscore.likelihood.ClaimModel` of the claims;
    ``stated`` the model-space stated value of point and approximate claims
    (NaN for ranges and bounds) and ``base_value`` the value as stated; ``width`` the width of the stated interval
    (model space; inf for bounds); ``has_se`` whether the claim states a standard
    error; ``source``, ``attribute`` and ``pair`` (source × attribute) codes per
    claim, with ``n_sources``, ``n_attributes``, ``n_pairs``, ``pair_source``,
    ``pair_attribute``; ``log_scale`` per attribute.
    """

    base: ClaimModel
    stated: np.ndarray
    base_value: np.ndarray
    width: np.ndarray
    has_se: np.ndarray
    source: np.ndarray
    attribute: np.ndarray
    pair: np.ndarray
    n_sources: int
    n_attributes: int
    n_pairs: int
    pair_source: np.ndarray
    pair_attribute: np.ndarray
    attribute_log: np.ndarray
    narrow: np.ndarray | None = None  # frozen "narrow against the error scale" (while learning)

    @property
    def exact_possible(self) -> np.ndarray:
        """Claims that can be exact: a stated value with a rounding interval and no stated se."""
        return ~np.isnan(self.stated) & ~self.has_se & (self.width > 0) & np.isfinite(self.width)

    @property
    def residual_ok(self) -> np.ndarray:
        """Claims whose residuals inform error scales and biases (stated values, no stated se)."""
        return ~np.isnan(self.stated) & ~self.has_se


@attrs.frozen(eq=False)
class ClaimParams:
    """Per-claim parameters of the mixture (model order): log π_e, log π_n, log π_w, σ, bias."""

    log_exact: np.ndarray
    log_noisy: np.ndarray
    log_wild: np.ndarray
    sigma: np.ndarray
    bias: np.ndarray


@attrs.frozen(eq=False)
class Fit:
    """A posterior pass: the posteriors (with atoms) and each claim's expected statistics.

    ``exact``, ``accurate`` (exact or noisy) per claim: posterior probabilities;
    ``r1``, ``r2``: E[noisy (y − b − x)] and E[noisy (y − b − x)²] (NaN where
    not informative); ``model`` the continuous model used.
    """

    posterior: GridPosterior
    model: ClaimModel
    exact: np.ndarray
    accurate: np.ndarray
    noisy: np.ndarray
    r1: np.ndarray
    r2: np.ndarray


def build_layout(base: ClaimModel, claimset) -> ClaimLayout:
    """The static arrays of a fit: codes, stated values and widths of the evidence claims."""
    cs = claimset
    rows = base.claim
    kind = cs.kind[rows]
    from .claims import APPROX, POINT

    logq = cs.log_scale[base.quantity]
    value = cs.value[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        stated = np.where(logq, np.log(np.where(value > 0, value, np.nan)), value)
    stated = np.where((kind == POINT) | (kind == APPROX), stated, np.nan)
    width = base.hi - base.lo
    has_se = ~np.isnan(cs.model_se[rows])
    src = cs.source[rows]
    attr_q = quantity_attributes(cs)
    attr = attr_q[base.quantity]
    na = int(attr_q.max()) + 1 if len(attr_q) else 0
    key = src.astype(np.int64) * max(na, 1) + attr
    uniq, pair = np.unique(key, return_inverse=True)
    attr_log = np.zeros(na, dtype=bool)
    attr_log[attr_q] = cs.log_scale
    return ClaimLayout(
        base=base, stated=stated, base_value=value, width=width, has_se=has_se, source=src, attribute=attr, pair=pair.astype(np.int64),
        n_sources=cs.n_sources, n_attributes=na, n_pairs=len(uniq), pair_source=(uniq // max(na, 1)).astype(np.int64),
        pair_attribute=(uniq % max(na, 1)).astype(np.int64), attribute_log=attr_log,
    )


def subset_layout(layout: ClaimLayout, keep_quantity: np.ndarray) -> tuple[ClaimLayout, np.ndarray]:
    """The layout of the quantities ``keep_quantity`` (bool per quantity), and the positions of its
    claims in ``layout``. Source, attribute and pair codes are kept."""
    b = layout.base
    rows = np.flatnonzero(keep_quantity[b.quantity])
    newq = np.cumsum(keep_quantity) - 1
    qi = np.flatnonzero(keep_quantity)
    counts = b.counts[qi]
    sub = attrs.evolve(
        b, n_quantities=len(qi), claim=b.claim[rows], quantity=newq[b.quantity[rows]].astype(np.int64),
        shape=b.shape[rows], lo=b.lo[rows], hi=b.hi[rows], centre=b.centre[rows], sigma=b.sigma[rows], df=b.df[rows],
        log_rho=b.log_rho[rows], log_1mrho=b.log_1mrho[rows], log_wild=b.log_wild[rows],
        starts=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        prior_lo=b.prior_lo[qi], prior_hi=b.prior_hi[qi], prior_mean=b.prior_mean[qi], prior_sd=b.prior_sd[qi],
        wild_lo=b.wild_lo[qi], wild_hi=b.wild_hi[qi], weight=None if b.weight is None else b.weight[rows],
    )
    return attrs.evolve(layout, base=sub, stated=layout.stated[rows], base_value=layout.base_value[rows],
                        width=layout.width[rows], has_se=layout.has_se[rows], source=layout.source[rows],
                        attribute=layout.attribute[rows], pair=layout.pair[rows],
                        narrow=None if layout.narrow is None else layout.narrow[rows]), rows


def take_params(params: "ClaimParams", rows: np.ndarray) -> "ClaimParams":
    """The parameters of the claims at positions ``rows``."""
    return ClaimParams(*(getattr(params, f.name)[rows] for f in attrs.fields(ClaimParams)))


def widen_support(layout: ClaimLayout, sigma: np.ndarray, fixed: np.ndarray) -> ClaimLayout:
    """Linear quantities' prior (and wild) ranges computed with the error scales ``sigma`` that the
    fit will use (the claims' span plus 6 σ, ten times over each way: :mod:`credscore.likelihood`),
    never narrower than before; ``fixed`` quantities (user priors) keep theirs."""
    from ._segments import segment_max, segment_min
    from .likelihood import PRIOR_LINEAR_MARGIN

    b = layout.base
    nq, q = b.n_quantities, b.quantity
    fin_lo = np.where(np.isfinite(b.lo), b.lo, b.centre)
    fin_hi = np.where(np.isfinite(b.hi), b.hi, b.centre)
    qmin, qmax = segment_min(fin_lo, q, nq), segment_max(fin_hi, q, nq)
    span = qmax - qmin + 6 * segment_max(sigma, q, nq)
    linear = ~layout.attribute_log[segment_max(layout.attribute.astype(float), q, nq, empty=0).astype(np.int64)]
    change = linear & ~fixed & np.isfinite(span)
    lo = np.where(change, np.minimum(b.prior_lo, qmin - PRIOR_LINEAR_MARGIN * span), b.prior_lo)
    hi = np.where(change, np.maximum(b.prior_hi, qmax + PRIOR_LINEAR_MARGIN * span), b.prior_hi)
    wlo = np.where(change, np.minimum(b.wild_lo, lo), b.wild_lo)
    whi = np.where(change, np.maximum(b.wild_hi, hi), b.wild_hi)
    return attrs.evolve(layout, base=attrs.evolve(b, prior_lo=lo, prior_hi=hi, wild_lo=wlo, wild_hi=whi))


def quantity_attributes(cs) -> np.ndarray:
    """Attribute code of each quantity: the claims' ``attribute`` where the ClaimSet has one,
    else one attribute per (scale, first stated unit)."""
    qa = getattr(cs, "quantity_attribute", None)
    if qa is not None:
        return np.asarray(qa, dtype=np.int64)
    units = np.empty(cs.n_quantities, dtype=object)
    units[cs.quantity[::-1]] = cs.unit[::-1]
    labels = [f"{u or ''}|{'log' if lg else 'linear'}" for u, lg in zip(units, cs.log_scale)]
    _, codes = np.unique(np.array(labels, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64)


def initial_attribute_scale(layout: ClaimLayout) -> np.ndarray:
    """Starting error scale of each attribute, pooled across its quantities (model space).

    Log-scale attributes start from the documented prior of a 10 % relative
    error (:data:`credscore.priors.DEFAULT_LOG_SIGMA`). Linear attributes have
    no natural scale: 1.4826 × the median absolute deviation of the stated
    values from their quantity's median, pooled over the attribute's claims
    that do not state that median (coinciding claims are explained as exact
    and say nothing about the size of errors), floored at its median rounding half-width (or 1e-3 of its typical
    magnitude when both are zero). Learning (:mod:`credscore.learning`)
    replaces it with the scale the noisy claims show.
    """
    return attribute_scale_from_samples(attribute_scale_samples(layout), layout.attribute_log)


def attribute_scale_samples(layout: ClaimLayout) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The per-claim values whose medians per attribute :func:`initial_attribute_scale` takes, as
    ``{name: (values, attribute codes)}``: deviations from the quantity's median (``apart``: of
    the claims that do not state it; ``all``), rounding half-widths (``half``) and magnitudes
    (``mag``). Quantity-local, so the samples of partitions holding disjoint quantities concatenate."""
    m = layout.base
    ok = ~np.isnan(layout.stated)
    y = np.where(ok, layout.stated, 0.0)
    med = segment_quantile(y[ok], m.quantity[ok], m.n_quantities)
    dev = np.abs(y - np.nan_to_num(med)[m.quantity])
    half = np.where(np.isfinite(layout.width), 0.5 * layout.width, np.nan)
    # claims that state the quantity's median say nothing about the size of errors (they are
    # explained as exact): the spread is that of the others
    apart = ok & (dev > np.where(np.isfinite(half), half, 0.0))
    fin = ok & np.isfinite(half)
    a = layout.attribute
    return {"apart": (dev[apart], a[apart]), "half": (half[fin], a[fin]), "mag": (np.abs(y[ok]), a[ok]),
            "all": (dev[ok], a[ok])}


def attribute_scale_from_samples(samples: dict, attribute_log: np.ndarray,
                                 weights: dict | None = None) -> np.ndarray:
    """:func:`initial_attribute_scale` from :func:`attribute_scale_samples` (``weights``: a count
    per sample value, when equal values were merged)."""
    from .priors import DEFAULT_LOG_SIGMA

    na = len(attribute_log)
    wt = weights or {}

    def med(name):
        v, c = samples[name]
        return segment_quantile(v, c, na, weights=wt.get(name))

    spread = 1.482602218505602 * med("apart")
    half_med = np.nan_to_num(med("half"))
    mag = np.nan_to_num(med("mag"))
    spread_all = 1.482602218505602 * med("all")
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, spread_all)  # too few claims apart
    linear = np.maximum(np.nan_to_num(spread), half_med)
    linear = np.where(linear > 0, linear, 1e-3 * np.maximum(mag, 1.0))
    return np.where(attribute_log, DEFAULT_LOG_SIGMA, linear)


def continuous_model(layout: ClaimLayout, params: ClaimParams) -> tuple[ClaimModel, np.ndarray]:
    """The grid part of the model for given parameters, and which claims are sharp.

    Sharp claims keep only their noisy and wild components on the grid (their
    exact component is an atom); the others merge exact and noisy into one
    accurate component. The noisy component of every claim is shifted by its
    source's bias. A stated interval narrower than :data:`SHARP` error scales
    is evaluated as a point with the rounding's variance w²/12 added to σ² (the
    normal matching the first two moments of the rounded normal; relative error
    O((w/σ)⁴) in the likelihood), so the grid pass needs no normal CDFs for it.
    """
    b = layout.base
    if layout.narrow is not None:
        narrow = layout.narrow
    else:
        narrow = np.isfinite(layout.width) & (layout.width < SHARP * params.sigma) & (b.shape <= SHAPE_INTERVAL)
    sharp = layout.exact_possible & narrow
    log_acc = np.where(sharp, params.log_noisy, np.logaddexp(params.log_exact, params.log_noisy))
    lo, hi, centre = b.lo - params.bias, b.hi - params.bias, b.centre - params.bias
    shape = np.where(narrow, SHAPE_POINT, b.shape).astype(b.shape.dtype)
    sigma = np.where(narrow, np.sqrt(params.sigma**2 + np.where(narrow, layout.width, 0.0) ** 2 / 12.0), params.sigma)
    # the remaining intervals: points when far narrower than the error (as ClaimModel.with_weights does)
    shape = np.where((shape == SHAPE_INTERVAL) & (hi - lo < 1e-3 * sigma), SHAPE_POINT, shape).astype(b.shape.dtype)
    log_wild = _log_wild(shape, lo, hi, b.wild_lo[b.quantity], b.wild_hi[b.quantity])
    cm = attrs.evolve(b, lo=lo, hi=hi, centre=centre, shape=shape, sigma=sigma, log_rho=log_acc,
                      log_1mrho=params.log_wild, log_wild=log_wild)
    return cm, sharp


def _ragged(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges start..start+count (no Python loop)."""
    total = int(counts.sum())
    offs = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return np.arange(total) + offs


def _log1mexp(d: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def fit_posteriors(layout: ClaimLayout, params: ClaimParams, grid_size: int, robust_grid_size: int) -> Fit:
    """Exact posteriors (grid + atoms) and each claim's posterior statistics for given parameters."""
    cm, sharp = continuous_model(layout, params)
    post, acc_c, r1_c, r2_c = compute_posteriors(cm, grid_size, robust_grid_size, residuals=True)
    nq = cm.n_quantities
    n = len(cm.claim)
    q = cm.quantity
    weight = np.ones(n) if cm.weight is None else cm.weight

    # ---- atoms: one per (quantity, stated value) among sharp claims
    sc = np.flatnonzero(sharp)
    exact = np.zeros(n)
    accurate = acc_c.copy()
    r1, r2 = r1_c.copy(), r2_c.copy()
    if len(sc) == 0:
        return Fit(post, cm, exact, accurate, accurate.copy(), r1, r2)
    order = sc[np.lexsort((layout.stated[sc], q[sc]))]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (q[order][1:] != q[order][:-1]) | (layout.stated[order][1:] != layout.stated[order][:-1])
    atom_of = np.full(n, -1, dtype=np.int64)
    atom_of[order] = np.cumsum(new) - 1
    na = int(new.sum())
    aq = q[order][new]
    ax = layout.stated[order][new]
    aw = np.full(na, np.inf)
    np.minimum.at(aw, atom_of[order], layout.width[order])

    # ---- every claim of the atom's quantity, evaluated at the atom
    counts = cm.counts[aq]
    p_atom = np.repeat(np.arange(na), counts)
    p_row = _ragged(cm.starts[aq], counts)
    term, acc = _log_terms(cm, p_row, ax[p_atom][:, None])
    term, acc = term[:, 0], acc[:, 0]
    member = atom_of[p_row] == p_atom
    # point-evaluated claims have densities: the exact term (a probability) in the same unit
    with np.errstate(divide="ignore"):
        unit = np.where(cm.shape[p_row] == SHAPE_POINT, np.log(np.maximum(layout.width[p_row], 1e-300)), 0.0)
    log_pe = params.log_exact[p_row] - unit
    with_exact = np.logaddexp(log_pe, term)
    lp = _log_prior(cm, aq, ax[:, None])[:, 0] + segment_sum(weight[p_row] * term, p_atom, na)
    lift = segment_sum(np.where(member, weight[p_row] * (with_exact - term), 0.0), p_atom, na)
    with np.errstate(divide="ignore"):
        log_mass = np.log(aw) + lp + lift + _log1mexp(-np.maximum(lift, 1e-300))
    # ---- normalise atoms and continuous part together
    mx = np.maximum(post.log_evidence, np.full(nq, -np.inf))
    amax = np.full(nq, -np.inf)
    np.maximum.at(amax, aq, log_mass)
    top = np.maximum(mx, amax)
    total = np.exp(post.log_evidence - top) + segment_sum(np.exp(log_mass - top[aq]), aq, nq)
    log_z = top + np.log(total)
    prob = np.exp(log_mass - log_z[aq])
    cw = np.exp(post.log_evidence - log_z)
    atom_total = segment_sum(prob, aq, nq)
    start = np.concatenate(([0], np.cumsum(segment_count(aq, nq)))).astype(np.int64)
    value = layout.base_value[order][new]
    claim_log_exact = np.full(n, -np.inf)
    mem_rows = p_row[member]
    claim_log_exact[mem_rows] = log_pe[member]
    atoms = Atoms(start=start, owner=aq, x=ax, prob=prob, total=atom_total, value=value, claim_atom=atom_of,
                  claim_log_exact=claim_log_exact, cont=np.exp(np.log(aw) + lp - log_z[aq]))
    post = attrs.evolve(post, atoms=atoms, log_evidence=log_z)

    # ---- each claim's statistics: continuous part and atoms
    g_share = np.where(member, np.exp(term - with_exact), 1.0)  # P(not exact | at atom, noisy or wild)
    p_exact = np.where(member, 1.0 - g_share, 0.0)
    p_acc = p_exact + g_share * acc
    p_noisy = p_acc - p_exact
    wa = prob[p_atom]
    accurate = cw[q] * acc_c + segment_sum(wa * p_acc, p_row, n)
    exact = segment_sum(wa * p_exact, p_row, n)
    d = cm.centre[p_row] - ax[p_atom]
    with np.errstate(invalid="ignore"):
        r1 = cw[q] * r1_c + segment_sum(np.nan_to_num(wa * p_noisy * d), p_row, n)
        r2 = cw[q] * r2_c + segment_sum(np.nan_to_num(wa * p_noisy * d * d), p_row, n)
    bound = (cm.shape == SHAPE_UPPER) | (cm.shape == SHAPE_LOWER)
    r1 = np.where(bound, np.nan, r1)
    r2 = np.where(bound, np.nan, r2)
    # the continuous part's "accurate" of a non-sharp claim merges exact and noisy
    return Fit(post, cm, exact, np.clip(accurate, 0.0, 1.0), np.clip(accurate - exact, 0.0, 1.0), r1, r2)
