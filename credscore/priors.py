"""Priors: source reliability, source error scale, and the quantity prior.

A claim by source *s* is *accurate* with probability ρ_s (drawn from the truth
with the source's error) and *wild* otherwise (unrelated to the truth: a
mistake, propaganda, another definition). :class:`Reliability` is the Beta
prior on ρ_s, :class:`ErrorScale` the prior on the source's error scale σ_s in
model space, and :class:`SourcePriors` assigns them per source, per source
kind and by default. :class:`QuantityPrior` is the prior on a quantity's true
value. The mixture model is that of robust truth discovery with outlier
components (e.g. Zhao et al. 2012, "A Bayesian approach to discovering truth
from conflicting sources for data integration", PVLDB 5(6)); the Beta /
inverse-gamma conjugate structure follows Gelman et al., *Bayesian Data
Analysis*, 3rd ed., ch. 2-3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from scipy import stats

from .exceptions import ClaimError

__all__ = [
    "Reliability",
    "ErrorScale",
    "SourcePriors",
    "QuantityPrior",
    "ADMIRALTY",
    "DEFAULT_RELIABILITY",
    "DEFAULT_LOG_SIGMA",
]


def _check_open01(name: str, x: float) -> float:
    x = float(x)
    if not 0.0 < x < 1.0:
        raise ValueError(f"`{name}` must be in the open interval (0, 1).")
    return x


@attrs.frozen
class Reliability:
    """Beta prior on the probability that a source's claim is accurate.

    ``Reliability(mean, strength)`` is Beta(mean·strength, (1 − mean)·strength):
    ``strength`` acts as a number of prior claims.

    Parameters
    ----------
    mean : float
        Prior mean of ρ, in (0, 1]. ``mean=1`` states a source whose claims
        are always accurate (no wild component).
    strength : float
        Prior sample size, > 0.

    Examples
    --------
    >>> r = Reliability(0.8, 10)
    >>> r.a, r.b
    (8.0, 2.0)
    >>> Reliability.admiralty("B").mean
    0.85
    """

    mean: float = attrs.field(converter=float)
    strength: float = attrs.field(default=10.0, converter=float)

    @mean.validator
    def _check_mean(self, attribute: Any, value: float) -> None:
        if not 0.0 < value <= 1.0:
            raise ValueError("`mean` must be in the half-open interval (0, 1].")

    @strength.validator
    def _check_strength(self, attribute: Any, value: float) -> None:
        if not (value > 0.0 and math.isfinite(value)):
            raise ValueError("`strength` must be positive and finite.")

    @property
    def a(self) -> float:
        """First Beta shape parameter."""
        return self.mean * self.strength

    @property
    def b(self) -> float:
        """Second Beta shape parameter."""
        return self.strength - self.a

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Equal-tailed prior credible interval of ρ."""
        level = _check_open01("level", level)
        if self.mean == 1.0:
            return 1.0, 1.0
        lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], self.a, self.b)
        return float(lo), float(hi)

    @classmethod
    def admiralty(cls, grade: str) -> "Reliability":
        """The prior for a NATO / Admiralty source-reliability grade.

        The Admiralty code (NATO STANAG 2511; AJP-2.1) grades a source's
        reliability from A to F but gives no probabilities. credscore maps the
        grades to Beta priors as follows (our choice, documented so it can be
        argued with; pass your own :class:`Reliability` to differ):

        =====  ============================  =====  ========  ==================
        grade  meaning                       mean   strength  90 % interval
        =====  ============================  =====  ========  ==================
        A      completely reliable           0.95   40        ≈ [0.89, 0.99]
        B      usually reliable              0.85   20        ≈ [0.71, 0.96]
        C      fairly reliable               0.70   10        ≈ [0.45, 0.90]
        D      not usually reliable          0.40   6         ≈ [0.11, 0.73]
        E      unreliable                    0.20   5         ≈ [0.02, 0.53]
        F      reliability cannot be judged  0.50   2         flat, Beta(1, 1)
        =====  ============================  =====  ========  ==================

        Parameters
        ----------
        grade : {'A', 'B', 'C', 'D', 'E', 'F'}

        Examples
        --------
        >>> Reliability.admiralty("F")
        Reliability(mean=0.5, strength=2.0)
        """
        g = str(grade).strip().upper()
        if g not in ADMIRALTY:
            raise ValueError(f"`grade` must be one of 'A', 'B', 'C', 'D', 'E', 'F'; got {grade!r}.")
        return ADMIRALTY[g]

    @classmethod
    def flat(cls) -> "Reliability":
        """The uniform prior Beta(1, 1) (Admiralty grade F)."""
        return cls(0.5, 2.0)


