"""credscore.dask.fuse against credscore.fuse on the peers workload from Parquet (issue 13).

    python benchmarks/make_parquet.py --claims 1e6 --files 8 --out /tmp/peers-1M
    python benchmarks/bench_dask.py --data /tmp/peers-1M --workers 2 --memory-limit 4GB

Measures, in one run: the in-memory fit (pandas read + ClaimSet.from_dataframe + credscore.fuse)
and the Dask fit on a LocalCluster of worker processes (read, shuffle check, validation, EM,
final pass, estimates written to Parquet); their agreement (largest relative difference of
estimates, intervals, per-claim probabilities, reliabilities); per EM iteration its wall time and
the bytes the workers sent each other; per task kind the mean time per partition; the workers'
peak resident memory. ``--no-memory`` skips the in-memory fit (for sizes that do not fit).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pickle
import shutil
import time

import numpy as np


def _rss(dask_worker=None):
    import psutil

    return psutil.Process().memory_info().rss


def _sent(dask_worker=None):
    return getattr(dask_worker, "transfer_outgoing_bytes_total", 0)


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) & np.isnan(b))
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-300), initial=0.0))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory written by make_parquet.py")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--npartitions", type=int, default=None, help="partitions after the shuffle (default: files)")
    ap.add_argument("--no-memory", action="store_true", help="skip the in-memory fit")
    ap.add_argument("--default-malloc", action="store_true",
                    help="workers with dask's allocator settings, not credscore.dask.WORKER_ENV")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    import pandas as pd
    from distributed import Client, LocalCluster, get_task_stream

    import credscore
    import credscore.dask as cdask

    files = sorted(glob.glob(os.path.join(args.data, "claims-*.parquet")))
    out = {"files": len(files), "workers": args.workers, "memory_limit": args.memory_limit,
           "worker_env": "dask default" if args.default_malloc else cdask.WORKER_ENV}
    mem = None
    if not args.no_memory:
        t0 = time.perf_counter()
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        cs = credscore.ClaimSet.from_dataframe(df)
        t1 = time.perf_counter()
        mem = credscore.fuse(cs, diagnostics=False)
        t2 = time.perf_counter()
        out.update(claims=len(cs), memory_read_s=t1 - t0, memory_fit_s=t2 - t1, memory_total_s=t2 - t0,
                   memory_iterations=int(mem.learning.iterations))
        del df, cs
        print(f"in memory: read {t1 - t0:.1f} s, fit {t2 - t1:.1f} s ({mem.learning.iterations} iterations)")

    if args.default_malloc:  # dask's own worker environment
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               memory_limit=args.memory_limit, dashboard_address=None)
    else:
        cluster = cdask.local_cluster(n_workers=args.workers, threads_per_worker=1, memory_limit=args.memory_limit)
    client = Client(cluster)
    iters = []
    peak = {"rss": 0}

    def callback(it, objective, change):
        sent = sum(client.run(_sent).values())
        rss = max(client.run(_rss).values())
        peak["rss"] = max(peak["rss"], rss)
        iters.append({"it": it, "t": time.perf_counter(), "sent": sent, "objective": objective, "change": change})
        print(f"  EM iteration {it}: objective {objective:.6f}, change {change:.3g}, workers sent {sent:,} B total")

    target = os.path.join(args.data, "_estimates")
    shutil.rmtree(target, ignore_errors=True)
    t0 = time.perf_counter()
    with get_task_stream(client) as ts:
        res = cdask.fuse(os.path.join(args.data, "claims-*.parquet"), diagnostics=False,
                         npartitions=args.npartitions, client=client, callback=callback)
        res.estimates.to_parquet(target, write_index=False)
    t1 = time.perf_counter()
    peak["rss"] = max(peak["rss"], max(client.run(_rss).values()))
    out.update(dask_total_s=t1 - t0, dask_iterations=int(res.learning.iterations),
               peak_worker_rss_bytes=int(peak["rss"]))
    if len(iters) > 1:
        dt = np.diff([i["t"] for i in iters])
        ds = np.diff([i["sent"] for i in iters])
        out.update(em_iteration_s=float(np.median(dt)), em_bytes_between_workers_per_iteration=float(np.median(ds)))
    kinds = {}
    for task in ts.data:
        name = task["key"] if isinstance(task["key"], str) else str(task["key"][0])
        prefix = name.split("-")[0]
        span = sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
        kinds.setdefault(prefix, []).append(span)
    out["task_seconds"] = {k: {"n": len(v), "mean": float(np.mean(v)), "total": float(np.sum(v))}
                           for k, v in kinds.items() if np.sum(v) > 0.05}
    # what one iteration sends between the driver and the workers, pickled
    from credscore.learning import EMState, EMStats

    npair = len(res.sources) * 1  # one attribute in this workload: one pair per source
    z = np.zeros(npair)
    stats_b = len(pickle.dumps(EMStats(np.zeros((npair, 3)), z, z, z, 0.0)))
    state_b = len(pickle.dumps(EMState(1, np.zeros((npair, 3)), np.zeros((npair, 3)), z, z, z, np.zeros(1), z, z, z,
                                       np.zeros(1))))
    out.update(pairs=npair, stats_bytes_per_partition=stats_b, state_bytes=state_b)
    print(f"dask: {t1 - t0:.1f} s total ({res.learning.iterations} iterations), peak worker RSS "
          f"{peak['rss'] / 2**30:.2f} GiB")
    if mem is not None:
        got = res.compute()
        e1 = mem.estimates.to_dataframe().set_index("quantity")
        e2 = got.estimates.to_dataframe().set_index("quantity").loc[e1.index]
        s1 = mem.sources.to_dataframe().set_index("source")
        s2 = got.sources.to_dataframe().set_index("source").loc[s1.index]
        out["parity"] = {
            **{c: rel(e1[c], e2[c]) for c in ("median", "low", "high", "mean")},
            "p_accurate": rel(mem.claims["p_accurate"], got.claims["p_accurate"]),
            "reliability": rel(s1["reliability"], s2["reliability"]),
        }
        out["speed_ratio_dask_over_memory"] = out["dask_total_s"] / out["memory_total_s"]
        print("parity (max relative difference):", out["parity"])
    client.close()
    cluster.close()
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return out


if __name__ == "__main__":
    main()
