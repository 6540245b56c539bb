"""Issue 11 targets on real data: default ``credscore.fuse`` against the classic methods.

Runs on population ``claims_conflicting.csv`` and flight ``claims_nogold.csv`` (the fast
files; the full table with weather and population ``claims.csv`` is
``benchmarks/bench_realdata.py``). Skipped when the datasets are absent (they live outside
the repository: ``../shared/data`` or ``$CREDSCORE_DATA``).

Targets not met yet are marked ``xfail(strict=True)`` with the figure measured on the
baseline (main at 6dc7d0b, ``benchmarks/RESULTS-realdata.md``): when the model starts
meeting one, its test fails as XPASS and the mark must be removed.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from credscore import fuse
from credscore import methods as M
from credscore.datasets.truth_discovery import data_directory, evaluate, load_dataset

FILES = {"population_conflicting": ("population", "claims_conflicting.csv"),
         "flight": ("flight", "claims_nogold.csv")}
_MISSING = [data_directory() / name / file for name, file in FILES.values()
            if not (data_directory() / name / file).exists()]
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"real datasets absent ({', '.join(map(str, _MISSING))} not found); "
           "set CREDSCORE_DATA to the folder holding population/ and flight/ to run these tests.",
)
#: every registry method with its default hyperparameters, beside credscore (which is fuse itself)
OTHERS = [m for m in M.available() if m != "credscore"]


def _run(key: str) -> dict:
    name, file = FILES[key]
    d = load_dataset(name, file=file)
    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes and overflow in the plain mean on log data
        t0 = time.perf_counter()
        res = fuse(d.claims)
        seconds = time.perf_counter() - t0
        est = res.estimates
        out["credscore"] = evaluate(np.asarray(est["median"], float), d.truth,
                                    np.asarray(est["low"], float), np.asarray(est["high"], float))
        out["credscore"]["seconds"] = seconds
        for m in OTHERS:
            e = M.get(m)().fit(d.claims).estimates
            out[m] = evaluate(np.asarray(e["estimate"], float), d.truth)
    return out


@pytest.fixture(scope="module")
def scores() -> dict:
    return {key: _run(key) for key in FILES}


def _xfail(figure: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"{figure} – issue 11 target")


def test_every_method_scored(scores):
    # the comparison is sound: every method answers every quantity that has a truth
    for key, by in scores.items():
        n = {m: r["n"] for m, r in by.items()}
        assert set(n.values()) == {{"population_conflicting": 277, "flight": 386}[key]}, (key, n)
        assert all(np.isfinite(r["mae"]) for r in by.values()), key


@pytest.mark.parametrize("key", [
    pytest.param("population_conflicting"),
    pytest.param("flight", marks=_xfail("flight: coverage 0.782 (5.07 / 0.865 while copy detection saw no copies among sources with learned biases; "
                                         "with it working, both copying blocs lose their multiplicity and the late bloc's bias sets the centre)")),
])
def test_coverage_of_90_percent_intervals(scores, key):
    assert 0.85 <= scores[key]["credscore"]["coverage"] <= 0.95


@pytest.mark.parametrize("key", [
    pytest.param("population_conflicting"),
    pytest.param("flight", marks=_xfail("flight: MAE 5.72 vs the median's 5.54 (5.07 / 0.865 while copy detection saw no copies among sources with learned biases; "
                                         "with it working, both copying blocs lose their multiplicity and the late bloc's bias sets the centre)")),
])
def test_not_worse_than_the_median(scores, key):
    assert scores[key]["credscore"]["mae"] <= scores[key]["median"]["mae"]


@pytest.mark.parametrize("key", ["population_conflicting", "flight"])
def test_not_worse_than_the_mean(scores, key):
    assert scores[key]["credscore"]["mae"] <= scores[key]["mean"]["mae"]


@pytest.mark.parametrize("key", [
    pytest.param("population_conflicting",
                 marks=_xfail("population conflicting: MAE 1,819 vs Investment 1,552 (2,543 at baseline 6dc7d0b)")),
    pytest.param("flight", marks=_xfail("flight: MAE 5.72 vs Sums 5.12 (5.07 / 0.865 while copy detection saw no copies among sources with learned biases; "
                                         "with it working, both copying blocs lose their multiplicity and the late bloc's bias sets the centre)")),
])
def test_lowest_mae_of_all_methods(scores, key):
    by = scores[key]
    best = min(OTHERS, key=lambda m: by[m]["mae"])
    assert by["credscore"]["mae"] <= by[best]["mae"], (best, by[best]["mae"], by["credscore"]["mae"])
