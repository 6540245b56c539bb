"""Fuse claims on a Dask cluster: the same answers as :func:`credscore.fuse`, out of core.

Every quantity's posterior, its claims' responsibilities and its summaries are
local to the quantity, so the claims are partitioned by quantity (shuffled when
the input's partitions split a quantity) and each partition is fitted where it
lives. What needs all the data is small and is reduced to the driver:

* once: the source, attribute and source × attribute pair codes (global, so the
  partitions' sums add up), whether any source states two quantities, and the
  medians that start the attribute error scales;
* per EM iteration (:mod:`credscore.learning`): the sums per pair of the
  E-step (a few numbers per pair) and, with copy detection, per pair of sources
  (:mod:`credscore.dependence`); the M-step runs on the driver and the pair
  parameters go back to the partitions, which keep their state on the workers
  across iterations (dask futures; nothing is re-read or re-pickled per
  iteration).

The EM is the one of :func:`credscore.learning.learn_model`, split into
:func:`~credscore.learning.em_estep`, :func:`~credscore.learning.em_mstep`
and :func:`~credscore.learning.em_local` (Dempster, Laird & Rubin 1977; the
map-reduce form of EM: Chu et al. 2006, "Map-Reduce for machine learning on
multicore", NIPS). Needs the ``dask`` extra: ``pip install credscore[dask]``.
``import credscore`` never imports dask.
"""

from __future__ import annotations

import glob as _glob
import logging
import operator
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from .exceptions import ClaimError, ConvergenceWarning

__all__ = ["fuse", "DaskFusionResult", "local_cluster", "WORKER_ENV"]

log = logging.getLogger("credscore.dask")

#: Columns added to every claim row: the file it came from, its row there, and its global order.
_FILE, _ROW, _ORDER = "_file", "_row", "_order"


def _require():
    try:
        import dask.dataframe as dd
        from distributed import Client
    except ImportError as e:  # pragma: no cover - exercised without the extra
        raise ImportError("credscore.dask needs the dask extra: pip install 'credscore[dask]' "
                          "(dask[dataframe,distributed] and pyarrow).") from e
    return dd, Client


@attrs.frozen(eq=False)
class DaskFusionResult:
    """The result of :func:`credscore.dask.fuse`.

    Attributes
    ----------
    estimates : dask.dataframe.DataFrame
        One row per quantity (the columns of :attr:`credscore.FusionResult.estimates`).
    claims : dask.dataframe.DataFrame
        One row per input claim; ``file`` and ``row`` name where it was read (``row``: the
        zero-based row of a Parquet file or DataFrame, the line of a CSV file), ``evidence_row``
        the row of the claim it relays (same file).
    sources : Table
        One row per source (in memory).
    learning : LearningInfo
    dependence_scores : Dependence or None
    level : float
    """

    estimates: Any
    claims: Any
    sources: Any
    learning: Any
    dependence_scores: Any
    level: float
    futures: Any = attrs.field(default=None, repr=False)  # the partitions' results, kept alive
    ordered: Any = attrs.field(default=None, repr=False)  # the tables with their input-order keys

    def compute(self):
        """An ordinary :class:`~credscore.FusionResult` with every table in memory (rows in input
        order, quantities in order of first appearance, as :func:`credscore.fuse` gives them).

        Only the tables are gathered: ``claimset``, ``posterior`` and ``model`` are None, so
        the per-quantity methods that need a posterior (``estimate(q)``, plots) are not
        available on it.
        """
        import dask

        from .results import FusionResult, Table

        est, cl = dask.compute(*self.ordered)
        est = est.sort_values("_first").drop(columns="_first")
        cl = cl.sort_values(_ORDER).drop(columns=_ORDER)
        return FusionResult(estimates=_table(est), claims=_table(cl), sources=self.sources, level=self.level,
                            claimset=None, posterior=None, model=None, learning=self.learning,
                            dependence_scores=self.dependence_scores)


def _table(df):
    from .results import Table

    return Table({c: df[c].to_numpy() for c in df.columns})


# ------------------------------------------------------------------------------------------ input
def _files(path) -> list[str]:
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            hits = sorted(f for f in _glob.glob(os.path.join(p, "*")) if f.endswith((".parquet", ".csv")))
        else:
            hits = sorted(_glob.glob(p))
        if not hits:
            raise FileNotFoundError(f"no Parquet or CSV file matches {p!r}.")
        out.extend(hits)
    return out


