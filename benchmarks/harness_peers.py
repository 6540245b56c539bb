"""Peers of credscore run on the same claims as credscore.methods (imported lazily).

Each adapter takes the prepared statements of :func:`credscore.methods._base.prepare`
(model-space centres, one per distinct statement) and returns
``(estimate, low, high, weights)`` in model space, or raises
:class:`PeerUnavailable` with the reason a row is reported instead of numbers.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from credscore._segments import segment_count, segment_sum
from credscore.methods._base import Prepared, claim_se, cluster_values, scale_per_quantity

LEVEL = 0.9


class PeerUnavailable(Exception):
    """The peer cannot run (not installed, or not applicable to the data)."""


def _need(module: str, pip_name: str):
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as exc:  # ImportError, or a broken install
        raise PeerUnavailable(f"not installed ({pip_name}: {type(exc).__name__}: {exc})") from None


def _by_size(p: Prepared):
    """Quantities grouped by their number of statements: {k: (quantity codes, (k, G) index matrix)}."""
    n = segment_count(p.q, p.nq)
    order = np.lexsort((p.x, p.q))
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    out = {}
    for k in np.unique(n):
        qs = np.flatnonzero(n == k)
        idx = order[start[qs][None, :] + np.arange(k)[:, None]]
        out[int(k)] = (qs, idx)
    return out


def pymare(p: Prepared, method: str):
    _need("pymare", "pymare")
    from pymare import Dataset
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

    se = claim_se(p)
    est, lo, hi = np.full(p.nq, np.nan), np.full(p.nq, np.nan), np.full(p.nq, np.nan)
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    for k, (qs, idx) in _by_size(p).items():  # pymare fits many datasets of equal size at once
        if k == 1:
            i = idx[0]
            est[qs], lo[qs], hi[qs] = p.x[i], p.x[i] - z * se[i], p.x[i] + z * se[i]
            continue
        e = DerSimonianLaird() if method == "DL" else VarianceBasedLikelihoodEstimator(method="REML")
        e.fit_dataset(Dataset(y=p.x[idx], v=se[idx] ** 2))
        fe = e.summary().get_fe_stats(alpha=1 - LEVEL)
        est[qs], lo[qs], hi[qs] = np.ravel(fe["est"]), np.ravel(fe["ci_l"]), np.ravel(fe["ci_u"])
    return est, lo, hi, None


def statsmodels(p: Prepared, method: str):
    _need("statsmodels", "statsmodels")
    from statsmodels.stats.meta_analysis import combine_effects

    se = claim_se(p)
    v = se**2
    est, lo, hi = np.full(p.nq, np.nan), np.full(p.nq, np.nan), np.full(p.nq, np.nan)
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    order = np.argsort(p.q, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(segment_count(p.q, p.nq))))
    for g in range(p.nq):  # statsmodels analyses one meta-analysis per call
        i = order[bounds[g]:bounds[g + 1]]
        if len(i) == 1:
            est[g], lo[g], hi[g] = p.x[i[0]], p.x[i[0]] - z * se[i[0]], p.x[i[0]] + z * se[i[0]]
            continue
        r = combine_effects(p.x[i], v[i], method_re=method)
        est[g] = r.mean_effect_re
        lo[g], hi[g] = r.conf_int(alpha=1 - LEVEL)[1]
    return est, lo, hi, None


def _frame(p: Prepared, column, values):
    pd = _need("pandas", "pandas")
    return pd.DataFrame({"task": p.q, "worker": p.s, column: values})


def crowdkit_rasa(p: Prepared):
    _need("crowdkit", "crowd-kit")
    from crowdkit.aggregation import RASA

    sd = scale_per_quantity(p)
    centre = segment_sum(p.x, p.q, p.nq) / segment_count(p.q, p.nq)
    z = (p.x - centre[p.q]) / sd[p.q]  # 1-D embeddings, normalised per quantity
    df = _frame(p, "embedding", list(z[:, None]))
    df["output"] = np.arange(len(z))
    model = RASA()
    res = model.fit_predict(df)
    est = np.full(p.nq, np.nan)
    est[res.index.to_numpy(dtype=np.int64)] = p.x[res["output"].to_numpy(dtype=np.int64)]
    w = np.full(p.ns, np.nan)
    sk = model.skills_
    w[sk.index.to_numpy(dtype=np.int64)] = sk.to_numpy(dtype=float)
    return est, None, None, w


def crowdkit_ds(p: Prepared, max_labels: int = 2000):
    _need("crowdkit", "crowd-kit")
    from crowdkit.aggregation import DawidSkene

    fact, fq, fx = cluster_values(p, 0.1)  # rounded values, as majority uses
    # labels shared across quantities: the rounded value itself (DS learns a label x label confusion matrix per worker)
    step = np.where(fx != 0, 10.0 ** (np.floor(np.log10(np.abs(np.where(fx != 0, fx, 1.0)))) - 1), 1.0)
    label = np.round(fx / step) * step
    labels, code = np.unique(label, return_inverse=True)
    if len(labels) > max_labels:
        raise PeerUnavailable(f"not applicable ({len(labels)} distinct rounded values; Dawid-Skene's "
                              f"per-source {len(labels)}x{len(labels)} confusion matrices exceed the {max_labels} cap)")
    df = _frame(p, "label", code[fact])
    model = DawidSkene(n_iter=50)
    res = model.fit_predict(df)
    est = np.full(p.nq, np.nan)
    est[res.index.to_numpy(dtype=np.int64)] = labels[res.to_numpy(dtype=np.int64)]
    return est, None, None, None


def truthdiscovery(p: Prepared):
    _need("truthdiscovery", "truthdiscovery")
    raise PeerUnavailable("installed, but no adapter was written for it")


PEERS = {
    "peer:pymare_dl": lambda p: pymare(p, "DL"),
    "peer:pymare_reml": lambda p: pymare(p, "REML"),
    "peer:statsmodels_dl": lambda p: statsmodels(p, "chi2"),
    "peer:statsmodels_pm": lambda p: statsmodels(p, "iterated"),
    "peer:crowdkit_rasa": crowdkit_rasa,
    "peer:crowdkit_ds": crowdkit_ds,
    "peer:truthdiscovery": truthdiscovery,
}
