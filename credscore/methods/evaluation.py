"""Scoring methods against known truths: the code shared by ``python -m credscore compare`` and
``benchmarks/harness.py``.

:func:`fit_method` runs one registered method (timed), :func:`score` measures
its estimates against the truths, :func:`markdown_table` renders rows of
scores and :func:`plot_scores` draws them (needs matplotlib).

Examples
--------
>>> import numpy as np
>>> from credscore import ClaimSet
>>> cs = ClaimSet.from_arrays(["q", "q", "q"], ["a", "b", "c"], [10.0, 12.0, 100.0])
>>> fit = fit_method("median", cs)
>>> s = score(fit.estimates, np.array([11.0]), cs)
>>> s["n_truth"], s["mae"]
(1, 1.0)
"""

from __future__ import annotations

import time
from typing import Any

import attrs
import numpy as np

from ._base import get

__all__ = ["COLUMNS", "MethodFit", "fit_method", "format_cell", "markdown_table", "method_options", "plot_scores",
           "score"]

#: (key of a score row, column header) of the tables, in order
COLUMNS = [("method", "method"), ("size", "claims"), ("n_truth", "scored"), ("mae", "MAE"), ("rmse", "RMSE"),
           ("rel_err", "median rel. err"), ("coverage", "coverage"), ("width", "mean width"),
           ("interval_score", "interval score"), ("spearman", "source rank corr."), ("seconds", "seconds"),
           ("peak_mb", "peak MB"), ("maxrss_mb", "max RSS MB")]


@attrs.frozen(eq=False)
class MethodFit:
    """One method's estimates on one claim set.

    Attributes
    ----------
    method : str
        Label of the run (a registry name, or a harness label).
    estimates : Table
        ``quantity, estimate, low, high, ...`` (see :mod:`credscore.methods`).
    weights : ndarray or None
        Learned per-source weights, None when the method learns none.
    seconds : float
        Wall time of the fit.
    """

    method: str
    estimates: Any
    weights: Any
    seconds: float


def method_options(name: str, level: float = 0.9) -> dict[str, Any]:
    """Keyword arguments that make method ``name`` report intervals at ``level`` (empty if it has none)."""
    cls = get(name)
    if name == "credscore":
        return {"level": level}
    if attrs.has(cls) and "level" in attrs.fields_dict(cls):
        return {"level": level}
    return {}


def fit_method(name: str, claims: Any, options: dict[str, Any] | None = None, label: str | None = None) -> MethodFit:
    """Fit registered method ``name`` with ``options`` on ``claims``, timing the fit.

    Parameters
    ----------
    name : str
        A name of :func:`credscore.methods.available`.
    claims : ClaimSet
    options : dict, optional
        The method's keyword arguments.
    label : str, optional
        Label of the run (default: ``name``).

    Returns
    -------
    MethodFit
    """
    cls = get(name)
    t0 = time.perf_counter()
    res = cls(**(options or {})).fit(claims)
    seconds = time.perf_counter() - t0
    w = np.asarray(res.sources["weight"], dtype=float)
    return MethodFit(method=label or name, estimates=res.estimates, weights=None if np.all(np.isnan(w)) else w,
                     seconds=seconds)