def _read_file(path: str, index: int):
    """One file as a pandas DataFrame with the claim columns and ``_file, _row, _order``."""
    import pandas as pd

    if path.endswith(".csv"):
        # as text, so numbers keep the precision they are written with (as ClaimSet.from_csv)
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        row = np.arange(len(df), dtype=np.int64) + 2  # the line (header = line 1)
    else:
        df = pd.read_parquet(path)
        row = np.arange(len(df), dtype=np.int64)
    df[_FILE] = os.path.basename(path)
    df[_ROW] = row
    df[_ORDER] = (np.int64(index) << 40) + row
    return df


def _with_position(pdf, partition_info=None):
    k = 0 if partition_info is None else partition_info["number"]
    pdf = pdf.copy()
    row = np.arange(len(pdf), dtype=np.int64)
    pdf[_FILE] = f"partition {k}"
    pdf[_ROW] = row
    pdf[_ORDER] = (np.int64(k) << 40) + row
    return pdf


def _input_frame(claims):
    dd, _ = _require()
    import dask

    if isinstance(claims, (str, os.PathLike, list, tuple)):
        files = _files(claims)
        first = _read_file(files[0], 0)
        meta = first.iloc[:0]
        parts = [dask.delayed(_read_file)(f, i) for i, f in enumerate(files)]
        return dd.from_delayed(parts, meta=meta, verify_meta=False), "line" if files[0].endswith(".csv") else "row"
    if hasattr(claims, "map_partitions") and hasattr(claims, "npartitions"):
        meta = _with_position(claims._meta)
        return claims.map_partitions(_with_position, meta=meta), "partition row"
    raise TypeError(f"`claims` must be a dask DataFrame or a path or glob of Parquet / CSV files; "
                    f"got {type(claims).__name__}.")


def _quantity_hashes(pdf):
    """The partition's distinct quantities, hashed (a collision can only cause a needless shuffle)."""
    import pandas as pd

    return np.unique(pd.util.hash_array(pdf["quantity"].astype(str).to_numpy(dtype=object)))


def _one_partition(pdf):
    return pdf.sort_values(_ORDER, kind="stable")


# ------------------------------------------------------------------------- per-partition stages
@attrs.frozen(eq=False)
class _Part:
    """A partition's state on its worker: claims, model and layouts (global codes after stage 2)."""

    frame: Any  # _file, _row, _order of the claims (ClaimSet order)
    cs: Any
    layout: Any  # local codes (stage 1), global codes (stage 2)
    error: tuple | None = None
    smap: np.ndarray | None = None
    fixed: np.ndarray | None = None


def _error_tuple(e: ClaimError, frame, where: str):
    msg = str(e)
    prefix = ", ".join(([f"{e.where} {e.row}"] if e.row is not None else [])
                       + ([f"field `{e.field}`"] if e.field is not None else []))
    if prefix and msg.startswith(prefix + ": "):
        msg = msg[len(prefix) + 2:]
    if e.row is not None and 0 <= e.row < len(frame):
        f, r, o = frame[_FILE].iloc[e.row], int(frame[_ROW].iloc[e.row]), int(frame[_ORDER].iloc[e.row])
    else:
        f, r, o = (frame[_FILE].iloc[0] if len(frame) else None), None, int(frame[_ORDER].min()) if len(frame) else 0
    return (o, f, r, e.field, msg, where)


def _stage1(pdf, priors, quantity_priors, scales, decimal, where):
    """Validate and model one partition (local codes); what the driver needs to know of it."""
    from .likelihood import build_claim_model
    from .mixture import build_layout

    pdf = _one_partition(pdf)
    frame = pdf[[_FILE, _ROW, _ORDER]].reset_index(drop=True)
    data = pdf.drop(columns=[_FILE, _ROW, _ORDER]).reset_index(drop=True)
    if len(data) == 0:
        return _Part(frame, None, None)
    from .claims import ClaimSet

    try:
        cs = ClaimSet.from_dataframe(data, scales=scales, decimal=decimal)
    except ClaimError as e:
        return _Part(frame, None, None, error=_error_tuple(e, frame, where))
    from . import rescale

    if np.any(rescale.exponents(cs)):
        raise NotImplementedError("credscore.dask does not yet fit linear quantities whose numbers lie beyond "
                                  "2**±64 (credscore.rescale); use credscore.fuse.")
    qp = {q: p for q, p in (quantity_priors or {}).items() if q in set(cs.quantities.tolist())}
    model = build_claim_model(cs, priors, qp)
    layout = build_layout(model, cs)
    return _Part(frame, cs, layout)


