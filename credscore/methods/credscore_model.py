"""credscore's own model: :func:`credscore.fuse`.

The Bayesian mixture model of :mod:`credscore.fusion` (each claim accurate
with its source's reliability, wild otherwise; rounding as interval
censoring; Zhao et al. 2012, "A Bayesian approach to discovering truth from
conflicting sources for data integration", PVLDB 5(6); Heitjan & Rubin
1991), with learned reliabilities and copy detection. Numbers: every claim
as stated (ranges, bounds and rounding are likelihood terms, not reduced to
a centre; relays count once). The estimate is the posterior median, the
interval the equal-tailed credible interval at ``level``; source weights are
the posterior mean reliabilities.

Examples
--------
>>> from credscore.methods import get
>>> res = get("credscore")(learn_reliability=False).fit([{"quantity": "t", "source": s, "value": v}
...                                                       for s, v in [("a", 130), ("b", 130)]])
>>> 125 < float(res.estimates["estimate"][0]) < 135
True
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..fusion import fuse
from ..results import Table
from ._base import Method, MethodResult, prepare, register

__all__ = ["CredScore"]

_FUSE_KEYWORDS = tuple(k for k in inspect.signature(fuse).parameters if k != "claims")


@register("credscore")
class CredScore(Method):
    """:func:`credscore.fuse` behind the :class:`~credscore.methods.Method` protocol.

    Parameters
    ----------
    **options
        Keyword arguments of :func:`credscore.fuse` (``priors``, ``level``,
        ``learn_reliability``, ``detect_copies``, ...).
    """

    def __init__(self, **options: Any) -> None:
        bad = sorted(set(options) - set(_FUSE_KEYWORDS))
        if bad:
            raise TypeError(f"`{bad[0]}` is not a keyword of credscore.fuse; expected one of {', '.join(_FUSE_KEYWORDS)}.")
        self.options = dict(options)

    def __repr__(self) -> str:
        return "CredScore(" + ", ".join(f"{k}={v!r}" for k, v in self.options.items()) + ")"

    def fit(self, claims: Any) -> MethodResult:
        """Fit :func:`credscore.fuse` with this method's options; estimates are posterior medians
        with their equal-tailed intervals, weights the learned reliabilities."""
        p = prepare(claims)  # same validation as every method
        res = fuse(p.claims, **self.options)
        est = res.estimates
        e = np.asarray(est["median"], dtype=float)
        estimates = Table({
            "quantity": est["quantity"],
            "scale": est["scale"],
            "n_statements": est["n_statements"],
            "estimate": e,
            "median": e.copy(),
            "low": np.asarray(est["low"], dtype=float),
            "high": np.asarray(est["high"], dtype=float),
        })
        src = res.sources
        sources = Table({"source": src["source"], "weight": np.asarray(src["reliability"], dtype=float),
                         "n_statements": src["n_claims"]})
        return MethodResult(method=self.name, estimates=estimates, sources=sources,
                            n_iter=int(getattr(res.learning, "n_iter", 0) or 0))