#: Admiralty grade → :class:`Reliability` (see :meth:`Reliability.admiralty`).
ADMIRALTY: dict[str, Reliability] = {
    "A": Reliability(0.95, 40.0),
    "B": Reliability(0.85, 20.0),
    "C": Reliability(0.70, 10.0),
    "D": Reliability(0.40, 6.0),
    "E": Reliability(0.20, 5.0),
    "F": Reliability(0.50, 2.0),
}

#: Prior for sources without one: Beta(4, 1), mean 0.8.
DEFAULT_RELIABILITY = Reliability(0.8, 5.0)

#: The columns :meth:`SourcePriors.from_csv` reads (``rationale`` and ``note`` are free text, kept for people).
PRIOR_COLUMNS: tuple[str, ...] = (
    "source", "source_kind", "admiralty", "reliability_mean", "reliability_strength", "error_sigma", "error_df",
    "rationale", "note",
)

#: Default error scale on log quantities: 10 % relative error.
DEFAULT_LOG_SIGMA = 0.1


@attrs.frozen
class ErrorScale:
    """Prior on a source's error scale σ in model space.

    An accurate claim by the source is the truth plus an error of scale σ. On
    a log-scale quantity σ is a relative error (0.1 ≈ 10 %); on a linear one
    it is in the quantity's units. With ``df`` given, σ² is marginalised
    under the scaled inverse-χ² prior with ``df`` degrees of freedom and
    scale ``sigma``, which makes the error Student-t with ``df`` degrees of
    freedom and scale ``sigma`` (Gelman et al., *BDA3*, sec. 17.2); heavy
    tails make the accurate component tolerate moderate errors.

    A claim that states its own standard error ``se`` uses ``se`` instead of
    σ: the stated uncertainty is the accurate component's error, and a source
    that understates it is caught by the wild component.

    Parameters
    ----------
    sigma : float or None
        The scale, > 0. ``None`` (default): 0.1 on log quantities; on linear
        quantities 1.4826 × the median absolute deviation of the quantity's
        claims (floored at their stated precision), an empirical-Bayes choice
        that keeps results equivariant under changes of units.
    df : float or None
        Degrees of freedom of the Student-t error (``None``: normal errors).

    Examples
    --------
    >>> ErrorScale(0.2, df=4)
    ErrorScale(sigma=0.2, df=4.0)
    """

    sigma: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))
    df: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))

    @sigma.validator
    def _check_sigma(self, attribute: Any, value: float | None) -> None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ValueError("`sigma` must be positive and finite.")

    @df.validator
    def _check_df(self, attribute: Any, value: float | None) -> None:
        if value is not None and not value > 0:
            raise ValueError("`df` must be positive.")


@attrs.frozen
class QuantityPrior:
    """Prior on a quantity's true value.

    The default (no arguments) is flat in model space over a range wider
    than the claims: from a factor 100 below the smallest to a factor 100
    above the largest number stated on log quantities; on linear ones by ten
    times the claims' span (plus their error scales) on each side.

    Parameters
    ----------
    low, high : float or None
        Bounds of a flat prior, natural units (``None``: the default range).
    mean, sd : float or None
        A normal prior in model space instead: ``mean`` in natural units,
        ``sd`` in model-space units (a relative sd on log quantities).

    Examples
    --------
    >>> QuantityPrior(low=0, high=1e6)
    QuantityPrior(low=0.0, high=1000000.0, mean=None, sd=None)
    """

    low: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))
    high: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))
    mean: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))
    sd: float | None = attrs.field(default=None, converter=attrs.converters.optional(float))

    def __attrs_post_init__(self) -> None:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError("`low` must be less than `high`.")
        if (self.mean is None) != (self.sd is None):
            raise ValueError("`mean` and `sd` must be given together.")
        if self.sd is not None and not self.sd > 0:
            raise ValueError("`sd` must be positive.")