def _summary1(part: _Part):
    from ._segments import distinct_per_group

    if part.error is not None or part.cs is None:
        return {"error": part.error}
    cs, lay = part.cs, part.layout
    return {
        "error": None,
        "sources": [str(s) for s in cs.sources],
        "kinds": list(cs.source_kinds),
        "attributes": [str(a) for a in cs.attributes],
        "attribute_log": lay.attribute_log[: len(cs.attributes)].tolist(),
        "pairs": np.stack([lay.pair_source, lay.pair_attribute], axis=1),
        "n_quantities": distinct_per_group(cs.source, cs.quantity, cs.n_sources, cs.n_quantities),
        "first": int(part.frame[_ORDER].min()),
    }


@attrs.frozen(eq=False)
class _Codes:
    """Global codes, and each partition's local → global maps."""

    sources: np.ndarray
    kinds: np.ndarray
    attributes: np.ndarray
    attribute_log: np.ndarray
    pair_source: np.ndarray
    pair_attribute: np.ndarray


def _globalize(part: _Part, codes: _Codes, smap, amap):
    """The partition's layout in global codes, and its samples of the attribute medians."""
    from .learning import attribute_floor_samples
    from .mixture import attribute_scale_samples

    if part.cs is None:
        return part, None
    lay = part.layout
    na = len(codes.attributes)
    src, att = smap[lay.source], amap[lay.attribute]
    key = src * na + att
    gkey = codes.pair_source * na + codes.pair_attribute
    pair = np.searchsorted(gkey, key).astype(np.int64)
    lay = attrs.evolve(lay, source=src, attribute=att, pair=pair, n_sources=len(codes.sources), n_attributes=na,
                       n_pairs=len(gkey), pair_source=codes.pair_source, pair_attribute=codes.pair_attribute,
                       attribute_log=codes.attribute_log)
    samples = attribute_scale_samples(lay)
    samples["floor"] = attribute_floor_samples(lay)
    return attrs.evolve(part, layout=lay, smap=smap), {k: _compress(*v) for k, v in samples.items()}


def _compress(values, codes):
    """Equal (code, value) pairs merged, with their counts (NaN equals NaN)."""
    values = np.asarray(values, float)
    codes = np.asarray(codes, np.int64)
    if len(values) == 0:
        return values, codes, np.zeros(0)
    order = np.lexsort((values, codes))
    v, c = values[order], codes[order]
    new = np.ones(len(v), dtype=bool)
    same_v = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
    new[1:] = (c[1:] != c[:-1]) | ~same_v
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(v))).astype(float)
    return v[starts], c[starts], counts


def _merge_samples(parts):
    v = np.concatenate([p[0] for p in parts])
    c = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    mv, mc, _ = _compress(v, c)
    # sum the counts of equal (code, value) pairs
    order = np.lexsort((v, c))
    v, c, w = v[order], c[order], w[order]
    new = np.ones(len(v), dtype=bool)
    if len(v):
        same_v = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
        new[1:] = (c[1:] != c[:-1]) | ~same_v
    group = np.cumsum(new) - 1
    return mv, mc, np.bincount(group, weights=w, minlength=len(mv))


def _stage2(part: _Part, g: dict, quantity_priors):
    """Widen the partition's prior ranges with the global starting scales; start its EM."""
    from .learning import em_start, prior_params
    from .mixture import widen_support

    if part.cs is None:
        return None
    cs, lay = part.cs, part.layout
    fixed = np.zeros(cs.n_quantities, dtype=bool)
    for name in quantity_priors or {}:
        hit = np.flatnonzero(cs.quantities == name)
        fixed[hit] = True
    lay = widen_support(lay, prior_params(lay, g["a"], g["b"], g["sigma"], g["attribute_sigma"]).sigma, fixed)
    part = attrs.evolve(part, layout=lay, fixed=fixed)
    em = g.get("em")
    return part, (em_start(lay, em) if em is not None else None)


