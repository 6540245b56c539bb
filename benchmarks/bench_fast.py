"""Benchmark of the compiled per-quantity pass (issue 12 "Fast").

Usage (from the repository root)::

    python benchmarks/bench_fast.py                      # 1M claims / 100k quantities
    python benchmarks/bench_fast.py --claims 100000      # quicker
    CREDSCORE_KERNEL=numpy python benchmarks/bench_fast.py   # the numpy reference, for the ratio
    python benchmarks/bench_fast.py --compile            # first-call compilation, cold and cached

Workload: ``make_synthetic("peers")`` (100 sources, 10 claims per quantity from distinct
sources, stated se, 10 sources with 30 % gross errors; linear scale). In one process, after
a warm-up fit on 2,000 claims (so compilation is not timed): a numpy inverse-variance
weighted (IVW) pass over the same arrays (best of 5), CATD and CRH from
``credscore.methods`` (one fit each), and ``fuse`` priors only
(``learn_reliability=False, diagnostics=False``), with learning (``diagnostics=False``) and
by default (learning + diagnostics), one fit each. Every time is also given as a ratio to
the IVW pass of the same run. ``--compile`` times the first fit of a fresh interpreter with
an empty numba cache directory and again with the cache filled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(n_claims: int, modes: list[str], peers: bool) -> list[tuple[str, float]]:
    import credscore
    from credscore import kernel
    from credscore.datasets.synthetic import make_synthetic

    warnings.simplefilter("ignore")
    cs = make_synthetic("peers", n_claims=n_claims, seed=0).claims
    warm = make_synthetic("peers", n_claims=2000, seed=1).claims
    credscore.fuse(warm)  # compiles (or loads the cache)

    def ivw():
        w = 1.0 / cs.se**2
        return np.bincount(cs.quantity, w * cs.value) / np.bincount(cs.quantity, w)

    rows = [("IVW pass (numpy)", min(_time(ivw) for _ in range(5)))]
    if peers:
        from credscore import methods

        for name in ("catd", "crh"):
            m = methods.get(name)()
            m.fit(warm)
            rows.append((name.upper() + " (credscore.methods)", _time(lambda: m.fit(cs))))
    kw = {"priors": dict(learn_reliability=False, diagnostics=False), "learning": dict(diagnostics=False),
          "default": {}}
    label = "kernel" if kernel.enabled() else "numpy"
    for mode in modes:
        rows.append((f"fuse {mode} ({label})", _time(lambda: credscore.fuse(cs, **kw[mode]))))
    return rows


def compile_times() -> list[tuple[str, float]]:
    code = ("import time, warnings; warnings.simplefilter('ignore'); t = time.perf_counter(); import credscore; "
            "from credscore.datasets.synthetic import make_synthetic; "
            "credscore.fuse(make_synthetic('peers', n_claims=2000, seed=1).claims); print(time.perf_counter() - t)")
    base = ("import time, warnings; warnings.simplefilter('ignore'); t = time.perf_counter(); import credscore; "
            "from credscore.datasets.synthetic import make_synthetic; import credscore.kernel as k; k.ENABLED = False; "
            "credscore.fuse(make_synthetic('peers', n_claims=2000, seed=1).claims); print(time.perf_counter() - t)")
    cache = tempfile.mkdtemp(prefix="credscore-numba-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    out = []
    try:
        for label, src in (("first fit, numpy reference (no compilation)", base),
                           ("first fit, empty numba cache (compiles)", code),
                           ("first fit, numba cache filled", code)):
            r = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True, check=True)
            out.append((label, float(r.stdout.strip().splitlines()[-1])))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--modes", default="priors,learning,default")
    ap.add_argument("--no-peers", action="store_true", help="skip CATD and CRH")
    ap.add_argument("--compile", action="store_true", help="time the first-call compilation instead")
    args = ap.parse_args()
    if args.compile:
        rows = compile_times()
        print("| first fit of 2,000 claims in a fresh process | seconds |")
        print("|---|---|")
        for label, t in rows:
            print(f"| {label} | {t:.2f} |")
        return
    rows = run(args.claims, args.modes.split(","), not args.no_peers)
    ivw = rows[0][1]
    print(f"{args.claims:,} claims, peers workload; {json.dumps(os.environ.get('CREDSCORE_KERNEL', 'kernel'))}")
    print("| pass | seconds | ratio to IVW |")
    print("|---|---|---|")
    for label, t in rows:
        print(f"| {label} | {t:.3f} | {t / ivw:.0f} |")


if __name__ == "__main__":
    main()
