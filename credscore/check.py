"""A truth-free check of a fit: how well each claim is predicted by the others.

Users never have the ground truth, but every claim is a held-out observation for
the rest. For each claim i of a quantity with two or more claims, with the fitted
parameters held fixed, :func:`check_fit` computes on the grid (no refit):

* the **leave-one-claim-out log predictive density** ``log p(y_i | y_-i)``, from the
  identity ``1 / p(y_i | y_-i) = ∫ p(x | y) / f_i(x) dx`` (Gelfand, Dey & Chang 1992,
  "Model determination using predictive distributions with implementation via
  sampling-based methods"; :mod:`credscore.loo`). Summed over claims it is the
  leave-one-out score of Vehtari, Gelman & Gabry (2017, "Practical Bayesian model
  evaluation using leave-one-out cross-validation and WAIC"), here exact on the
  grid rather than importance-sampled. The learned parameters are the claims'
  cavity values (a claim's own statistics are left out of its source's
  estimates), so the score is not the in-sample fit.
* the **probability integral transform** (PIT) of the claim under that
  predictive distribution: ``F_i(y_i | y_-i)`` for a stated value, and the mid-PIT
  (F(lo) + F(hi)) / 2 for a stated interval (Czado, Gneiting & Held 2009,
  "Predictive model assessment for count data"). Under a calibrated model the
  PITs are uniform (Dawid 1984; Gneiting, Balabdaoui & Raftery 2007): 90 % of
  them fall in [0.05, 0.95]. Fewer means the model is overconfident about what
  sources say; more, that it is too cautious. Bounds ("more than N") have no
  PIT (their value is censored) but have a log score.

The exact component (a claim that states the truth to its rounding) enters the
PIT as a step at the stated value, counted one half on the atom itself (the
mid-PIT of a discrete part); on the continuous part of the posterior the step is
integrated with the grid's quadrature (error of the order of one grid step).
Claims whose quantity has no other claim are not scored (nothing predicts them).
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy import special

from ._segments import segment_sum
from .likelihood import SHAPE_INTERVAL, SHAPE_POINT, ClaimModel, _log_terms
from .loo import loo_chunks
from .results import Table

#: the central PIT range whose share is the claims' "coverage" (nominal 0.90)
PIT_CENTRAL = (0.05, 0.95)
#: a central share within this of 0.90 is called calibrated, however many claims (2 points)
TOLERANCE = 0.02


@attrs.frozen(eq=False, repr=False)
class FitCheck:
    """The truth-free check of a fit (:meth:`credscore.FusionResult.check`).

    Attributes
    ----------
    claims : Table
        One row per input claim: ``row, quantity, source, log_score`` (the
        leave-one-claim-out log predictive density, model space; NaN for
        claims not scored and relayed repeats) ``, pit_low, pit_high`` (the
        predictive probability below and up to the stated value, which differ
        by its exact atom; F(lo) and F(hi) for a stated interval; NaN for
        bounds) ``, pit`` (their midpoint).
    sources : Table
        One row per source: ``source, n_scored, mean_log_score,
        pit_central`` (share of its PITs in [0.05, 0.95]; 0.90 when calibrated).
    n_scored : int
        Claims scored (their quantity has another claim).
    mean_log_score : float
    pit_central : float
        Share of all PITs in [0.05, 0.95] (nominal 0.90), each claim's PIT
        spread uniformly over its range (exact under calibration with
        discrete parts: Czado, Gneiting & Held 2009).
    pit_central_se : float
        Its binomial standard error under calibration, √(0.09 / n).
    pit_ks : float
        Kolmogorov–Smirnov distance of the PITs (spread the same way) from the uniform.
    """

    claims: Table
    sources: Table
    n_scored: int
    mean_log_score: float
    pit_central: float
    pit_central_se: float
    pit_ks: float

    @property
    def verdict(self) -> str:
        """'calibrated', 'overconfident' or 'too cautious': the central share is off 0.90 by more
        than 3 standard errors (chance) and by more than :data:`TOLERANCE` (a difference that matters)."""
        if not np.isfinite(self.pit_central):
            return "not checked"
        d = self.pit_central - 0.9
        if abs(d) <= max(3 * self.pit_central_se, TOLERANCE):
            return "calibrated"
        return "overconfident" if d < 0 else "too cautious"

    def summary(self) -> str:
        """The check in words."""
        n_pit = int(np.sum(np.isfinite(self.claims["pit_low"])))
        if self.n_scored == 0:
            return "No claim could be checked: every quantity has a single claim."
        lines = [
            f"Held-out check of {self.n_scored:,} claims (each predicted from the other claims of its quantity).",
            f"Mean log predictive density: {self.mean_log_score:.3f} (higher is better; compare fits of the same claims).",
        ]
        if n_pit:
            lines.append(
                f"{100 * self.pit_central:.1f} % of {n_pit:,} stated values fall in the central 90 % of their predictive "
                f"distributions (± {100 * self.pit_central_se:.1f} % by chance); KS distance from uniform "
                f"{self.pit_ks:.3f}: {self.verdict}."
            )
        return "\n".join(lines)

    def plot(self, ax=None, bins: int = 20):
        """Histogram of the PITs (flat when calibrated; a U shape means overconfident)."""
        from .plotting import _axes

        ax = _axes(ax, (5.0, 3.2))
        lo, hi = self.claims["pit_low"], self.claims["pit_high"]
        has = np.isfinite(lo)
        edges = np.linspace(0.0, 1.0, bins + 1)
        # each claim's PIT spread uniformly over its range (a discrete part makes it an interval)
        mass = np.diff([[_ks_cdf_at(lo[has], hi[has], e)] for e in edges], axis=0)[:, 0] * bins
        ax.bar(edges[:-1], mass, width=1.0 / bins, align="edge", color="0.6", edgecolor="white")
        ax.axhline(1.0, color="k", lw=1, ls="--")
        ax.set_xlabel("PIT of each claim under the others (leave one claim out)")
        ax.set_ylabel("density")
        ax.set_title(f"{self.verdict}: {100 * self.pit_central:.0f} % in the central 90 %")
        return ax

    def __repr__(self) -> str:
        return f"FitCheck(n_scored={self.n_scored}, mean_log_score={self.mean_log_score:.4g}, " \
               f"pit_central={self.pit_central:.3f}, verdict={self.verdict!r})"


def claim_scores(model: ClaimModel, post) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per model claim: the leave-one-claim-out log predictive density and the PIT range.

    Parameters
    ----------
    model : ClaimModel
        The fitted (continuous) model of :attr:`FusionResult.model`.
    post : GridPosterior
        The fitted posterior (with its atoms, if any).

    Returns
    -------
    log_score, pit_low, pit_high : ndarray
        NaN for claims alone on their quantity; the PITs also NaN for bounds.
    """
    m = len(model.claim)
    log_score = np.full(m, np.nan)
    pit_lo = np.full(m, np.nan)
    pit_hi = np.full(m, np.nan)
    atoms = post.atoms
    for b in post.blocks():
        part = b.part
        for ch in loo_chunks(model, b):
            po = part[ch.owner]
            rows = ch.rows
            cw = post.continuous_weight(po)
            with np.errstate(over="ignore", under="ignore"):
                cont = cw * np.exp(ch.log_mass)  # relative to the full posterior's normaliser
            with_atoms = atoms is not None and np.any(atoms.total[po] > 0)
            w = np.ones(len(rows)) if model.weight is None else model.weight[rows]

            def term_at(li, x, rows=rows):
                return _log_terms(model, rows[li], x[:, None])[0][:, 0]

            loo = atoms.loo(rows, po, term_at, model.weight) if with_atoms else None
            total = cont + loo.total if with_atoms else cont  # ∫ p(x | y) f_i(x)^-w dx
            with np.errstate(divide="ignore"):
                log_score[rows] = -np.log(total)
            down = w != 1.0
            if down.any():
                # a discounted claim (likelihood power w < 1) is predicted in full: p(y_i | y_-i) =
                # ∫ p(x | y) f_i^(1-w) dx / ∫ p(x | y) f_i^-w dx
                d = np.flatnonzero(down)
                log_f = _log_terms(model, rows[d], ch.x[d])[0]
                lr = np.log(np.maximum(ch.density[d], 1e-300)) + log_f
                top = np.max(lr, axis=1)
                with np.errstate(under="ignore"):
                    s_ = np.sum(ch.weights[d] * np.exp(lr - top[:, None]), axis=1)
                num = cw[d] * np.exp(ch.log_mass[d] + top + np.log(s_))
                if with_atoms:
                    num = num + atoms.loo(rows[d], po[d], lambda li, x, r=rows[d]: _log_terms(model, r[li], x[:, None])[0][:, 0],
                                          _power_minus_one(model.weight, rows[d])).total
                with np.errstate(divide="ignore"):
                    log_score[rows[d]] = np.log(num) - np.log(total[d])
            pit_lo[rows], pit_hi[rows] = _pit(model, atoms, ch, cont / total, loo, total)
    alone = model.counts[model.quantity] < 2
    for a in (log_score, pit_lo, pit_hi):
        a[alone] = np.nan
    return log_score, pit_lo, pit_hi


