"""credscore.dask: the same answers as credscore.fuse on a cluster of worker processes (issue 13)."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("distributed", reason="credscore.dask needs the dask extra (dask[dataframe,distributed])")
pd = pytest.importorskip("pandas", reason="credscore.dask needs pandas")
pytest.importorskip("pyarrow", reason="credscore.dask reads Parquet with pyarrow")

import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import credscore  # noqa: E402
import credscore.dask as cdask  # noqa: E402
from credscore import ClaimError, ClaimSet, Reliability, SourcePriors  # noqa: E402
from credscore.datasets.synthetic import make_synthetic  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::credscore.GridResolutionWarning",
                                        "ignore::DeprecationWarning", "ignore::UserWarning")
RTOL = 1e-9


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def _frame(scenario, n, seed=0, **kw):
    d = make_synthetic(scenario, n_claims=n, seed=seed, **kw)
    df = pd.DataFrame(d.claims.to_records()).dropna(axis=1, how="all")
    return df


def _copiers(nq=300, seed=0):
    """Six sources on ``nq`` quantities; s0 is often wild and s4, s5 copy it, wild values and all."""
    rng = np.random.default_rng(seed)
    q = np.repeat(np.arange(nq), 6)
    src = np.tile(np.arange(6), nq)
    truth = rng.normal(100, 10, nq)
    val = np.round(truth[q] + rng.normal(0, 2, len(q)), 1)
    wild = (src == 0) & (rng.random(len(q)) < 0.4)
    val = np.where(wild, np.round(truth[q] + rng.normal(0, 30, len(q)), 1), val)
    for c in (4, 5):
        val[src == c] = val[src == 0]
    return pd.DataFrame({"quantity": [f"q{i}" for i in q], "source": [f"s{i}" for i in src], "value": val})


def _split_files(df, tmp_path, n_files, seed=1):
    """Parquet files whose rows are a random interleaving (every quantity in several files)."""
    rng = np.random.default_rng(seed)
    part = rng.integers(0, n_files, len(df))
    paths = []
    for k in range(n_files):
        p = tmp_path / f"claims-{k}.parquet"
        df[part == k].to_parquet(p, index=False)
        paths.append(p)
    # the in-memory reference reads the same rows in the same order: file by file
    ordered = pd.concat([df[part == k] for k in range(n_files)], ignore_index=True)
    return paths, ordered


def _close(a, b, rtol=RTOL):
    a, b = np.asarray(a, float), np.asarray(b, float)
    same_nan = np.isnan(a) & np.isnan(b)
    np.testing.assert_allclose(np.where(same_nan, 0, a), np.where(same_nan, 0, b), rtol=rtol, atol=1e-300)


def _assert_parity(mem, res):
    got = res.compute()
    e1 = mem.estimates.to_dataframe().set_index("quantity")
    e2 = got.estimates.to_dataframe().set_index("quantity")
    assert list(e1.index) == list(e2.index)  # quantities in order of first appearance
    for col in ("median", "low", "high", "mean", "sd", "mode"):
        _close(e1[col], e2[col])
    for col in ("conflict", "Q", "tau2"):  # the diagnostics columns are quantity-local too
        _close(e1[col], e2[col], rtol=1e-7)
    c1, c2 = mem.claims.to_dataframe(), got.claims.to_dataframe()
    assert list(c1["quantity"]) == list(c2["quantity"]) and list(c1["source"]) == list(c2["source"])
    for col in ("p_accurate", "p_exact"):
        _close(c1[col], c2[col])
    assert list(c1["status"]) == list(c2["status"])
    s1 = mem.sources.to_dataframe().set_index("source")
    s2 = got.sources.to_dataframe().set_index("source").loc[s1.index]
    for col in ("reliability", "reliability_low", "reliability_high", "error_scale", "bias", "exact_share"):
        _close(s1[col], s2[col])
    assert (s1["n_claims"].to_numpy() == s2["n_claims"].to_numpy()).all()
    assert mem.learning.iterations == got.learning.iterations
    return got


def test_import_credscore_does_not_import_dask():
    code = ("import sys, credscore; credscore.fuse([{'quantity': 'a', 'source': 'x', 'value': 1.0},"
            "{'quantity': 'a', 'source': 'y', 'value': 1.1}]); print('dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.stdout.strip() == "False"


def test_learning_parity_across_split_parquet_files(client, tmp_path):
    df = _frame("peers", 3000)
    paths, ordered = _split_files(df, tmp_path, 3)
    mem = credscore.fuse(ClaimSet.from_dataframe(ordered))
    seen = []
    res = cdask.fuse(str(tmp_path / "claims-*.parquet"), npartitions=4, callback=lambda *a: seen.append(a))
    assert mem.learning.enabled and res.learning.enabled
    got = _assert_parity(mem, res)
    # the callback saw every iteration with its objective (the same as in memory)
    assert [s[0] for s in seen] == list(range(1, mem.learning.iterations + 1))
    _close([s[1] for s in seen], mem.learning.history, rtol=1e-11)
    # claims name the file and row they were read from
    c = got.claims.to_dataframe()
    assert set(c["file"]) == {"claims-0.parquet", "claims-1.parquet", "claims-2.parquet"}
    first = c[c["file"] == "claims-1.parquet"].iloc[0]
    back = pd.read_parquet(paths[1]).iloc[int(first["row"])]
    assert (back["quantity"], back["source"]) == (first["quantity"], first["source"])


def test_priors_only_parity_from_a_dask_dataframe(client):
    df = _frame("hedged_log", 1500, seed=2)
    priors = SourcePriors(default=Reliability(0.8, 4))
    mem = credscore.fuse(ClaimSet.from_dataframe(df), priors, learn_reliability=False)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)  # consecutive rows: quantities cut at the seams
    res = cdask.fuse(ddf, priors, learn_reliability=False, npartitions=2)
    assert not res.learning.enabled
    _assert_parity(mem, res)


def test_dependence_parity(client, tmp_path):
    df = _copiers(seed=3)
    paths, ordered = _split_files(df, tmp_path, 2, seed=4)
    mem = credscore.fuse(ClaimSet.from_dataframe(ordered), detect_copies=True)
    res = cdask.fuse([str(p) for p in paths], detect_copies=True, npartitions=3)
    _assert_parity(mem, res)
    d1, d2 = mem.dependence(), res.dependence_scores
    i1 = np.argsort(d1.sources.astype(str))
    i2 = np.argsort(d2.sources.astype(str))
    _close(d1.score[np.ix_(i1, i1)], d2.score[np.ix_(i2, i2)])
    assert d2.score[d2.sources == "s0", d2.sources == "s4"][0] > 0.99  # the copiers were found


def test_priors_only_with_copy_detection_parity(client):
    df = _copiers(nq=150, seed=5)
    mem = credscore.fuse(ClaimSet.from_dataframe(df), learn_reliability=False, detect_copies=True)
    res = cdask.fuse(dd.from_pandas(df, npartitions=2, sort=False), learn_reliability=False, detect_copies=True)
    _assert_parity(mem, res)


def test_a_worker_killed_mid_fit_gives_the_same_answer(client, tmp_path):
    df = _frame("peers", 2000, seed=6)
    paths, ordered = _split_files(df, tmp_path, 2, seed=7)
    mem = credscore.fuse(ClaimSet.from_dataframe(ordered))
    pids = client.run(os.getpid)
    killed = []

    def kill(it, objective, change):
        if it == 2 and not killed:
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    res = cdask.fuse(str(tmp_path / "*.parquet"), npartitions=4, callback=kill)
    assert killed
    _assert_parity(mem, res)


def _bad_files(tmp_path, fmt):
    df = _frame("peers", 300, seed=8)[["quantity", "source", "value", "se"]]
    a, b = df.iloc[:150].copy(), df.iloc[150:].copy()
    b["value"] = b["value"].astype(object)
    b.iloc[17, b.columns.get_loc("value")] = "twelve" if fmt == "csv" else np.inf
    if fmt == "csv":
        a.to_csv(tmp_path / "a.csv", index=False)
        b.to_csv(tmp_path / "b.csv", index=False)
    else:
        a.to_parquet(tmp_path / "a.parquet", index=False)
        b["value"] = b["value"].astype(float)
        b.to_parquet(tmp_path / "b.parquet", index=False)
    return b


def test_bad_parquet_names_file_row_and_field(client, tmp_path):
    _bad_files(tmp_path, "parquet")
    with pytest.raises(ClaimError, match=r"^file 'b\.parquet', row 17, field `value`: ") as e:
        cdask.fuse(str(tmp_path / "*.parquet"))
    assert e.value.row == 17 and e.value.field == "value"


def test_bad_csv_names_file_line_and_field(client, tmp_path):
    _bad_files(tmp_path, "csv")
    # the header is line 1: the 18th data row is line 19, as ClaimSet.from_csv counts
    with pytest.raises(ClaimError, match=r"^file 'b\.csv', line 19, field `value`: "):
        cdask.fuse(str(tmp_path / "*.csv"))
    with pytest.raises(ClaimError, match=r"^line 19, field `value`: "):
        ClaimSet.from_csv(tmp_path / "b.csv")


def test_bad_dask_dataframe_names_partition_row_and_field(client):
    df = _frame("peers", 200, seed=11)[["quantity", "source", "value", "se"]]
    df.loc[150, "source"] = None
    ddf = dd.from_pandas(df, npartitions=2, sort=False)  # rows 0-99 and 100-199
    with pytest.raises(ClaimError, match=r"^partition 1, row 50, field `source`: "):
        cdask.fuse(ddf, shuffle=False)


def test_bad_options_and_drift_are_refused(client):
    df = _frame("peers", 100)
    with pytest.raises(NotImplementedError, match="drift"):
        cdask.fuse(dd.from_pandas(df, npartitions=1), dynamics="drift")
    with pytest.raises(ValueError, match=r"^`level` must be in the open interval \(0, 1\)\.$"):
        cdask.fuse(dd.from_pandas(df, npartitions=1), level=1.5)
    with pytest.raises(TypeError, match="dask DataFrame or a path"):
        cdask.fuse(df)


def test_cli_writes_parquet_estimates(client, tmp_path, capsys):
    from credscore.__main__ import main

    df = _frame("peers", 600, seed=9)
    paths, ordered = _split_files(df, tmp_path, 2, seed=10)
    out = tmp_path / "estimates"
    code = main(["fuse", str(tmp_path / "*.parquet"), "--dask", "--scheduler", client.scheduler.address,
                 "--out", str(out), "--quiet"])
    assert code == 0
    got = pd.read_parquet(out).set_index("quantity")
    mem = credscore.fuse(ClaimSet.from_dataframe(ordered), tol=1e-6).estimates.to_dataframe().set_index("quantity")
    _close(mem["median"], got.loc[mem.index, "median"])


def test_local_cluster_sets_the_worker_allocator():
    with cdask.local_cluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster) as c:
        env = next(iter(c.run(lambda: {k: os.environ.get(k) for k in cdask.WORKER_ENV}).values()))
    assert env == {k: str(v) for k, v in cdask.WORKER_ENV.items()}
