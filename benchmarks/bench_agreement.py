"""Benchmark of credscore.agreement (issue 3).

Usage (from the repository root)::

    python benchmarks/bench_agreement.py            # 100k quantities / 1M claims
    python benchmarks/bench_agreement.py --small    # 10k quantities / 100k claims only

Workloads (10 claims per quantity, so 45 pairs per quantity, 4.5M pairs at full size):

* ``points``: the claims of ``bench_fuse.py`` (linear scale, exact numbers with
  a stated se, 3 % gross errors): every pair has the closed form;
* ``rounded``: log-scale numbers written with 2-3 significant figures (the
  rounding makes each an interval): every pair is integrated by quadrature.

For each: the time of :func:`credscore.agreement.all_pair_agreement` (every
pair of every quantity), of the per-claim diagnostics that ``fuse`` adds
(:func:`claim_diagnostics`: leave-one-out influence and consensus agreement
on the grids; :func:`heterogeneity`: REML per quantity), and the peak memory
of the pair computation: the peak traced allocation (``tracemalloc``) and the
process's peak RSS, in a fresh subprocess that only builds the model and
computes the pairs.
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

import credscore  # noqa: E402
from credscore import ClaimSet, Reliability, SourcePriors  # noqa: E402
from credscore.agreement import all_pair_agreement, claim_diagnostics, heterogeneity  # noqa: E402
from credscore.likelihood import build_claim_model  # noqa: E402
from credscore.posterior import compute_posteriors  # noqa: E402


def make_claimset(kind: str, nq: int, per: int = 10, seed: int = 0) -> ClaimSet:
    rng = np.random.default_rng(seed)
    n = nq * per
    q = np.repeat(np.arange(nq), per)
    src = rng.integers(0, 100, n)
    if kind == "points":
        truth = rng.normal(0, 10, nq)
        se = np.exp(rng.uniform(np.log(0.1), np.log(3), n))
        y = truth[q] + rng.normal(0, 1, n) * se
        gross = rng.random(n) < 0.03
        y[gross] += rng.normal(0, 30, gross.sum())
        recs = [{"quantity": f"q{a}", "source": f"s{b}", "value": float(c), "se": float(d), "precision": 0}
                for a, b, c, d in zip(q.tolist(), src.tolist(), y.tolist(), se.tolist())]
        return ClaimSet.from_records(recs, scales="linear")
    truth = np.exp(rng.uniform(np.log(100), np.log(1e6), nq))
    y = truth[q] * np.exp(rng.normal(0, 0.1, n))
    gross = rng.random(n) < 0.03
    y[gross] *= np.exp(rng.normal(0, 2, gross.sum()))
    digits = rng.integers(2, 4, n)  # significant figures
    mag = 10.0 ** (np.floor(np.log10(y)) - digits + 1)
    v = np.round(y / mag) * mag
    prec = mag / 2
    recs = [{"quantity": f"q{a}", "source": f"s{b}", "value": float(c), "precision": float(d)}
            for a, b, c, d in zip(q.tolist(), src.tolist(), v.tolist(), prec.tolist())]
    return ClaimSet.from_records(recs, scales="log")


def _child(kind: str, nq: int) -> None:
    t = time.perf_counter()  # first call in a process: loads (or compiles) the numba kernels
    small = build_claim_model(make_claimset(kind, 20), SourcePriors(default=Reliability(0.9, 10)))
    all_pair_agreement(small)
    first = time.perf_counter() - t
    cs = make_claimset(kind, nq)
    model = build_claim_model(cs, SourcePriors(default=Reliability(0.9, 10)))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t = time.perf_counter()
    i, j, v = all_pair_agreement(model)
    el = time.perf_counter() - t
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"first_call_s": first, "seconds": el, "pairs": int(len(v)), "peak_traced_mb": traced / 2**20,
                      "rss_peak_mb": peak / 1024, "rss_before_mb": base / 1024}))


def run(kind: str, nq: int, diagnostics: bool = True) -> dict:
    cs = make_claimset(kind, nq)
    diag = het = float("nan")
    if diagnostics:
        model = build_claim_model(cs, SourcePriors(default=Reliability(0.9, 10)))
        post, acc = compute_posteriors(model)
        t = time.perf_counter()
        claim_diagnostics(model, post, acc)
        diag = time.perf_counter() - t
        t = time.perf_counter()
        heterogeneity(model, cs.kind[model.claim])
        het = time.perf_counter() - t
    child = subprocess.run([sys.executable, __file__, "--child", kind, str(nq)], capture_output=True, text=True,
                           check=True)
    mem = json.loads(child.stdout)
    return {"kind": kind, "quantities": nq, "claims": len(cs), "diag_s": diag, "het_s": het, **mem}


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--child", nargs=2)
    ap.add_argument("--pairs-only", action="store_true", help="skip the fuse diagnostics (LOO, heterogeneity)")
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    sizes = [10_000] if args.small else [10_000, 100_000]
    rows = [run(kind, nq, not args.pairs_only) for nq in sizes for kind in ("points", "rounded")]
    print("| workload | claims | quantities | pairs | all-pair agreement (s) | × points (same size, same run) | "
          "pairs/s | first call: kernel load/compile (s) | peak traced (MB) | "
          "peak RSS (MB) | fuse diagnostics: LOO (s) | heterogeneity (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ref = {r["quantities"]: r["seconds"] for r in rows if r["kind"] == "points"}
    for r in rows:
        print(f"| {r['kind']} | {r['claims']:,} | {r['quantities']:,} | {r['pairs']:,} | {r['seconds']:.2f} | "
              f"{r['seconds'] / ref[r['quantities']]:.1f} | "
              f"{r['pairs'] / r['seconds']:,.0f} | {r['first_call_s']:.2f} | {r['peak_traced_mb']:.0f} | "
              f"{r['rss_peak_mb']:.0f} | {r['diag_s']:.2f} | {r['het_s']:.2f} |")
    print(f"\ncredscore {credscore.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
