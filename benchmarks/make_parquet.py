"""Write the peers workload (or any size of it) straight to partitioned Parquet, chunk by chunk.

The law is the one of ``make_synthetic("peers")`` (credscore.datasets.synthetic): 100 sources;
each quantity gets 10 claims from 10 distinct random sources; truth ~ N(0, 10²); each source's
error sd is log-uniform on [0.1, 3] and each claim states it as its ``se``; 10 of the sources add
an N(0, 30²) error to 30 % of their claims while still stating their nominal sd; linear scale.
The draws are not those of make_synthetic (it draws everything at once); the source qualities come
from ``seed`` and each file from ``(seed, file)``, so any file can be regenerated alone. Memory
is one file's claims, whatever the total. Beside each claims file, ``truth-K.parquet.truth`` (Parquet) holds its truths.

    python benchmarks/make_parquet.py --claims 1000000 --files 8 --out /tmp/peers-1M
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

N_SOURCES, PER_QUANTITY, WILD_SOURCES, WILD_RATE, WILD_SD, TRUTH_SD = 100, 10, 10, 0.3, 30.0, 10.0


def source_qualities(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    sd = np.exp(rng.uniform(np.log(0.1), np.log(3.0), N_SOURCES))
    wild = np.zeros(N_SOURCES, dtype=bool)
    wild[rng.choice(N_SOURCES, WILD_SOURCES, replace=False)] = True
    return sd, wild


def chunk(first_quantity: int, n_quantities: int, seed: int, file: int, sd: np.ndarray, wild: np.ndarray):
    """The claims of quantities first_quantity .. first_quantity + n_quantities - 1 (a pandas DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng([seed, 1, file])
    truth = rng.normal(0.0, TRUTH_SD, n_quantities)
    # 10 distinct sources per quantity: the first 10 of a random permutation of the 100
    src = np.argsort(rng.random((n_quantities, N_SOURCES)), axis=1)[:, :PER_QUANTITY].ravel()
    q = np.repeat(np.arange(n_quantities), PER_QUANTITY)
    value = truth[q] + rng.normal(0.0, 1.0, q.size) * sd[src]
    gone = wild[src] & (rng.random(q.size) < WILD_RATE)
    value = value + np.where(gone, rng.normal(0.0, WILD_SD, q.size), 0.0)
    names = np.char.add("q", (first_quantity + np.arange(n_quantities)).astype(str))
    claims = pd.DataFrame({
        "quantity": names[q], "source": np.char.add("s", src.astype(str)), "value": value, "se": sd[src],
        "precision": 0.0, "scale": "linear",
    })
    return claims, pd.DataFrame({"quantity": names, "truth": truth})


def write(out: str, n_claims: int, n_files: int, seed: int = 0) -> list[str]:
    os.makedirs(out, exist_ok=True)
    sd, wild = source_qualities(seed)
    nq = max(1, n_claims // PER_QUANTITY)
    edges = np.linspace(0, nq, n_files + 1).astype(np.int64)
    paths, truths = [], []
    for k in range(n_files):
        claims, truth = chunk(int(edges[k]), int(edges[k + 1] - edges[k]), seed, k, sd, wild)
        path = os.path.join(out, f"claims-{k:05d}.parquet")
        claims.to_parquet(path, index=False)
        truth.to_parquet(os.path.join(out, f"truth-{k:05d}.parquet.truth"), index=False)
        paths.append(path)
    return paths


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=float, default=1e6)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    paths = write(args.out, int(args.claims), args.files, args.seed)
    print(f"wrote {int(args.claims):,} claims in {len(paths)} files to {args.out} ({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
