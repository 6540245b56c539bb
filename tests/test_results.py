"""Result objects, fuse() arguments, the seed case and the command line."""

import subprocess
import sys

import numpy as np
import pytest

import credscore
from credscore import ClaimSet, QuantityPrior, Table, fuse
from credscore.datasets import load_seed_case


@pytest.fixture(scope="module")
def seed():
    claims, priors = load_seed_case()
    return claims, priors, fuse(claims, priors)


def test_every_input_row_is_in_the_claims_table(seed):
    claims, _, res = seed
    assert len(res.claims) == len(claims)
    assert res.claims["row"].tolist() == list(range(len(claims)))
    assert len(res.estimates) == claims.n_quantities
    assert len(res.sources) == claims.n_sources
    p = res.claims["p_accurate"]
    assert np.all((p >= 0) & (p <= 1))
    repeat = ~res.claims["counted"]
    assert repeat.sum() == 1  # Zelensky's "up to 10,000" relayed twice
    i = int(np.flatnonzero(repeat)[0])
    j = res.claims["evidence_row"][i]
    assert res.claims["p_accurate"][i] == res.claims["p_accurate"][j]


def test_seed_case_troops(seed):
    claims, _, res = seed
    e = res.estimate("nk_troops_in_russia")
    # the figures of late October / November (10,000-12,000) dominate; the early NIS 1,500 is wild
    assert 9_500 < e.median < 12_000
    assert e.low < e.median < e.high
    rows = res.claims
    nis = (rows["quantity"] == "nk_troops_in_russia") & (rows["source"] == "NIS (South Korea)")
    assert rows["status"][nis].tolist() == ["wild"]
    kyiv = (rows["quantity"] == "nk_troops_in_russia") & (rows["source"] == "Kyiv")
    assert rows["status"][kyiv].tolist() == ["accurate"]


def test_lone_claim_keeps_its_prior_reliability(seed):
    claims, priors, _ = seed
    res = fuse(claims, priors, learn_reliability=False)
    c = res.claims
    i = int(np.flatnonzero(c["quantity"] == "containers_shipped")[0])
    assert c["p_accurate"][i] == pytest.approx(priors.reliability_for("NIS (South Korea)").mean, abs=1e-6)


def test_estimate_object(seed):
    _, _, res = seed
    e = res.estimate("nk_troops_in_russia")
    assert e.level == 0.9 and e.scale == "log" and e.unit == "soldiers"
    lo50, hi50 = e.interval(0.5)
    assert e.low < lo50 <= e.median <= hi50 < e.high  # a stated value (an atom) may hold the middle half
    h_lo, h_hi = e.interval(kind="hpd")
    # the shortest interval is shortest in model space (log here)
    assert np.log(h_hi / h_lo) <= np.log(e.high / e.low) + 1e-9
    x, d = e.grid()
    assert np.all(d >= 0) and x[0] < e.median < x[-1]
    with pytest.raises(ValueError, match=r"^`level` must be in the open interval \(0, 1\)\.$"):
        e.interval(1.5)
    with pytest.raises(ValueError, match=r"^`kind` must be 'eti' or 'hpd'; got 'x'\.$"):
        e.interval(kind="x")
    with pytest.raises(KeyError, match="unknown quantity 'nope'"):
        res.estimate("nope")
    assert "median" in repr(e)


def test_summary_lists_every_claim(seed):
    claims, _, res = seed
    text = res.summary()
    for q in claims.quantities:
        assert q in text
    assert text.count(" p=") == len(claims)
    assert "(repeat of row" in text


def test_tables(seed):
    _, _, res = seed
    t = res.estimates
    assert {"quantity", "mean", "median", "mode", "sd", "low", "high", "level"} <= set(t.columns)
    assert t.row(0)["quantity"] == t["quantity"][0]
    assert len(t.to_records()) == len(t)
    assert "quantity" in t.to_text()
    with pytest.raises(ValueError):
        t["median"][0] = 1.0
    with pytest.raises(ValueError, match="same length"):
        Table({"a": np.zeros(2), "b": np.zeros(3)})


def test_to_dataframe():
    pd = pytest.importorskip("pandas")
    res = fuse([{"quantity": "q", "source": "a", "value": 3}])
    df = res.claims.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 1


def test_fuse_argument_errors():
    recs = [{"quantity": "q", "source": "a", "value": 3}]
    with pytest.raises(ValueError, match=r"^`level` must be in the open interval \(0, 1\)\.$"):
        fuse(recs, level=0)
    with pytest.raises(TypeError, match=r"^`priors` must be a SourcePriors; got dict\.$"):
        fuse(recs, {"a": 1})
    with pytest.raises(ValueError, match=r"^`grid_size` must be an integer of at least 16\.$"):
        fuse(recs, grid_size=4)
    with pytest.raises(TypeError, match=r"^`claims` must be a ClaimSet or a list of records; got int\.$"):
        fuse(3)
    with pytest.raises(credscore.ClaimError):
        fuse([{"quantity": "q", "value": 3}])


def test_quantity_prior_bounds_the_estimate():
    recs = [{"quantity": "q", "source": "a", "kind": "upper", "value": 100}]
    wide = fuse(recs).estimate("q")
    narrow = fuse(recs, quantity_priors={"q": QuantityPrior(low=50)}).estimate("q")
    assert narrow.low >= 50 * 0.999 and wide.low < 50
    normal = fuse(
        [{"quantity": "q", "source": "a", "value": 10.0, "se": 1.0, "precision": 0, "scale": "linear"}],
        credscore.SourcePriors(default=credscore.Reliability(1.0)),
        quantity_priors={"q": QuantityPrior(mean=0.0, sd=1.0)},
    ).estimate("q")
    assert normal.mean == pytest.approx(5.0, rel=1e-6)  # conjugate normal: precision-weighted
    assert normal.sd == pytest.approx(np.sqrt(0.5), rel=1e-6)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "credscore", *args], capture_output=True, text=True, timeout=120)


def test_cli_demo():
    out = _run("demo")
    assert out.returncode == 0, out.stderr
    assert "nk_troops_in_russia" in out.stdout and "90%" in out.stdout


def test_cli_fuse(tmp_path):
    claims = tmp_path / "c.csv"
    claims.write_text("quantity,source,value\nq,a,100\nq,b,110\nq,c,5000\n")
    priors = tmp_path / "p.csv"
    priors.write_text("source,admiralty\nc,E\n")
    est = tmp_path / "e.csv"
    out = _run("fuse", str(claims), "--priors", str(priors), "--level", "0.8", "--out", str(est), "--full")
    assert out.returncode == 0, out.stderr
    assert "80%" in out.stdout and "contradicted" in out.stdout  # the summary prints holds / evidence words
    assert ClaimSet is not None and est.read_text().startswith("quantity,")
    bad = tmp_path / "bad.csv"
    bad.write_text("quantity,source,value\nq,a,zz\n")
    out = _run("fuse", str(bad))
    assert out.returncode == 2 and "line 2, field `value`" in out.stderr
    out = _run("demo", "--level", "2")
    assert out.returncode == 2 and "`level` must be in the open interval (0, 1)." in out.stderr
