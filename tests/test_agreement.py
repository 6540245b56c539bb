"""Agreement and conflict (issue 3): claim × claim agreement, per-claim diagnostics, conflict, heterogeneity."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import credscore
from credscore import ClaimSet, ErrorScale, QuantityPrior, Reliability, SourcePriors, fuse
from credscore.agreement import (
    BIMODAL_MASS,
    all_pair_agreement,
    claim_diagnostics,
    pair_agreement,
    quantity_pairs,
)
from credscore.datasets import load_seed_case
from credscore.likelihood import build_claim_model
from credscore.meta import random_effects


def _model(records, **kw):
    return build_claim_model(ClaimSet.from_records(records, **kw))


def _agree(records, **kw):
    """Agreement of claim 0 with claim 1 (records of one quantity, in input order)."""
    cs = ClaimSet.from_records(records, **kw)
    m = build_claim_model(cs)
    pos = np.empty(len(cs), dtype=np.int64)
    pos[m.claim] = np.arange(len(m.claim))
    return float(pair_agreement(m, pos[[0]], pos[[1]])[0])


def rec(value=None, kind="point", source="a", **kw):
    r = {"quantity": "q", "source": source, "kind": kind, **kw}
    if value is not None:
        r["value"] = value
    return r


# ------------------------------------------------------------------ the rounding examples
def test_rounding_examples():
    # "10,000" is one significant figure (±5,000); log scale, default sigma 0.1
    a = _agree([rec("10,000"), rec("10,900", source="b")])
    b = _agree([rec("10,000"), rec("11,000", source="b")])
    c = _agree([rec("1,500"), rec("11,000", source="b")])
    d = _agree([rec("10,900"), rec("11,000", source="b")])
    assert a > 0.6 and b > 0.6  # compatible: the vague statement contains the precise ones
    assert d > 0.99
    assert c < 1e-6  # irreconcilable


def test_precision_matters_for_exact_numbers():
    m = build_claim_model(
        ClaimSet.from_records([rec(10000, precision=0), rec(11000, precision=0, source="b"),
                               rec(10000, precision=5000, source="c")]),
        SourcePriors(error=ErrorScale(0.01)),
    )
    v = pair_agreement(m, np.array([0, 1]), np.array([1, 2]))
    assert v[0] < 1e-4  # 10 % apart at a 1 % error: exp(-log(1.1)² / 8e-4)
    assert v[1] > 0.1  # but both inside "10,000" rounded


def test_point_pairs_closed_form_and_quadrature_agree():
    from credscore.agreement import _effective_shape, _quadrature

    m = _model([rec(v, precision=0, source=s) for v, s in ((100, "a"), (105, "b"), (130, "c"), (99, "d"))]
               + [rec(110, precision=0, source="e", se=20)])
    i, j, _ = quantity_pairs(m)
    closed = pair_agreement(m, i, j)
    sh = _effective_shape(m, np.arange(len(m.claim)))
    quad = _quadrature(m, i, j, sh[i], sh[j])
    np.testing.assert_allclose(quad, closed, atol=1e-8)
    s = m.sigma
    d = m.centre[i] - m.centre[j]
    ref = np.sqrt(2 * s[i] * s[j] / (s[i] ** 2 + s[j] ** 2)) * np.exp(-d * d / (4 * (s[i] ** 2 + s[j] ** 2)))
    np.testing.assert_allclose(closed, ref, rtol=1e-12)


def test_interval_agreement_against_dense_integration():
    from credscore.likelihood import log_accurate

    recs = [rec("10,000"), rec("10,900", source="b"), rec(low=9000, high=20000, kind="range", source="c"),
            rec(12500, precision=0, se=3000, source="d"), rec(10000, kind="upper", source="e")]
    m = _model(recs)
    i, j, _ = quantity_pairs(m)
    v = pair_agreement(m, i, j)
    xs = np.linspace(6.0, 13.0, 200001)
    with np.errstate(divide="ignore"):
        L = np.exp(log_accurate(m, np.arange(len(m.claim)), np.tile(xs, (len(m.claim), 1))))
    widths = np.where(m.shape == 1, m.hi - m.lo, 1.0)
    for k, (a, b) in enumerate(zip(i, j)):
        pa, pb = L[a] / widths[a], L[b] / widths[b]
        bound = (m.shape[a] >= 2) or (m.shape[b] >= 2)
        ref = np.trapezoid(pa * pb if bound else np.sqrt(pa * pb), xs)
        assert v[k] == pytest.approx(ref, abs=1e-8)


def test_bounds():
    up10 = rec(10000, kind="upper")
    assert _agree([up10, rec(10000, kind="upper", source="b")]) == 1.0
    assert _agree([up10, rec(100, kind="upper", source="b")]) == 1.0  # both hold below 100
    assert _agree([up10, rec(10000, kind="lower", source="b")]) == pytest.approx(0.5)
    assert _agree([up10, rec(100000, kind="lower", source="b")]) < 1e-6
    assert _agree([up10, rec(100, kind="lower", source="b")]) > 1 - 1e-6
    assert _agree([up10, rec(1000, precision=0, source="b")]) > 1 - 1e-6
    assert _agree([up10, rec(100000, precision=0, source="b")]) < 1e-6
    assert _agree([up10, rec(10000, precision=0, source="b")]) == pytest.approx(0.5)


# ------------------------------------------------------------------ properties
_PROPER = ("point", "approx", "range")


@st.composite
def statement(draw, kinds=("point", "approx", "range", "upper", "lower"), centre=None):
    kind = draw(st.sampled_from(kinds))
    c = centre if centre is not None else draw(st.floats(0.1, 1e6))
    if kind == "range":
        f = draw(st.floats(1.01, 3.0))
        return {"kind": kind, "low": c / f, "high": c * f}
    prec = draw(st.sampled_from([0.0, 0.001, 0.05, 0.3])) * c
    return {"kind": kind, "value": c, "precision": prec}


def _records(*stmts, se=None):
    out = []
    for k, s in enumerate(stmts):
        r = {"quantity": "q", "source": f"s{k}", **s}
        if se is not None and se[k] is not None:
            r["se"] = se[k] * (r.get("value") or np.sqrt(r["low"] * r["high"]))
        out.append(r)
    return out


@settings(max_examples=60, deadline=None)
@given(statement(), statement(), st.sampled_from([None, 0.05, 0.3]), st.sampled_from([None, 0.02, 0.2]))
def test_agreement_is_symmetric_and_bounded(a, b, se_a, se_b):
    recs = _records(a, b, se=[se_a, se_b])
    m = _model(recs)
    i, j = np.array([0]), np.array([1])
    v1, v2 = pair_agreement(m, i, j)[0], pair_agreement(m, j, i)[0]
    assert 0.0 <= v1 <= 1.0
    assert v1 == pytest.approx(v2, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(statement(), st.sampled_from([None, 0.05, 0.3]))
def test_identical_statements_agree_fully(a, se):
    m = _model(_records(a, a, se=[se, se]))
    assert pair_agreement(m, np.array([0]), np.array([1]))[0] == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(statement(kinds=_PROPER, centre=1000.0), st.sampled_from(_PROPER), st.floats(0.05, 0.3),
       st.sampled_from([1.0, -1.0]), st.sampled_from([None, 0.05]))
def test_agreement_decreases_with_distance(a, kind_b, prec, direction, se):
    # claim b moves away from claim a's centre, on a log scale
    vals = []
    for step in np.linspace(0.0, 3.0, 13):
        c = 1000.0 * np.exp(direction * step)
        b = {"kind": "range", "low": c / (1 + prec), "high": c * (1 + prec)} if kind_b == "range" else \
            {"kind": kind_b, "value": c, "precision": prec * c}
        m = _model(_records(a, b, se=[se, None]), scales="log")
        vals.append(pair_agreement(m, np.array([0]), np.array([1]))[0])
    assert np.all(np.diff(vals) <= 1e-9), vals
    assert vals[-1] < 1e-3


@settings(max_examples=30, deadline=None)
@given(statement(), statement(), st.floats(1e-3, 1e3))
def test_agreement_is_scale_free_on_log_quantities(a, b, k):
    def scaled(s):
        s = dict(s)
        for f in ("value", "low", "high", "precision"):
            if f in s:
                s[f] = s[f] * k
        return s

    m1 = _model(_records(a, b), scales="log")
    m2 = _model(_records(scaled(a), scaled(b)), scales="log")
    v1 = pair_agreement(m1, np.array([0]), np.array([1]))[0]
    v2 = pair_agreement(m2, np.array([0]), np.array([1]))[0]
    assert v1 == pytest.approx(v2, abs=1e-9)


def test_pairs_cover_every_quantity_without_loops():
    recs = [{"quantity": f"q{k % 4}", "source": f"s{k}", "value": 10 + k, "precision": 0} for k in range(11)]
    m = _model(recs)
    i, j, q = quantity_pairs(m)
    n = m.counts
    assert len(i) == int((n * (n - 1) // 2).sum())
    assert np.all(m.quantity[i] == m.quantity[j]) and np.all(i < j) and np.all(q == m.quantity[i])
    ii, jj, v = all_pair_agreement(m, max_pairs=3)  # several chunks
    assert ii.tolist() == i.tolist() and jj.tolist() == j.tolist()
    np.testing.assert_allclose(v, pair_agreement(m, i, j))


# ------------------------------------------------------------------ influence = leave-one-out refit
def _pinned_fit(cs):
    priors = SourcePriors(default=Reliability(0.8, 5), error=ErrorScale(0.1))
    qp = {"t": QuantityPrior(low=10.0, high=1e6)}
    return priors, qp, fuse(cs, priors, quantity_priors=qp)


def test_influence_equals_leave_one_out_refit():
    recs = [{"quantity": "t", "source": s, **r} for s, r in [
        ("a", {"value": "10,000"}), ("b", {"value": "10,900"}), ("c", {"value": "11,000"}),
        ("d", {"value": "1,500"}), ("e", {"kind": "upper", "value": 10000}),
        ("f", {"value": 12000, "precision": 0}), ("g", {"value": 12500, "precision": 0, "se": 3000}),
        ("h", {"value": 20000, "precision": 0}), ("i", {"value": "1,500"}), ("j", {"value": 20000, "precision": 0}),
    ]]
    cs = ClaimSet.from_records(recs)
    priors, qp, res = _pinned_fit(cs)
    _, sd = res.posterior.moments()
    med = np.log(res.estimates["median"][0])
    infl = res.claims["influence"]
    # the claims' extent (1,500 ... 20,000, which sets the wild range) is held by two claims at each end
    for k in range(len(cs)):
        mask = np.ones(len(cs), dtype=bool)
        mask[k] = False
        refit = fuse(cs.subset(mask), priors, quantity_priors=qp)
        expected = (np.log(refit.estimates["median"][0]) - med) / sd[0]
        assert infl[k] == pytest.approx(expected, abs=2e-5), k
    assert np.abs(infl).max() > 0.1  # the test is not vacuous


def test_influence_of_a_relayed_repeat_is_zero():
    recs = [
        {"quantity": "t", "source": "Kyiv", "value": "11,000"},
        {"quantity": "t", "source": "Z", "kind": "upper", "value": 10000, "reported_by": "DW"},
        {"quantity": "t", "source": "Z", "kind": "upper", "value": 10000, "reported_by": "BBC"},
        {"quantity": "t", "source": "blog", "value": "10,900"},
    ]
    res = fuse(recs)
    c = res.claims
    assert c["counted"].tolist() == [True, True, False, True]
    # the relayed repeat carries no evidence of its own (the counted statement may have none either:
    # the median sits on a stated value that the bound does not move)
    assert c["influence"][2] == 0.0
    assert c["p_wild"][2] == c["p_wild"][1]
    assert c["consensus_agreement"][2] == c["consensus_agreement"][1]


def test_grid_median_matches_posterior_quantiles():
    claims, priors = load_seed_case()
    res = fuse(claims, priors)
    d = claim_diagnostics(res.model, res.posterior, 1 - _p_wild_model(res))
    q = res.posterior.quantiles([0.5])[:, 0]
    np.testing.assert_allclose(d["median"], q, atol=1e-6 * d["sd"].max() + 1e-9)


def _p_wild_model(res):
    return res.claims["p_wild"][res.model.claim]


# ------------------------------------------------------------------ per-claim columns
def test_claim_columns():
    recs = [{"quantity": "t", "source": s, "value": v} for s, v in
            [("a", "11,000"), ("b", "10,900"), ("c", "10,500"), ("d", "1,500")]]
    recs.append({"quantity": "lone", "source": "a", "value": 5})
    res = fuse(recs)
    c = res.claims
    assert {"p_wild", "residual", "consensus_agreement", "influence"} <= set(c.columns)
    np.testing.assert_allclose(c["p_wild"], 1 - c["p_accurate"])
    assert c["consensus_agreement"][3] < 1e-5 < 0.5 < c["consensus_agreement"][0]
    assert np.isnan(c["consensus_agreement"][4])  # nothing to compare a lone claim with
    assert c["residual"][3] < -5 and abs(c["residual"][0]) < 1
    # residual by its definition
    m, post = res.model, res.posterior
    mean, sd = post.moments()
    k = int(np.flatnonzero(m.claim == 3)[0])
    width = m.hi[k] - m.lo[k]
    expected = (m.centre[k] - mean[0]) / np.sqrt(m.sigma[k] ** 2 + width**2 / 12 + sd[0] ** 2)
    assert c["residual"][3] == pytest.approx(expected)


def test_consensus_agreement_of_bounds():
    recs = [{"quantity": "t", "source": s, "value": v, "precision": 0} for s, v in
            [("a", 100), ("b", 101), ("c", 99)]]
    recs += [{"quantity": "t", "source": "up", "kind": "upper", "value": 1000},
             {"quantity": "t", "source": "lo", "kind": "lower", "value": 1000}]
    c = fuse(recs).claims
    assert c["consensus_agreement"][3] > 0.999  # "up to 1,000" holds
    assert c["consensus_agreement"][4] < 1e-3  # "more than 1,000" does not
    assert np.isnan(c["residual"][3])


# ------------------------------------------------------------------ per quantity
def test_conflict_increases_when_a_claim_moves_away():
    base = [{"quantity": "t", "source": s, "value": v, "precision": 0} for s, v in
            [("a", 100), ("b", 104), ("c", 97), ("d", 102)]]
    conflicts = []
    for far in (103, 150, 1000, 10000):
        recs = base + [{"quantity": "t", "source": "e", "value": far, "precision": 0}]
        conflicts.append(fuse(recs).estimates["conflict"][0])
    assert np.all(np.diff(conflicts[:3]) > 0), conflicts
    # once the moved claim is surely wild the score saturates (one wild claim in five)
    assert conflicts[3] == pytest.approx(conflicts[2], abs=0.01)
    assert conflicts[-1] > 0.15 > conflicts[0]


def test_bimodality():
    two = [{"quantity": "t", "source": f"s{k}", "value": v, "precision": 0}
           for k, v in enumerate([100, 101, 99, 10000, 10100, 9900])]
    one = [{"quantity": "t", "source": f"s{k}", "value": v, "precision": 0}
           for k, v in enumerate([100, 101, 99, 10000])]
    assert bool(fuse(two).estimates["bimodal"][0])
    assert not bool(fuse(one).estimates["bimodal"][0])
    assert BIMODAL_MASS == 0.05


def test_heterogeneity_matches_meta_analysis():
    recs = [{"quantity": "t", "source": f"s{k}", "value": v} for k, v in enumerate(["10,000", "10,900", "11,000", "1,500"])]
    recs.append({"quantity": "t", "source": "u", "kind": "upper", "value": 5000})  # not in the meta-analysis
    recs += [{"quantity": "one", "source": "a", "value": 3}, {"quantity": "bounds", "source": "a", "kind": "upper", "value": 3},
             {"quantity": "bounds", "source": "b", "kind": "lower", "value": 1}]
    res = fuse(recs)
    m = res.model
    sel = (m.quantity == 0) & (m.shape <= 1)
    y = m.centre[sel]
    se = np.sqrt(m.sigma[sel] ** 2 + (m.hi[sel] - m.lo[sel]) ** 2 / 12)
    ref = random_effects(y, se, method="REML")
    e = res.estimates
    for name in ("Q", "I2", "H2", "tau2"):
        assert e[name][0] == pytest.approx(getattr(ref, name), rel=1e-9)
        assert np.isnan(e[name][1]) and np.isnan(e[name][2])
    c = res.conflict("t")
    assert c.k == 4 and c.tau2 == pytest.approx(ref.tau2, rel=1e-9)
    assert c.tau2_ci == pytest.approx((ref.tau2_ci_low, ref.tau2_ci_high), rel=1e-6)


# ------------------------------------------------------------------ result API
@pytest.fixture(scope="module")
def seed():
    claims, priors = load_seed_case()
    return fuse(claims, priors)


def test_agreement_matrix(seed):
    a = seed.agreement("nk_troops_in_russia")
    n = int((seed.claims["quantity"] == "nk_troops_in_russia").sum())
    assert a.values.shape == (n, n) and len(a.labels) == n
    np.testing.assert_allclose(a.values, a.values.T)
    np.testing.assert_allclose(np.diag(a.values), 1.0)
    assert np.all((a.values >= 0) & (a.values <= 1))
    lab = list(a.labels)
    nis = next(k for k, s in enumerate(lab) if "NIS" in s)
    kyiv = next(k for k, s in enumerate(lab) if "Kyiv" in s)
    blog = next(k for k, s in enumerate(lab) if "blog" in s)
    assert a.values[nis, kyiv] < 1e-6
    assert a.values[kyiv, blog] > 0.95
    z = [k for k, s in enumerate(lab) if "Zelensky" in s]
    assert len(z) == 2 and a.values[z[0], z[1]] == 1.0
    np.testing.assert_allclose(a.values[z[0]], a.values[z[1]])
    assert "NIS" in repr(a)
    with pytest.raises(KeyError, match="unknown quantity"):
        seed.agreement("nope")


def test_agreement_to_dataframe(seed):
    pytest.importorskip("pandas")
    df = seed.agreement("nk_troops_in_russia").to_dataframe()
    assert list(df.index) == list(df.columns)
    assert df.shape[0] == df.shape[1]
    sa = seed.source_agreement()
    assert sa.to_dataframe("shared").shape == (len(sa.sources),) * 2


def test_conflict_report(seed):
    c = seed.conflict("nk_troops_in_russia")
    assert 0 < c.score < 1 and not c.bimodal
    assert c.score == pytest.approx(seed.estimates["conflict"][seed.claimset.quantity_index("nk_troops_in_russia")])
    assert any("NIS" in p[0] or "NIS" in p[1] for p in c.pairs)
    assert c.pairs[0][2] <= c.pairs[-1][2]
    assert "NIS" in c.claims[0][0] and c.claims[0][1] > 0.99
    assert c.I2 > 50 and c.tau2 > 0
    text = c.to_text()
    assert "agreement" in text and "p_wild" in text
    with pytest.raises(ValueError, match="`top` must be a positive integer"):
        seed.conflict("nk_troops_in_russia", top=0)


def test_source_agreement(seed):
    sa = seed.source_agreement()
    S = len(seed.sources)
    assert sa.values.shape == (S, S) and sa.shared.shape == (S, S)
    np.testing.assert_array_equal(sa.shared, sa.shared.T)
    ok = np.isfinite(sa.values)
    np.testing.assert_allclose(sa.values[ok], sa.values.T[ok])
    assert np.all((sa.values[ok] >= 0) & (sa.values[ok] <= 1))
    src = list(sa.sources)
    kyiv, nis = src.index("Kyiv"), src.index("NIS (South Korea)")
    assert sa.shared[kyiv, nis] == 1 and sa.values[kyiv, nis] < 1e-6
    assert np.all(np.isnan(sa.values[sa.shared == 0]))


def test_source_columns(seed):
    s = seed.sources
    assert {"consensus_agreement", "share_agreeing", "n_compared"} <= set(s.columns)
    src = list(s["source"])
    nis, kyiv = src.index("NIS (South Korea)"), src.index("Kyiv")
    assert s["n_compared"][nis] == 1 and s["share_agreeing"][nis] == 0.0
    assert s["share_agreeing"][kyiv] == 1.0


def test_estimate_columns(seed):
    e = seed.estimates
    assert {"conflict", "bimodal", "Q", "I2", "H2", "tau2"} <= set(e.columns)
    assert np.all((e["conflict"] >= 0) & (e["conflict"] <= 1))
    i = seed.claimset.quantity_index("nk_troops_in_russia")
    assert np.isfinite(e["Q"][i]) and np.sum(np.isfinite(e["Q"])) == 1


def test_demo_shows_conflicts():
    out = subprocess.run([sys.executable, "-m", "credscore", "demo"], capture_output=True, text=True, check=True).stdout
    assert "Conflicts" in out
    assert "NIS (South Korea) (row 12) says 1,500" in out and "agreement 0.00" in out


def test_student_t_errors():
    recs = [rec("10,000"), rec("10,000", source="b"), rec("12,000", source="c"), rec(10000, kind="upper", source="d")]
    m = build_claim_model(ClaimSet.from_records(recs), SourcePriors(error=ErrorScale(0.1, df=3)))
    i, j, _ = quantity_pairs(m)
    v = pair_agreement(m, i, j)
    assert np.all((v >= 0) & (v <= 1))
    np.testing.assert_allclose(v, pair_agreement(m, j, i))
    assert v[0] == pytest.approx(1.0, abs=1e-5)