def _power_minus_one(weight: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Likelihood powers w − 1 at ``rows`` (the rest unchanged): with them, :meth:`Atoms.loo`
    multiplies by f^(1 − w) instead of dividing by f^w."""
    out = weight.copy()
    out[rows] = weight[rows] - 1.0
    return out


def _cdf(z: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Standard normal or Student-t CDF (df = inf: normal)."""
    normal = special.ndtr(z)
    if np.all(np.isinf(df)):
        return normal
    return np.where(np.isinf(df), normal, special.stdtr(np.where(np.isinf(df), 1.0, df), z))


def _pit(model: ClaimModel, atoms, ch, cont_share: np.ndarray, loo, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The PIT ranges [F(y−), F(y)] of the chunk's claims: for a stated value, the predictive
    probability below it and up to it (they differ by its exact atom); for a stated interval,
    F(lo) and F(hi). NaN for bounds."""
    rows = ch.rows
    shape = model.shape[rows]
    out = np.full(len(rows), np.nan)
    ok = (shape == SHAPE_POINT) | ((shape == SHAPE_INTERVAL) & np.isfinite(model.hi[rows] - model.lo[rows]))
    if not ok.any():
        return out, out.copy()
    q = model.quantity[rows]
    sig = model.sigma[rows]
    df = model.df[rows]
    p_acc = np.exp(model.log_rho[rows])
    p_wild = np.exp(model.log_1mrho[rows])
    # the exact component (sharp claims): an atom at the stated value, outside the grid term
    stated = np.full(len(rows), np.nan)
    if atoms is not None and atoms.claim_atom is not None:
        a_of = atoms.claim_atom[rows]
        has = a_of >= 0
        stated[has] = atoms.x[a_of[has]]
    p_exact = np.where(np.isfinite(stated), np.clip(1.0 - p_acc - p_wild, 0.0, 1.0), 0.0)
    point = shape == SHAPE_POINT
    ends = [np.where(point, model.centre[rows], model.lo[rows]), np.where(point, model.centre[rows], model.hi[rows])]
    span = model.wild_hi[q] - model.wild_lo[q]

    def given_x(y, x, s_, d_, pa, pw, pe, st, wlo, sp_, inclusive):
        """P(Y < y | x) or P(Y <= y | x) (``inclusive``) of the claim's mixture, x (n, k): they differ
        by the exact component's step at the stated value."""
        g = pa[:, None] * _cdf((y[:, None] - x) / s_[:, None], d_[:, None])
        g += (pw * np.clip((y - wlo) / sp_, 0.0, 1.0))[:, None]
        with np.errstate(invalid="ignore"):
            step = (x <= st[:, None]) if inclusive else (x < st[:, None])
        g += pe[:, None] * np.where(np.isfinite(st)[:, None], step, 0.0)
        return g

    wlo = model.wild_lo[q]
    vals = []
    for y, inclusive in zip(ends, (False, True)):
        g = given_x(y, ch.x, sig, df, p_acc, p_wild, p_exact, stated, wlo, span, inclusive)
        f = cont_share * np.sum(ch.weights * ch.density * g, axis=1)
        if loo is not None and len(loo.x):
            li = loo.owner
            ga = given_x(y[li], loo.x[:, None], sig[li], df[li], p_acc[li], p_wild[li], p_exact[li], stated[li],
                         wlo[li], span[li], inclusive)[:, 0]
            f = f + segment_sum(loo.prob * ga, li, len(rows)) / total
        vals.append(np.clip(f, 0.0, 1.0))
    lo_out, hi_out = out.copy(), out
    lo_out[ok], hi_out[ok] = np.minimum(vals[0], vals[1])[ok], np.maximum(vals[0], vals[1])[ok]
    return lo_out, hi_out


def check_fit(result) -> FitCheck:
    """The truth-free check of a :class:`~credscore.FusionResult` (see the module docstring).

    Examples
    --------
    >>> from credscore import fuse
    >>> claims = [{"quantity": f"q{i}", "source": s, "value": v}
    ...           for i in range(3) for s, v in (("a", 100 + i), ("b", 101 + i), ("c", 99 + i))]
    >>> chk = fuse(claims).check()
    >>> chk.n_scored
    9
    """
    model, post, cs = result.model, result.posterior, result.claimset
    per_model = claim_scores(model, post)
    ev = cs.is_evidence  # a relayed repeat is not a claim of its own: not scored
    cols = []
    for v in per_model:
        full = np.full(len(cs), np.nan)
        full[model.claim] = v
        cols.append(np.where(ev, full, np.nan))
    ls, lo, hi = cols
    central_share = _central_share(lo, hi)
    claims = Table({
        "row": np.arange(len(cs)), "quantity": cs.quantities[cs.quantity].astype(object),
        "source": cs.sources[cs.source].astype(object), "log_score": ls, "pit": 0.5 * (lo + hi),
        "pit_low": lo, "pit_high": hi,
    })
    scored = np.isfinite(ls)
    has_pit = np.isfinite(lo)
    ns = cs.n_sources
    n_src = segment_sum(scored.astype(float), cs.source, ns)
    n_pit = segment_sum(has_pit.astype(float), cs.source, ns)
    with np.errstate(invalid="ignore", divide="ignore"):
        sources = Table({
            "source": cs.sources.astype(object),
            "n_scored": n_src.astype(np.int64),
            "mean_log_score": segment_sum(np.where(scored, ls, 0.0), cs.source, ns) / n_src,
            "pit_central": segment_sum(np.where(has_pit, central_share, 0.0), cs.source, ns) / n_pit,
        })
    n, k = int(scored.sum()), int(has_pit.sum())
    return FitCheck(
        claims=claims, sources=sources, n_scored=n,
        mean_log_score=float(np.mean(ls[scored])) if n else float("nan"),
        pit_central=float(np.mean(central_share[has_pit])) if k else float("nan"),
        pit_central_se=float(np.sqrt(0.09 / k)) if k else float("nan"),
        pit_ks=_ks_uniform(lo[has_pit], hi[has_pit]) if k else float("nan"),
    )


def _central_share(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Share of each claim's PIT range [lo, hi] (a uniform on it: the nonrandomised PIT of Czado,
    Gneiting & Held 2009) inside the central range; for lo == hi, whether the point is inside."""
    a, b = PIT_CENTRAL
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / (hi - lo)
        point = ((lo >= a) & (lo <= b)).astype(float)
    return np.where(hi - lo > 1e-12, inside, point)


def _ks_cdf_at(lo: np.ndarray, hi: np.ndarray, u: float) -> float:
    """The average CDF at ``u`` of uniforms on [lo, hi]."""
    return float(np.mean(np.clip((u - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)))


def _ks_uniform(lo: np.ndarray, hi: np.ndarray, n_grid: int = 1001) -> float:
    """Kolmogorov–Smirnov distance from the uniform of the average of uniforms on [lo, hi]."""
    u = np.linspace(0.0, 1.0, n_grid)
    width = np.maximum(hi - lo, 1e-12)
    F = np.zeros(n_grid)
    for c0 in range(0, len(lo), 1 << 14):  # chunks of claims × the u grid
        l_, w_ = lo[c0 : c0 + (1 << 14), None], width[c0 : c0 + (1 << 14), None]
        F += np.sum(np.clip((u[None, :] - l_) / w_, 0.0, 1.0), axis=0)
    return float(np.max(np.abs(F / len(lo) - u)))
