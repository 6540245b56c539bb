"""The result of a (grouped) random-effects meta-analysis and its formatting (see :mod:`credscore.meta`)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

_FIELDS_NUMERIC = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "pvalue",
    "tau2",
    "tau2_se",
    "tau2_ci_low",
    "tau2_ci_high",
    "tau",
    "Q",
    "Q_df",
    "Q_pvalue",
    "I2",
    "H2",
    "pi_low",
    "pi_high",
    "k",
    "converged",
    "iterations",
)


@attrs.frozen(eq=False, repr=False)
class MetaResult:
    """Result of a random-effects (or fixed-effect) meta-analysis.

    For :func:`random_effects_grouped` every numeric field is a
    :class:`numpy.ndarray` of length ``G`` (one entry per group code).  For
    :func:`random_effects` every numeric field is a plain Python scalar
    (``float``; ``int`` for ``k``, ``Q_df`` and ``iterations``; ``bool`` for
    ``converged``).

    Attributes
    ----------
    estimate : float or ndarray
        Pooled estimate :math:`\\hat\\mu` (inverse-variance weighted mean with
        weights :math:`1/(v_i + \\hat\\tau^2)`).
    se : float or ndarray
        Standard error of ``estimate`` (Knapp-Hartung adjusted when
        ``ci="knha"``).
    ci_low, ci_high : float or ndarray
        Confidence interval for the pooled estimate at ``level``.
    statistic : float or ndarray
        ``estimate / se``: a z statistic (``ci="z"``) or a t statistic with
        ``k - 1`` degrees of freedom (``ci="knha"``).
    pvalue : float or ndarray
        Two-sided p-value of ``statistic``.
    tau2 : float or ndarray
        Between-study variance :math:`\\hat\\tau^2` (0 for ``"FE"``; never
        negative).
    tau2_se : float or ndarray
        Standard error of ``tau2`` as metafor reports it (NaN for ``"FE"`` and
        for groups with ``k == 1``).
    tau2_ci_low, tau2_ci_high : float or ndarray
        Q-profile confidence interval for :math:`\\tau^2` (Viechtbauer, 2007)
        at ``level`` (NaN for ``"FE"`` and for ``k == 1``).
    tau : float or ndarray
        :math:`\\sqrt{\\hat\\tau^2}`.
    Q : float or ndarray
        Cochran's heterogeneity statistic (fixed-effect weights :math:`1/v_i`).
    Q_df : int or ndarray
        Degrees of freedom of ``Q``, ``k - 1``.
    Q_pvalue : float or ndarray
        Upper-tail chi-square p-value of ``Q`` (1 when ``k == 1``, as metafor).
    I2 : float or ndarray
        :math:`I^2` in percent (Higgins & Thompson, 2002), as metafor computes
        it (see :func:`random_effects_grouped`).
    H2 : float or ndarray
        :math:`H^2` as metafor computes it.
    pi_low, pi_high : float or ndarray
        Prediction interval for the true effect in a new study.
    k : int or ndarray
        Number of studies in the group.
    method : str
        Estimator of :math:`\\tau^2`: ``"FE"``, ``"DL"``, ``"REML"``, ``"ML"``
        or ``"PM"``.
    ci : str
        ``"z"`` or ``"knha"``.
    level : float
        Confidence level of all intervals.
    converged : bool or ndarray
        Whether every iterative step for the group (the tau² estimator and
        both Q-profile bounds) met its convergence criterion.  Always ``True``
        for ``"FE"`` and ``"DL"`` apart from the Q-profile bounds.
    iterations : int or ndarray
        Iterations used by the tau² estimator (0 for ``"FE"`` and ``"DL"``).
    """

    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    statistic: Any
    pvalue: Any
    tau2: Any
    tau2_se: Any
    tau2_ci_low: Any
    tau2_ci_high: Any
    tau: Any
    Q: Any
    Q_df: Any
    Q_pvalue: Any
    I2: Any
    H2: Any
    pi_low: Any
    pi_high: Any
    k: Any
    method: str
    ci: str
    level: float
    converged: Any
    iterations: Any

    @property
    def is_grouped(self) -> bool:
        """``True`` when the fields are per-group arrays."""
        return isinstance(self.estimate, np.ndarray) and self.estimate.ndim == 1

    def to_dataframe(self):
        """Return the result as a :class:`pandas.DataFrame`.

        One row per group (one row in total for a single-group result), one
        column per field; ``method``, ``ci`` and ``level`` are repeated on
        every row.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        ImportError
            If pandas is not installed (it is an optional dependency of
            credscore: ``pip install credscore[pandas]``).
        """
        from .results import require_pandas

        pd = require_pandas()
        cols = {name: np.atleast_1d(getattr(self, name)) for name in _FIELDS_NUMERIC}
        n = len(cols["estimate"])
        cols["method"] = np.repeat(self.method, n)
        cols["ci"] = np.repeat(self.ci, n)
        cols["level"] = np.repeat(self.level, n)
        df = pd.DataFrame(cols)
        df.index.name = "group"
        return df

    def summary(self) -> str:
        """Return a readable multi-line text summary.

        For a single-group result this mirrors the layout of metafor's
        ``print.rma.uni``; for a grouped result it gives the number of groups,
        the settings and convergence counts.

        Returns
        -------
        str
        """
        pct = f"{100 * self.level:g}%"
        if self.is_grouped:
            G = len(self.estimate)
            nconv = int(np.sum(self.converged))
            return (
                f"Grouped meta-analysis: {G} groups, {int(np.sum(self.k))} studies; "
                f"method={self.method}, ci={self.ci}, level={pct}; "
                f"converged {nconv}/{G}"
            )
        model = "Fixed-effect" if self.method == "FE" else "Random-effects"
        lines = [f"{model} meta-analysis (k = {self.k}; method: {self.method}; ci: {self.ci})", ""]
        if self.method != "FE":
            tau2_ci = (
                f"[{pct} Q-profile CI: {self.tau2_ci_low:.4f}, {self.tau2_ci_high:.4f}]"
                if np.isfinite(self.tau2_ci_low)
                else ""
            )
            lines.append(f"tau^2 = {self.tau2:.4f} (SE = {self.tau2_se:.4f}) {tau2_ci}".rstrip())
            lines.append(f"tau   = {self.tau:.4f}")
        lines.append(f"I^2   = {self.I2:.2f}%")
        lines.append(f"H^2   = {self.H2:.2f}")
        lines.append("")
        lines.append(f"Test for heterogeneity: Q(df = {self.Q_df}) = {self.Q:.4f}, p = {self.Q_pvalue:.4g}")
        lines.append("")
        stat = "zval" if self.ci == "z" else "tval"
        lines.append(f"{'estimate':>10} {'se':>8} {stat:>9} {'pval':>10} {'ci.lb':>9} {'ci.ub':>9}")
        lines.append(
            f"{self.estimate:>10.4f} {self.se:>8.4f} {self.statistic:>9.4f} "
            f"{self.pvalue:>10.4g} {self.ci_low:>9.4f} {self.ci_high:>9.4f}"
        )
        lines.append("")
        lines.append(f"{pct} prediction interval: [{self.pi_low:.4f}, {self.pi_high:.4f}]")
        if not self.converged:
            lines.append("WARNING: the iterative fit did not converge.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.is_grouped:
            return f"<MetaResult: {self.summary()}>"
        return (
            f"MetaResult(method={self.method!r}, ci={self.ci!r}, k={self.k}, "
            f"estimate={self.estimate:.4f}, se={self.se:.4f}, "
            f"ci=[{self.ci_low:.4f}, {self.ci_high:.4f}], tau2={self.tau2:.4f}, "
            f"I2={self.I2:.2f}, Q={self.Q:.4f})"
        )

    def __str__(self) -> str:
        return self.summary()