def _estep(pp, grids, dependence):
    from .learning import em_estep

    part, emp = pp
    emp, stats = em_estep(emp, *grids, dependence)
    return (part, emp), stats


def _local_only(pp, state):
    from .learning import em_local

    part, emp = pp
    emp, change = em_local(emp, state)
    return (part, emp), change


def _copy_stats_priors(pp):
    from .dependence import copy_statistics

    part, _ = pp
    lay = part.layout
    return copy_statistics(lay.source, lay.n_sources, lay.base, np.full(len(lay.base.claim), 0.5))


def _finish(pp, state, g, opts):
    """The final pass of one partition: its estimates and claims as DataFrames, and its sums for
    the sources table."""
    import pandas as pd

    from .dependence import copy_weights
    from .fusion import _assemble, _claim_probabilities, _source_sums
    from .learning import em_finish, prior_params
    from .mixture import fit_posteriors
    from .priors import resolve_source_priors
    from .results import Table

    part, emp = pp
    cs, lay = part.cs, part.layout
    grids = (opts["grid_size"], opts["robust_grid_size"])
    if emp is not None:
        params, fitted, _ = em_finish(emp, state, *grids)
    else:
        if g.get("copy_scores") is not None:
            _, copies = _copy_stats_priors(pp)
            wt = copy_weights(g["copy_scores"][0], lay.source, copies, len(lay.base.claim))
            lay = attrs.evolve(lay, base=attrs.evolve(lay.base, weight=wt))
        params = prior_params(lay, g["a"], g["b"], g["sigma"], g["attribute_sigma"])
        fitted = fit_posteriors(lay, params, *grids)
    p_acc, p_exact = _claim_probabilities(cs, fitted)
    sums = _source_sums(part.smap[cs.source], cs.quantity, cs.is_evidence, len(g["sources"]), cs.n_quantities,
                        p_acc, p_exact, lay, params)
    sums["stated"] = _compress(*sums["stated"])
    sp = resolve_source_priors(opts["priors"], cs)
    local_sources = Table({"source": cs.sources.astype(object), "reliability_prior": sp["a"] / (sp["a"] + sp["b"])})
    res = _assemble(cs, fitted, p_acc, p_exact, local_sources, opts["level"], None, None, opts["diagnostics"])
    est = res.estimates.to_dataframe()
    cl = res.claims.to_dataframe()
    frame = part.frame
    first = np.full(cs.n_quantities, np.iinfo(np.int64).max)
    np.minimum.at(first, cs.quantity, frame[_ORDER].to_numpy())
    est["_first"] = first
    pos = cs.row.astype(np.int64)  # zero-based positions in the partition
    cl["row"] = frame[_ROW].to_numpy()[pos]
    cl["evidence_row"] = frame[_ROW].to_numpy()[pos[cs.evidence]]
    cl.insert(0, "file", frame[_FILE].to_numpy()[pos])
    cl[_ORDER] = frame[_ORDER].to_numpy()[pos]
    return est, cl, sums


def _sum_stats(*stats):
    from functools import reduce

    return reduce(operator.add, stats)


def _max_change(*changes):
    return max(changes)


# ---------------------------------------------------------------------------------------- driver
def _client(client):
    _, Client = _require()
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        pass
    global _OWN_CLIENT
    if _OWN_CLIENT is None:
        log.info("no dask client: starting a LocalCluster")
        _OWN_CLIENT = Client(local_cluster())
    return _OWN_CLIENT


_OWN_CLIENT = None

#: glibc allocator settings for the worker processes. Dask's nanny starts workers with
#: MALLOC_TRIM_THRESHOLD_=64 KiB (memory goes back to the OS at once); the E-step allocates and
#: frees arrays of many MB per partition, and with that setting (and glibc's dynamic mmap
#: threshold) every one of them is page-faulted in afresh: measured 1.6x the CPU time of the same
#: E-step in a plain process (125k claims: 2.7-3.1 s vs 1.7 s), equal with these settings.
WORKER_ENV = {"MALLOC_TRIM_THRESHOLD_": 1 << 30, "MALLOC_MMAP_THRESHOLD_": 1 << 25, "MALLOC_TOP_PAD_": 1 << 28}


