"""Issue 14 items 18 and 21: claim words a reader can use, warnings a user can act on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import credscore
from credscore import QuantityPrior, SourcePriors, fuse
from credscore.statuses import SUPPORTED_AT, VAGUE_AT, evidence_words, holds_words


# ---------------------------------------------------------------- item 18: holds / evidence
def _upper_bound_case():
    recs = [{"quantity": "troops", "source": s, "value": v}
            for s, v in (("a", 1290), ("b", 1300), ("c", 1280), ("d", 1290))]
    recs.append({"quantity": "troops", "source": "tabloid", "kind": "upper", "value": 20000})
    recs.append({"quantity": "troops", "source": "e", "value": 150000})
    return fuse(recs, SourcePriors(sources={"tabloid": "E"}), learn_reliability=False)


def test_issue_example_upper_bound_from_e_source_holds():
    res = _upper_bound_case()
    c = res.claims
    i = list(c["source"]).index("tabloid")
    assert res.sources["reliability_prior"][list(res.sources["source"]).index("tabloid")] == pytest.approx(0.2)
    assert c["p_accurate"][i] < 0.8  # the model's fixed cut alone would not call it accurate
    assert c["holds"][i] == "holds"
    assert c["evidence"][i] in ("neutral", "supported")  # p went up from the prior: not undermined
    assert c["evidence_ratio"][i] > 1
    j = list(c["source"]).index("e")  # 150,000 beside 1,290: ruled out, and the data lowered its p
    assert c["holds"][j] == "contradicted" and c["evidence"][j] == "undermined"
    assert c["status"][j] == "wild"  # the model's status is kept


def test_summary_prints_the_words_not_the_status():
    res = _upper_bound_case()
    text = res.summary()
    lines = [x for x in text.splitlines() if " p=" in x]
    assert len(lines) == len(res.claims)
    tab = next(x for x in lines if x.rstrip().endswith("tabloid"))
    assert tab.split()[0] == "holds" and "doubtful" not in tab and "up to 20,000" in tab
    wild = next(x for x in lines if "150,000" in x)
    assert wild.split()[:2] == ["contradicted", "undermined"]
    assert "(supported / undermined: the data raised / lowered p from its source's prior reliability)" in text


def test_contradicted_means_outside_the_printed_interval():
    res = _upper_bound_case()
    c, e = res.claims, res.estimates
    lo, hi = e["low"][0], e["high"][0]
    cs = res.claimset
    outside = (cs.upper_bound < lo) | (cs.lower_bound > hi)
    assert (np.asarray(c["holds"]) == "contradicted").tolist() == outside.tolist()


def test_too_vague_under_a_quantity_prior():
    recs = [{"quantity": "q", "source": s, "value": v} for s, v in (("a", 5000), ("b", 5100))]
    recs.append({"quantity": "q", "source": "c", "kind": "lower", "value": 1000})
    res = fuse(recs, quantity_priors={"q": QuantityPrior(low=1000, high=100000)}, learn_reliability=False)
    c = res.claims
    assert c["p_statement_prior"][2] == pytest.approx(1.0)
    assert c["holds"].tolist() == ["holds", "holds", "too vague to tell"]


def test_prior_probability_of_a_statement_under_the_default_prior():
    res = _upper_bound_case()
    m = res.model
    i = list(res.claims["source"]).index("tabloid")
    expect = (np.log(20000) - m.prior_lo[0]) / (m.prior_hi[0] - m.prior_lo[0])
    assert res.claims["p_statement_prior"][i] == pytest.approx(expect)


def test_word_thresholds_are_the_documented_ones():
    r, w = evidence_words(np.array([0.75, 0.25, 0.74, 0.26, 0.5, 1.0, 0.0]), np.full(7, 0.5))
    assert w.tolist() == ["supported", "undermined", "neutral", "neutral", "neutral", "supported", "undermined"]
    assert SUPPORTED_AT == 3.0 and VAGUE_AT == 0.9
    # a certain prior cannot be moved
    assert evidence_words(np.array([0.3]), np.array([1.0]))[1].tolist() == ["neutral"]
    inf = np.inf
    words = holds_words(np.array([-inf, 10.0, 10.0, 0.0]), np.array([5.0, 20.0, 20.0, inf]),
                        np.array([5.0, 20.0, 20.1, 1.0]), np.array([6.0, 30.0, 30.0, 2.0]),
                        np.array([0.5, 0.5, 0.5, VAGUE_AT]))
    assert words.tolist() == ["holds", "holds", "contradicted", "too vague to tell"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.floats(0.001, 0.999), st.floats(0.001, 0.999))
def test_evidence_word_follows_the_odds_ratio(p, r):
    ratio, word = evidence_words(np.array([p]), np.array([r]))
    assert ratio[0] == pytest.approx((p / (1 - p)) / (r / (1 - r)), rel=1e-9)
    if abs(np.log(ratio[0]) - np.log(3)) > 1e-6 and abs(np.log(ratio[0]) + np.log(3)) > 1e-6:
        expect = "supported" if ratio[0] >= 3 else "undermined" if ratio[0] <= 1 / 3 else "neutral"
        assert word[0] == expect
    assert (ratio[0] > 1) == (p > r) or p == pytest.approx(r)


# ---------------------------------------------------------------- item 21: warnings people can act on
def _two_far_clusters():
    from credscore import ErrorScale, Reliability

    recs = [dict(quantity="q", source=f"a{i}", value=1000, precision=0, scale="log") for i in range(3)]
    recs += [dict(quantity="q", source=f"b{i}", value=1e5, precision=0, scale="log") for i in range(3)]
    return recs, SourcePriors(default=Reliability(0.8, 5), error=ErrorScale(0.05))


def test_grid_warning_only_when_an_answer_is_at_stake_and_its_advice_works():
    recs, pr = _two_far_clusters()
    with pytest.warns(credscore.GridResolutionWarning,
                      match=r"^1 quantity has a posterior \(row 0 of the estimates\) with a narrow mode that a grid "
                            r"of 32 points misses, holding up to 1 of the probability: their intervals may be off by "
                            r"that much; set `robust_grid_size=4096` to resolve it\.$"):
        res = fuse(recs, pr, grid_size=16, robust_grid_size=32, learn_reliability=False)
    assert not res.estimates["resolved"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fuse(recs, pr, grid_size=16, robust_grid_size=4096, learn_reliability=False)
    assert res.estimates["resolved"][0]


def test_negligible_unresolved_mass_is_a_flag_not_a_warning():
    from credscore.datasets.synthetic import make_synthetic
    from credscore.posterior import STAKE_MASS

    assert STAKE_MASS == 1e-3
    d = make_synthetic("long_tail", n_claims=1500, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", credscore.GridResolutionWarning)
        res = fuse(d.claims)
    assert (~np.asarray(res.estimates["resolved"])).sum() > 0  # flagged, silently


def test_cli_turns_a_convergence_warning_into_one_line_with_working_advice(tmp_path, capsys):
    from credscore import __main__ as cli

    path = tmp_path / "claims.csv"
    rows = ["quantity,source,value"] + [f"q{i},{s},{v}" for i in range(4)
                                        for s, v in (("a", 100 + i), ("b", 104 + i), ("c", 300 + 7 * i))]
    path.write_text("\n".join(rows) + "\n")
    code = cli.main(["fuse", str(path), "--quiet", "--max-iter", "1", "--tol", "1e-12"])
    err = capsys.readouterr().err
    assert code == 0
    assert err == ("credscore: warning: the reliability learning stopped after 1 iteration before settling "
                   f"(last change {err.split('last change ')[1].split(',')[0]}, tolerance 1e-12); the results use "
                   "its last step. Run again with --max-iter 4 to let it finish.\n")
    assert "\n" not in err.rstrip("\n")


def test_cli_grid_advice_names_the_option():
    from credscore.__main__ import _plain_warning

    msg = "1 quantity has ... that much; set `robust_grid_size=4096` to resolve it."
    assert _plain_warning(msg) == "1 quantity has ... that much; run again with --robust-grid-size 4096 to resolve it."
    assert _plain_warning("stopped after 7 iterations") == "stopped after 7 iterations"
