"""Benchmark of credscore.fuse (core issue targets).

Usage (from the repository root)::

    python benchmarks/bench_fuse.py            # 50-claim quantity and 1M claims / 100k quantities
    python benchmarks/bench_fuse.py --small    # 100k claims / 10k quantities only (quick)

Workloads, each measured against a plain numpy inverse-variance weighted
mean pass over the same arrays in the same run (best of N):

* one quantity with 50 claims (target <= 5 ms per fuse call);
* 1,000,000 claims over 100,000 quantities (10 claims each, linear scale,
  stated se, 3 % gross errors; target <= 20x the IVW pass).

Peak memory: the peak of memory allocated during the fuse call
(``tracemalloc``, which numpy reports to), in a fresh subprocess, and that
subprocess's maximum resident set size (which includes building the inputs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import credscore  # noqa: E402
from credscore import ClaimSet, Reliability, SourcePriors  # noqa: E402


#: The core issue's setting: fixed priors, the exact posteriors and the base tables only
#: (reliability learning is benchmarked in bench_learning.py, the agreement columns in
#: bench_agreement.py).
FIXED = dict(learn_reliability=False, diagnostics=False)


def make_claims(n_quantities: int, per: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = n_quantities * per
    q = np.repeat(np.arange(n_quantities), per)
    truth = rng.normal(0, 10, n_quantities)
    se = np.exp(rng.uniform(np.log(0.1), np.log(3), n))
    y = truth[q] + rng.normal(0, 1, n) * se
    gross = rng.random(n) < 0.03
    y[gross] += rng.normal(0, 30, gross.sum())
    src = rng.integers(0, 100, n)
    perm = rng.permutation(n)  # claims in any order
    return q[perm], src[perm], y[perm], se[perm]


def claimset_from_arrays(q, src, y, se) -> ClaimSet:
    return ClaimSet.from_arrays(np.char.add("q", q.astype(str)), np.char.add("s", src.astype(str)), y, se=se,
                                scales="linear")


def ivw_pass(q, y, se, nq):
    w = 1.0 / se**2
    return np.bincount(q, w * y, minlength=nq) / np.bincount(q, w, minlength=nq)


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _child(nq: int, per: int) -> None:
    q, src, y, se = make_claims(nq, per)
    cs = claimset_from_arrays(q, src, y, se)
    import tracemalloc

    priors = SourcePriors(default=Reliability(0.9, 10))
    tracemalloc.start()
    t = time.perf_counter()
    credscore.fuse(cs, priors, **FIXED)
    el = time.perf_counter() - t
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": el, "peak_mb": peak / 1024, "extra_mb": traced / 2**20}))


def run(nq: int, per: int, repeat: int) -> dict:
    q, src, y, se = make_claims(nq, per)
    t0 = time.perf_counter()
    cs = claimset_from_arrays(q, src, y, se)
    build = time.perf_counter() - t0
    priors = SourcePriors(default=Reliability(0.9, 10))
    ivw = best_of(lambda: ivw_pass(cs.quantity, cs.value, cs.se, cs.n_quantities), max(repeat, 5))
    fuse_t = best_of(lambda: credscore.fuse(cs, priors, **FIXED), repeat)
    res = credscore.fuse(cs, priors, **FIXED)
    robust = float(np.mean(res.estimates["grid_attempts"] > 1))
    child = subprocess.run([sys.executable, __file__, "--child", str(nq), str(per)], capture_output=True, text=True, check=True)
    mem = json.loads(child.stdout)
    return {"quantities": nq, "claims": nq * per, "build_s": build, "ivw_s": ivw, "fuse_s": fuse_t,
            "ratio": fuse_t / ivw, "robust_share": robust, "peak_mb": mem["peak_mb"], "extra_mb": mem["extra_mb"]}


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")  # GridResolutionWarning counts are reported in the table
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--child", nargs=2, type=int)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    rows = [run(1, 50, 50)]
    rows.append(run(10_000, 10, 3))
    if not args.small:
        rows.append(run(100_000, 10, 2))
    print("| claims | quantities | fuse (s) | IVW pass (s) | ratio | re-gridded share | process peak RSS (MB) | fuse peak allocation (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['claims']:,} | {r['quantities']:,} | {r['fuse_s']:.4f} | {r['ivw_s']:.5f} | {r['ratio']:.0f} | "
              f"{r['robust_share']:.3%} | {r['peak_mb']:.0f} | {r['extra_mb']:.0f} |")


if __name__ == "__main__":
    main()