def local_cluster(**kwargs):
    """A ``distributed.LocalCluster`` of worker processes whose allocator settings suit the E-step
    (:data:`WORKER_ENV`); keyword arguments go to LocalCluster (``n_workers``, ``memory_limit``, ...).
    For a cluster started otherwise, set the same in ``distributed.nanny.pre-spawn-environ``."""
    import dask
    from distributed import LocalCluster

    kwargs.setdefault("processes", True)
    kwargs.setdefault("dashboard_address", None)
    kwargs["env"] = {**{k: str(v) for k, v in WORKER_ENV.items()}, **kwargs.get("env", {})}
    env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENV.items()}
    with dask.config.set(env):
        return LocalCluster(**kwargs)


def fuse(
    claims: Any,
    priors=None,
    *,
    level: float = 0.9,
    quantity_priors: Mapping[str, Any] | None = None,
    learn_reliability: bool | str = "auto",
    detect_copies: bool | str = "auto",
    max_iter: int = 200,
    tol: float = 1e-3,
    diagnostics: bool = True,
    grid_size: int | None = None,
    robust_grid_size: int | None = None,
    dynamics: Any = "static",
    dates: Any = None,
    scales: Any = None,
    decimal: str | None = None,
    shuffle: bool | str = "auto",
    npartitions: int | None = None,
    client: Any = None,
    callback: Callable[[int, float, float], None] | None = None,
    progress: bool = False,
) -> DaskFusionResult:
    """:func:`credscore.fuse` on a Dask cluster, with the same answers.

    Parameters
    ----------
    claims : dask.dataframe.DataFrame, str, path or list of them
        Claims with the columns of :meth:`credscore.ClaimSet.from_dataframe`, or Parquet / CSV
        files (a path, a glob such as ``'claims/*.parquet'``, a directory, or a list).
    priors, level, quantity_priors, learn_reliability, detect_copies, max_iter, tol, diagnostics, grid_size, robust_grid_size
        As in :func:`credscore.fuse`. ``dynamics`` must be ``'static'`` (drifting truths are
        not implemented on Dask: NotImplementedError).
    scales, decimal
        As in :meth:`credscore.ClaimSet.from_dataframe`.
    shuffle : bool or 'auto'
        Repartition the claims by quantity. ``'auto'`` (default) does so when some quantity's
        claims lie in more than one input partition (checked with one pass over the
        ``quantity`` column).
    npartitions : int, optional
        Partitions after the shuffle (default: as many as the input has).
    client : distributed.Client, optional
        Default: the current client, else a LocalCluster started once (and kept).
    callback : callable, optional
        Called after every EM iteration with ``(iteration, log_evidence, max_change)``; the same
        is logged at INFO level on the ``credscore.dask`` logger.
    progress : bool
        Show dask's progress bar while the partitions are read and fitted.

    Returns
    -------
    DaskFusionResult

    Raises
    ------
    ClaimError
        Naming the file, the row (the line of a CSV file) and the field of the first bad claim
        (in input order), before the fit starts.
    """
    import warnings

    from .dependence import Dependence, copy_scores, merge_copy_statistics
    from .fusion import _codes, _Labels, _sources_from_sums
    from .learning import (EMState, LearningInfo, attribute_floor_from_samples, em_globals, em_grids, em_mstep,
                           em_source_fit)
    from .mixture import attribute_scale_from_samples
    from .posterior import DEFAULT_GRID_SIZE, DEFAULT_ROBUST_GRID_SIZE
    from .priors import SourcePriors, resolve_source_priors
    from .results import _check_level

    dd, _ = _require()
    level = _check_level(level)
    if dynamics != "static" or dates is not None:
        raise NotImplementedError("credscore.dask.fuse fits static truths only: drifting truths "
                                  "(dynamics='drift') are not implemented on Dask; use credscore.fuse.")
    if priors is not None and not isinstance(priors, SourcePriors):
        raise TypeError(f"`priors` must be a SourcePriors; got {type(priors).__name__}.")
    grid_size = DEFAULT_GRID_SIZE if grid_size is None else grid_size
    robust_grid_size = DEFAULT_ROBUST_GRID_SIZE if robust_grid_size is None else robust_grid_size
    for name, gs in (("grid_size", grid_size), ("robust_grid_size", robust_grid_size)):
        if int(gs) != gs or gs < 16:
            raise ValueError(f"`{name}` must be an integer of at least 16.")
    if detect_copies not in (True, False, "auto"):
        raise ValueError(f"`detect_copies` must be True, False or 'auto'; got {detect_copies!r}.")
    if learn_reliability not in (True, False, "auto"):
        raise ValueError(f"`learn_reliability` must be True, False or 'auto'; got {learn_reliability!r}.")
    if shuffle not in (True, False, "auto"):
        raise ValueError(f"`shuffle` must be True, False or 'auto'; got {shuffle!r}.")
    priors = priors or SourcePriors()
    client = _client(client)

    # ---- read, partition by quantity
    frame, where = _input_frame(claims)
    nparts = int(npartitions or frame.npartitions)
    if shuffle == "auto":
        # one pass over the quantity column: 8 bytes per (partition, quantity) to the driver
        hashes = client.gather(client.compute([_delayed(_quantity_hashes)(p) for p in frame.to_delayed()]))
        allh = np.concatenate(hashes)
        shuffle = len(np.unique(allh)) < len(allh) or nparts != frame.npartitions
    if shuffle:
        frame = frame.assign(_qkey=frame["quantity"].astype(str)).shuffle("_qkey", npartitions=nparts)
        frame = frame.drop(columns="_qkey")
    parts = frame.to_delayed()
    p1 = [client.compute(_delayed(_stage1)(p, priors, quantity_priors, scales, decimal, where)) for p in parts]
    if progress:
        from distributed import progress as _progress

        _progress(p1)
    summaries = client.gather([client.submit(_summary1, f) for f in p1])
    errors = [s["error"] for s in summaries if s["error"] is not None]
    if errors:
        o, f, r, field, msg, wh = min(errors, key=lambda t: t[0])
        if wh == "partition row":  # a dask DataFrame: the partition and the row's position in it
            raise ClaimError(msg, row=r, field=field, where=f"{f}, row")
        raise ClaimError(msg, row=r, field=field, where=f"file {f!r}, {wh}" if f is not None else wh)
    keep = [i for i, s in enumerate(summaries) if "sources" in s]
    p1 = [p1[i] for i in keep]
    summaries = [summaries[i] for i in keep]
    if not summaries:
        raise ClaimError("no claims: the input is empty.")

    # ---- global codes
    sources = np.unique(np.concatenate([s["sources"] for s in summaries]).astype(str))
    attributes = np.unique(np.concatenate([s["attributes"] for s in summaries]).astype(str))
    ns, na = len(sources), len(attributes)
    kinds = np.full(ns, None, dtype=object)
    attr_log = np.zeros(na, dtype=bool)
    n_quant = np.zeros(ns, dtype=np.int64)
    smaps, amaps, keys = [], [], []
    for s in sorted(summaries, key=lambda s: s["first"]):
        sm = np.searchsorted(sources, np.asarray(s["sources"], str))
        am = np.searchsorted(attributes, np.asarray(s["attributes"], str))
        unset = np.equal(kinds[sm], None)
        kinds[sm[unset]] = np.asarray(s["kinds"], dtype=object)[unset]
        attr_log[am] |= np.asarray(s["attribute_log"], bool)
        n_quant[sm] += s["n_quantities"]
    for s in summaries:
        sm = np.searchsorted(sources, np.asarray(s["sources"], str))
        am = np.searchsorted(attributes, np.asarray(s["attributes"], str))
        smaps.append(sm)
        amaps.append(am)
        keys.append(sm[s["pairs"][:, 0]].astype(np.int64) * na + am[s["pairs"][:, 1]])
    gkey = np.unique(np.concatenate(keys))
    codes = _Codes(sources=sources, kinds=kinds, attributes=attributes, attribute_log=attr_log,
                   pair_source=(gkey // na).astype(np.int64), pair_attribute=(gkey % na).astype(np.int64))
    codes_f = _put(client, codes)
    p2 = [client.submit(_globalize, f, codes_f, sm, am) for f, sm, am in zip(p1, smaps, amaps)]
    samples = client.gather([client.submit(operator.itemgetter(1), f) for f in p2])
    samples = [s for s in samples if s is not None]
    merged = {k: _merge_samples([s[k] for s in samples]) for k in samples[0]}
    sig_attr0 = attribute_scale_from_samples({k: (v[0], v[1]) for k, v in merged.items()}, attr_log,
                                             weights={k: v[2] for k, v in merged.items()})
    floor = attribute_floor_from_samples(*merged["floor"][:2], na, weights=merged["floor"][2])
    labels = _Labels(sources, kinds)
    sp = resolve_source_priors(priors, labels)
    prior_sigma = sp["sigma"].astype(float)
    learn = bool(np.any(n_quant > 1)) if learn_reliability == "auto" else bool(learn_reliability)
    g = {"a": sp["a"], "b": sp["b"], "sigma": prior_sigma, "attribute_sigma": sig_attr0, "sources": sources}
    em = None
    if learn:
        pooled = np.fromiter((str(x) not in priors.sources for x in sources), bool, ns)
        kind_codes = _codes([str(k) for k in kinds])[0]
        em = em_globals(_PairLayout(codes), sp["a"], sp["b"], prior_sigma, pooled=pooled, kinds=kind_codes,
                        bias=True, attribute_sigma=sig_attr0, floor=floor)
        g["em"] = em
    g_f = _put(client, g)
    pp = [client.submit(_stage2, client.submit(operator.itemgetter(0), f), g_f, quantity_priors) for f in p2]
    client.gather([client.submit(lambda x: None, f) for f in pp])  # the partitions are ready

    # ---- the EM: partition state stays on the workers; only pair sums travel
    info, dep, src_fit = LearningInfo(False), None, None
    state = None
    if learn:
        dependence = detect_copies in (True, "auto")
        grids = em_grids(int(grid_size), int(robust_grid_size))
        state = EMState.initial(em)
        informative = client.gather([client.submit(lambda x: x[1].informative, f) for f in pp])
        history, changes = [], []
        converged = False
        it = 0
        for it in range(1, int(max_iter) + 1 if any(informative) else 1):
            out = [client.submit(_estep, f, grids, dependence) for f in pp]
            pp = [client.submit(operator.itemgetter(0), o) for o in out]
            stats = client.submit(_sum_stats, *[client.submit(operator.itemgetter(1), o) for o in out]).result()
            history.append(stats.log_evidence)
            state = em_mstep(em, stats, state, it)
            state_f = _put(client, state)
            loc = [client.submit(_local_only, f, state_f) for f in pp]
            pp = [client.submit(operator.itemgetter(0), o) for o in loc]
            change = client.submit(_max_change, *[client.submit(operator.itemgetter(1), o) for o in loc]).result()
            changes.append(change)
            log.info("EM iteration %d: log evidence %.6f, max change %.3g", it, stats.log_evidence, change)
            if callback is not None:
                callback(it, stats.log_evidence, change)
            if change < tol:
                converged = True
                break
        if not any(informative):
            converged = True
        if not converged:
            warnings.warn(f"learning stopped after {max_iter} iterations without converging "
                          f"(last change {changes[-1]:.2g} > tol {tol:g}); results use the last iterate.",
                          ConvergenceWarning, stacklevel=2)
        n_pair = client.submit(_sum_stats, *[client.submit(_em_counts, f, em) for f in pp]).result()
        src_fit = em_source_fit(em, state, n_pair)
        info = LearningInfo(True, it, converged, np.asarray(history), np.asarray(changes))
        if state.dependence is not None:
            dep = state.dependence
    elif detect_copies is True:  # priors only: coincidences judged against a neutral belief
        st = client.gather([client.submit(_copy_stats_priors, f) for f in pp])
        dep = copy_scores(ns, merge_copy_statistics([x[0] for x in st]))
        g["copy_scores"] = dep
        g_f = _put(client, g)

    # ---- the final pass on the caller's grids
    opts = {"grid_size": int(grid_size), "robust_grid_size": int(robust_grid_size), "priors": priors,
            "level": level, "diagnostics": bool(diagnostics)}
    state_f = _put(client, state) if state is not None else None
    fin = [client.submit(_finish, f, state_f, g_f, opts) for f in pp]
    if progress:
        from distributed import progress as _progress

        _progress(fin)
    sums = client.gather([client.submit(operator.itemgetter(2), f) for f in fin])
    total = {k: sum(s[k] for s in sums) for k in ("n_claims", "n_quantities", "accurate", "exact", "per_pair")}
    first_sigma = np.full(len(gkey), np.nan)
    first_bias = np.full(len(gkey), np.nan)
    for s in sorted(zip([sm["first"] for sm in summaries], range(len(sums))), reverse=True):
        ss = sums[s[1]]
        there = ~np.isnan(ss["first_sigma"])
        first_sigma[there], first_bias[there] = ss["first_sigma"][there], ss["first_bias"][there]
    total["first_sigma"], total["first_bias"] = first_sigma, first_bias
    st = _merge_samples([s["stated"] for s in sums])
    total["stated"] = (st[0], st[1])
    sources_table = _sources_from_sums(total, sources, kinds, priors, codes.pair_source, src_fit, level,
                                       stated_weights=st[2])
    dependence_scores = None if dep is None else Dependence(sources.astype(object), *dep[:3])
    est_meta, cl_meta = client.submit(_metas, fin[0]).result()
    estimates = dd.from_delayed([_delayed(operator.itemgetter(0))(f) for f in fin], meta=est_meta,
                                verify_meta=False)
    claims_out = dd.from_delayed([_delayed(operator.itemgetter(1))(f) for f in fin], meta=cl_meta,
                                 verify_meta=False)
    return DaskFusionResult(estimates=estimates.drop(columns="_first"), claims=claims_out.drop(columns=_ORDER),
                            sources=sources_table, learning=info, dependence_scores=dependence_scores, level=level,
                            futures=fin, ordered=(estimates, claims_out))


def _value(x):
    return x


def _put(client, obj):
    """``obj`` on the cluster as a task (not scattered data): a worker that dies with it loses
    nothing that cannot be recomputed. Sent once to each worker that needs it."""
    return client.submit(_value, obj, pure=False)


def _delayed(fn):
    import dask

    return dask.delayed(fn, pure=True)


def _metas(out):
    return out[0].iloc[:0], out[1].iloc[:0]


def _em_counts(pp, em):
    from .learning import em_counts

    return em_counts(pp[1], em)


@attrs.frozen(eq=False)
class _PairLayout:
    """The pair codes as :func:`credscore.learning.em_globals` reads them from a layout."""

    codes: _Codes

    @property
    def pair_source(self):
        return self.codes.pair_source

    @property
    def pair_attribute(self):
        return self.codes.pair_attribute

    @property
    def n_sources(self):
        return len(self.codes.sources)

    @property
    def n_attributes(self):
        return len(self.codes.attributes)


def cli_fuse(args) -> int:
    """``python -m credscore fuse FILES --dask [--scheduler ADDRESS] --out DIR``: the estimates (and
    with ``--claims-out`` the claims) written as Parquet, the sources table printed."""
    from .__main__ import CLIError, _learn, parse_scales
    from .priors import SourcePriors

    unsupported = [opt for opt, given in (("--drift", args.drift or args.drift_scale is not None or args.shared_drift
                                           or args.monotone), ("--trajectory-out", args.trajectory_out),
                                          ("--quantity-priors", args.quantity_priors)) if given]
    if unsupported:
        raise CLIError(f"`{unsupported[0]}` is not available with --dask.")
    _, Client = _require()
    client = Client(args.scheduler) if args.scheduler else None
    priors = SourcePriors.from_csv(args.priors) if args.priors else None
    progress_log = logging.getLogger("credscore.dask")

    def report(it, objective, change):
        if args.show != "quiet":
            print(f"EM iteration {it}: log evidence {objective:.6g}, max change {change:.3g}", file=sys.stderr)

    try:
        res = fuse(args.file, priors, level=args.level, learn_reliability=_learn(args.learn),
                   detect_copies=args.detect_copies, max_iter=args.max_iter, tol=args.tol,
                   diagnostics=not args.no_diagnostics, grid_size=args.grid_size,
                   robust_grid_size=args.robust_grid_size, scales=parse_scales(args.scale), client=client,
                   callback=report)
        written = []
        if args.out:
            res.estimates.to_parquet(args.out, write_index=False)
            written.append(f"estimates to {args.out}/")
        if args.claims_out:
            res.claims.to_parquet(args.claims_out, write_index=False)
            written.append(f"claims to {args.claims_out}/")
        if not args.out and not args.claims_out:
            print(res.compute().estimates.to_text(max_rows=50))
        if args.show != "quiet":
            print(res.sources.to_text(max_rows=20))
            if written:
                print("wrote " + ", ".join(written))
    finally:
        progress_log.debug("done")
        if client is not None:
            client.close()
    return 0