def score(estimates: Any, truth: np.ndarray, claims: Any, *, level: float = 0.9, quality: np.ndarray | None = None,
          weights: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy and calibration of a method's estimates against the truths.

    Parameters
    ----------
    estimates : Table or mapping
        With ``estimate, low, high`` columns aligned with ``claims.quantities``.
    truth : ndarray
        True value per quantity (NaN: unknown, not scored).
    claims : ClaimSet
        The claims (for the quantities' scales).
    level : float
        Level of the intervals (for the interval score).
    quality, weights : ndarray, optional
        Per-source true quality and learned weight: with both, ``spearman``.

    Returns
    -------
    dict
        ``n_truth`` (quantities scored), ``n_missing`` (with a truth but no
        estimate), ``mae``, ``rmse`` (natural units), ``rel_err`` (median
        relative error over log-scale quantities), and where the method gives
        intervals ``interval_share``, ``coverage``, ``width`` (mean) and
        ``interval_score`` (Gneiting & Raftery 2007).
    """
    out: dict[str, Any] = {}
    truth = np.asarray(truth, dtype=float)
    e, lo, hi = (np.asarray(estimates[c], dtype=float) for c in ("estimate", "low", "high"))
    ok = np.isfinite(truth) & np.isfinite(e)
    out["n_truth"] = int(ok.sum())
    out["n_missing"] = int((np.isfinite(truth) & ~np.isfinite(e)).sum())
    if not ok.any():
        return out
    err = e[ok] - truth[ok]
    out["mae"] = float(np.mean(np.abs(err)))
    out["rmse"] = float(np.sqrt(np.mean(err**2)))
    logq = np.asarray(claims.log_scale)[ok]
    if logq.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(err[logq]) / np.abs(truth[ok][logq])
        if np.isfinite(rel).any():
            out["rel_err"] = float(np.median(rel[np.isfinite(rel)]))
    has = ok & np.isfinite(lo) & np.isfinite(hi)
    if has.any():
        t, lo_, hi_ = truth[has], lo[has], hi[has]
        a = 1 - level
        out["interval_share"] = float(has.sum() / ok.sum())
        out["coverage"] = float(np.mean((lo_ <= t) & (t <= hi_)))
        out["width"] = float(np.mean(hi_ - lo_))
        s = (hi_ - lo_) + 2 / a * np.maximum(lo_ - t, 0) + 2 / a * np.maximum(t - hi_, 0)
        out["interval_score"] = float(np.mean(s))
    if quality is not None and weights is not None:
        from scipy import stats

        good = np.isfinite(weights)
        if good.sum() > 2 and np.ptp(weights[good]) > 0:
            out["spearman"] = float(stats.spearmanr(weights[good], quality[good]).statistic)
    return out


def format_cell(v: Any) -> str:
    """A table cell: floats to 3 significant figures (exponent only from 1e5), NaN as ``nan``, None empty."""
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not np.isfinite(v):
            return "nan"
        return f"{v:.3g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def markdown_table(rows: list[dict], columns: list[tuple[str, str]] | None = None, *, status: bool = True,
                   level: float = 0.9) -> list[str]:
    """Rows of scores as Markdown table lines (the columns some row has; ``status`` last).

    ``columns`` is a list of ``(key, header)`` (default :data:`COLUMNS`); the
    coverage header names ``level``.
    """
    cols = [(k, f"coverage {level:.0%}" if k == "coverage" else h) for k, h in (columns or COLUMNS)
            if any(k in r for r in rows)]
    lines = ["| " + " | ".join(h for _, h in cols) + (" | status |" if status else " |"),
             "|" + "---|" * (len(cols) + bool(status))]
    for r in rows:
        lines.append("| " + " | ".join(format_cell(r.get(k)) for k, _ in cols)
                     + (f" | {r.get('status', '')} |" if status else " |"))
    return lines


def plot_scores(rows: list[dict], title: str, path: Any, *, level: float = 0.9, highlight: str = "credscore") -> None:
    """Bar charts of MAE, seconds and (where any) interval coverage per method, saved to ``path``.

    Needs matplotlib (:class:`ImportError` with the install command otherwise).
    Rows without ``mae`` are left out.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("charts need matplotlib: pip install matplotlib (or credscore[plot]).") from None
    rs = [r for r in rows if "mae" in r]
    if not rs:
        raise ValueError("no row with an MAE to chart.")
    fig, axes = plt.subplots(1, 3 if any("coverage" in r for r in rs) else 2, figsize=(15, 5))
    names = [r["method"] for r in rs]
    colors = ["tab:red" if n == highlight else ("tab:gray" if n.startswith("peer:") else "tab:blue") for n in names]
    mae = np.array([r["mae"] for r in rs], dtype=float)
    axes[0].barh(names, mae, color=colors)
    if np.all(mae > 0) and mae.max() > 10 * mae.min():  # a log axis only when the MAEs span a decade
        axes[0].set_xscale("log")
    axes[0].set_title(f"{title}: MAE")
    axes[1].barh(names, [max(r.get("seconds", np.nan), 1e-6) for r in rs], color=colors)
    axes[1].set_xscale("log")
    axes[1].set_title("seconds")
    if len(axes) > 2:
        axes[2].barh(names, [r.get("coverage", np.nan) for r in rs], color=colors)
        axes[2].axvline(level, color="k", ls=":")
        axes[2].set_title(f"coverage of {level:.0%} intervals")
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)

