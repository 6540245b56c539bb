"""Interchangeable estimation methods behind one protocol, for comparisons.

Every method is a small class whose hyperparameters are keyword arguments;
``Method(**hyperparameters).fit(claims)`` returns a :class:`MethodResult`
whose ``estimates`` table has the columns of :func:`credscore.fuse`'s
(``quantity``, ``median``; here also ``estimate`` = ``median``, ``low``,
``high``; NaN where the method gives no interval) and whose ``sources``
table has ``source, weight`` (NaN where the method learns no source
quality).

=====================  ==========================================================
name                   method
=====================  ==========================================================
``mean``               arithmetic mean (t interval)
``median``             median
``trimmed_mean``       trimmed mean
``weighted_mean``      inverse-variance weighted mean (fixed-effect interval)
``majority``           most frequent rounded value
``truthfinder``        TruthFinder (Yin, Han & Yu 2008), numeric implication
``sums``               Sums / Hubs and Authorities (Pasternack & Roth 2010)
``average_log``        AverageLog (Pasternack & Roth 2010)
``investment``         Investment (Pasternack & Roth 2010)
``pooled_investment``  PooledInvestment (Pasternack & Roth 2010)
``crh``                CRH, continuous loss (Li et al. 2014)
``catd``               CATD (Li et al. 2015), chi-square source variances
``gtm``                Gaussian Truth Model (Zhao & Han 2012)
``kdem``               KDEm (Wan et al. 2016)
``random_effects``     random-effects meta-analysis, REML or DL
``credscore``          :func:`credscore.fuse`
=====================  ==========================================================

**How numbers are handled (all methods).** Each method sees one number per
distinct statement (relays of one statement count once: the claims with
``ClaimSet.is_evidence``), its *centre* in model space (the log of the
number on log-scale quantities, the number itself on linear ones): the stated
value for point and approximate claims, the midpoint of a range, and the
bound itself for a one-sided bound ("up to 10,000" counts as 10,000).
Estimates are transformed back to natural units. Methods defined on
discrete values (majority, TruthFinder, Sums, AverageLog, Investment,
PooledInvestment) first merge a quantity's centres that agree to a
tolerance into one *value* (see :func:`credscore.methods._base.cluster_values`).
Methods that need standard errors use the stated ``se`` and fill the missing
ones by :func:`credscore.methods._base.claim_se`.

Examples
--------
>>> from credscore import methods
>>> "crh" in methods.available()
True
>>> res = methods.get("median")().fit([
...     {"quantity": "t", "source": "a", "value": 10},
...     {"quantity": "t", "source": "b", "value": 12},
...     {"quantity": "t", "source": "c", "value": 100},
... ])
>>> float(res.estimates["estimate"][0])
12.0
"""

from __future__ import annotations

from ._base import Method, MethodResult, available, get, register

# one module per method; importing them fills the registry
from . import (  # noqa: F401,E402
    mean,
    median,
    trimmed_mean,
    weighted_mean,
    majority,
    truthfinder,
    sums,
    average_log,
    investment,
    pooled_investment,
    crh,
    catd,
    gtm,
    kdem,
    random_effects,
    credscore_model,
)

__all__ = ["Method", "MethodResult", "available", "get", "register"]