def _as_pair(value: Any, where: str) -> tuple[Reliability | None, ErrorScale | None]:
    if isinstance(value, Reliability):
        return value, None
    if isinstance(value, ErrorScale):
        return None, value
    if isinstance(value, str):
        return Reliability.admiralty(value), None
    if isinstance(value, tuple) and len(value) == 2:
        r, e = value
        if (r is None or isinstance(r, Reliability)) and (e is None or isinstance(e, ErrorScale)):
            return r, e
    raise TypeError(
        f"{where} must be a Reliability, an ErrorScale, an Admiralty grade or a (Reliability, ErrorScale) pair; "
        f"got {value!r}."
    )


@attrs.frozen
class SourcePriors:
    """Priors per source, per source kind, and by default.

    A source's prior is looked up by its name in ``sources``, then by its kind
    in ``kinds``, then falls back to ``default`` / ``error``. A source's kind
    comes from the claims' ``source_kind`` field or from ``source_kinds``.

    Parameters
    ----------
    default : Reliability
        Reliability prior of sources matched by nothing else.
    error : ErrorScale
        Default error-scale prior.
    sources, kinds : mapping
        ``{name: prior}`` where a prior is a :class:`Reliability`, an
        :class:`ErrorScale`, an Admiralty grade letter, or a
        ``(Reliability, ErrorScale)`` pair (either may be ``None``).
    source_kinds : mapping
        ``{source: kind}``, for claims that do not state their source's kind.

    Examples
    --------
    >>> priors = SourcePriors(
    ...     sources={"NIS": "B"},
    ...     kinds={"blog": Reliability(0.3, 4)},
    ...     source_kinds={"some blog": "blog"},
    ... )
    >>> priors.reliability_for("some blog", None)
    Reliability(mean=0.3, strength=4.0)
    """

    default: Reliability = attrs.field(factory=lambda: DEFAULT_RELIABILITY)
    error: ErrorScale = attrs.field(factory=ErrorScale)
    sources: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)
    kinds: Mapping[str, Any] = attrs.field(factory=dict, converter=dict)
    source_kinds: Mapping[str, str] = attrs.field(factory=dict, converter=dict)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.default, Reliability):
            raise TypeError("`default` must be a Reliability.")
        if not isinstance(self.error, ErrorScale):
            raise TypeError("`error` must be an ErrorScale.")
        for name, v in self.sources.items():
            _as_pair(v, f"`sources[{name!r}]`")
        for name, v in self.kinds.items():
            _as_pair(v, f"`kinds[{name!r}]`")

    def _lookup(self, source: str, kind: str | None) -> tuple[Reliability, ErrorScale]:
        kind = self.source_kinds.get(source, kind)
        rel, err = None, None
        for table, key in ((self.sources, source), (self.kinds, kind)):
            if key is not None and key in table:
                r, e = _as_pair(table[key], "a prior")
                rel = rel or r
                err = err or e
        return rel or self.default, err or self.error

    def reliability_for(self, source: str, kind: str | None = None) -> Reliability:
        """The reliability prior of a source (of the given kind)."""
        return self._lookup(source, kind)[0]

    def error_for(self, source: str, kind: str | None = None) -> ErrorScale:
        """The error-scale prior of a source (of the given kind)."""
        return self._lookup(source, kind)[1]

    @classmethod
    def from_csv(cls, path: Any, encoding: str = "utf-8-sig") -> "SourcePriors":
        """Read priors from a CSV file.

        Columns (all optional but one of ``source`` / ``source_kind``):
        ``source, source_kind, admiralty, reliability_mean, reliability_strength,
        error_sigma, error_df``. A row with a ``source`` sets that source's
        prior (and its kind, when ``source_kind`` is given too); a row with only
        ``source_kind`` sets the prior of that kind; ``source`` ``*`` sets the
        default. ``admiralty`` (a grade A-F) and ``reliability_mean`` (with an
        optional ``reliability_strength``) are alternatives: a row gives one.
        ``rationale`` and ``note`` hold free text (why the prior was chosen)
        and are not read; any other column is an error.
        The file is read as :meth:`ClaimSet.from_csv <credscore.ClaimSet.from_csv>`
        reads claims: header names case-insensitive, delimiter detected, a
        byte-order mark ignored.

        Parameters
        ----------
        path : path-like
        encoding : str, default 'utf-8-sig'

        Raises
        ------
        ClaimError
            Naming the line and field of a bad value, of an unknown or
            duplicated column, or of a column that conflicts with another.
        """
        from .io import _csv_records

        sources: dict[str, Any] = {}
        kinds: dict[str, Any] = {}
        source_kinds: dict[str, str] = {}
        default, error = DEFAULT_RELIABILITY, ErrorScale()
        for line, row in _csv_records(path, PRIOR_COLUMNS, encoding, "a priors column"):
            row = {k: (v or "").strip() for k, v in row.items()}
            src, kind = row.get("source", ""), row.get("source_kind", "")
            if not src and not kind:
                raise ClaimError("needs a `source` or a `source_kind`.", row=line, field="source", where="line")
            if row.get("admiralty"):
                for other in ("reliability_mean", "reliability_strength"):
                    if row.get(other):
                        raise ClaimError(
                            "conflicts with `admiralty` (a grade sets the reliability prior); give one of them.",
                            row=line, field=other, where="line",
                        )
            elif row.get("reliability_strength") and not row.get("reliability_mean"):
                raise ClaimError("needs a `reliability_mean`.", row=line, field="reliability_strength", where="line")

            def number(field: str) -> float | None:
                if not row.get(field):
                    return None
                try:
                    return float(row[field])
                except ValueError:
                    raise ClaimError(f"must be a number, got {row[field]!r}.", row=line, field=field, where="line") from None

            rel = err = None
            mean, strength, sigma, df = (number(f) for f in ("reliability_mean", "reliability_strength", "error_sigma", "error_df"))
            field = "admiralty"
            try:
                if row.get("admiralty"):
                    rel = Reliability.admiralty(row["admiralty"])
                elif mean is not None:
                    bad_strength = strength is not None and not (strength > 0 and math.isfinite(strength))
                    field = "reliability_strength" if bad_strength else "reliability_mean"
                    rel = Reliability(mean, 10.0 if strength is None else strength)
                if sigma is not None or df is not None:
                    field = "error_df" if df is not None and not df > 0 else "error_sigma"
                    err = ErrorScale(sigma, df)
            except ValueError as exc:
                raise ClaimError(str(exc), row=line, field=field, where="line") from None
            if src == "*":
                default = rel or default
                error = err or error
            elif src:
                if rel or err:
                    sources[src] = (rel, err)
                if kind:
                    source_kinds[src] = kind
            else:
                kinds[kind] = (rel, err)
        return cls(default=default, error=error, sources=sources, kinds=kinds, source_kinds=source_kinds)

    def to_records(self, claims: Any) -> list[dict[str, Any]]:
        """The resolved prior of every source of a ClaimSet, as records."""
        out = []
        for i, name in enumerate(claims.sources):
            kind = self.source_kinds.get(str(name), claims.source_kinds[i])
            r, e = self._lookup(str(name), kind)
            out.append({"source": str(name), "source_kind": kind, "reliability_mean": r.mean,
                        "reliability_strength": r.strength, "error_sigma": e.sigma, "error_df": e.df})
        return out


def resolve_source_priors(priors: SourcePriors, claims: Any) -> dict[str, np.ndarray]:
    """Per-source prior arrays (a, b, sigma, df) for a ClaimSet (NaN sigma: default)."""
    n = claims.n_sources
    a, b, sig, df = (np.empty(n) for _ in range(4))
    for i, name in enumerate(claims.sources):  # once per source label, at the boundary
        r, e = priors._lookup(str(name), claims.source_kinds[i])
        a[i], b[i] = r.a, r.b
        sig[i] = np.nan if e.sigma is None else e.sigma
        df[i] = np.inf if e.df is None else e.df
    return {"a": a, "b": b, "sigma": sig, "df": df}
