"""Benchmark of reliability learning on the peers workload (issue 4 targets).

Usage (from the repository root)::

    python benchmarks/bench_learning.py                 # 10k, 100k and 1M claims
    python benchmarks/bench_learning.py --sizes 10000000 --no-diagnostics   # the 10M run

Workload (``make_synthetic("peers")``): 100 sources; each quantity gets 10
claims from 10 distinct random sources; truth ~ N(0, 10²); each source's
error sd is log-uniform on [0.1, 3] and each claim states it as its ``se``;
10 sources add an N(0, 30²) error to 30 % of their claims while still stating
their nominal sd; linear scale.

Reported per size (each fit in a fresh subprocess; best of one run — fits
take seconds to minutes): MAE of the posterior medians and the MAE of the
oracle that knows every source's sd and every gross error (inverse-variance
mean of the clean claims) on the same data, coverage of the 95 % intervals,
rank correlation of the learned error scales with the true sds, whether the
10 outlier sources are exactly the 10 lowest reliabilities and all have a
95 % upper bound below every other source's reliability, time of the fit and
of a plain numpy inverse-variance weighted mean pass over the same arrays
(measured in the same process), their ratio, and peak memory (tracemalloc
peak of the fit; process max RSS).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(n_claims: int, diagnostics: bool, seed: int) -> dict:
    from scipy import stats

    import credscore
    from credscore.datasets.synthetic import make_synthetic
    from credscore.datasets.truth_discovery import evaluate

    warnings.simplefilter("ignore")
    d = make_synthetic("peers", n_claims=n_claims, seed=seed)
    cs = d.claims
    ivw = []
    for _ in range(5):
        t = time.perf_counter()
        w = 1.0 / cs.se**2
        np.bincount(cs.quantity, w * cs.value) / np.bincount(cs.quantity, w)
        ivw.append(time.perf_counter() - t)
    tracemalloc.start()
    t = time.perf_counter()
    res = credscore.fuse(cs, level=0.95, diagnostics=diagnostics)
    secs = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    e = evaluate(res.estimates["median"], d.truth, res.estimates["low"], res.estimates["high"])
    keep = ~d.wild
    w = keep / cs.se**2
    oracle = evaluate(np.bincount(cs.quantity, w * cs.value) / np.bincount(cs.quantity, w), d.truth)["mae"]
    src = res.sources
    wild = np.asarray(d.sources["wild"])
    rel = np.asarray(src["reliability"])
    flagged = set(np.argsort(rel)[: wild.sum()]) == set(np.flatnonzero(wild)) and \
        np.max(np.asarray(src["reliability_high"])[wild]) < np.min(rel[~wild])
    return {
        "claims": len(cs), "mae": e["mae"], "oracle_mae": oracle, "coverage95": e["coverage"],
        "rank_corr_sd": float(stats.spearmanr(src["error_scale"], d.sources["error_sd"])[0]),
        "outliers_flagged": bool(flagged), "iterations": res.learning.iterations, "converged": res.learning.converged,
        "fuse_s": secs, "ivw_s": min(ivw), "ratio": secs / min(ivw), "peak_alloc_mb": peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--no-diagnostics", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1] == "1", int(args.child[2]))))
        return
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "0" if args.no_diagnostics else "1",
                              str(args.seed)], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"diagnostics={'off' if args.no_diagnostics else 'on'}, seed={args.seed}")
    print("| claims | MAE | oracle MAE | MAE / oracle | 95% coverage | rank corr (sd) | outliers flagged | iterations "
          "| fuse (s) | IVW pass (s) | ratio | peak alloc (MB) | max RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['claims']:,} | {r['mae']:.4f} | {r['oracle_mae']:.4f} | {r['mae'] / r['oracle_mae']:.3f} | "
              f"{r['coverage95']:.3f} | {r['rank_corr_sd']:.3f} | {r['outliers_flagged']} | {r['iterations']} | "
              f"{r['fuse_s']:.1f} | {r['ivw_s']:.4f} | {r['ratio']:.0f} | {r['peak_alloc_mb']:.0f} | {r['max_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
