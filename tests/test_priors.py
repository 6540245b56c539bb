"""Priors: Reliability, Admiralty grades, ErrorScale, SourcePriors, QuantityPrior."""

import pytest
from scipy import stats

from credscore import ClaimError, ClaimSet, ErrorScale, QuantityPrior, Reliability, SourcePriors
from credscore.priors import ADMIRALTY


def test_reliability_is_a_beta_prior():
    r = Reliability(0.8, 10)
    assert (r.a, r.b) == (8.0, 2.0)
    lo, hi = r.interval(0.9)
    assert (lo, hi) == pytest.approx(tuple(stats.beta.ppf([0.05, 0.95], 8, 2)))
    assert Reliability(1.0).interval() == (1.0, 1.0)


def test_admiralty_grades_are_ordered_and_f_is_flat():
    means = [ADMIRALTY[g].mean for g in "ABCDE"]
    assert means == sorted(means, reverse=True)
    f = Reliability.admiralty("f")
    assert (f.a, f.b) == (1.0, 1.0)
    assert Reliability.admiralty("B") == Reliability(0.85, 20)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Reliability(0.0), r"^`mean` must be in the half-open interval \(0, 1\]\.$"),
        (lambda: Reliability(1.2), r"^`mean` must be in the half-open interval \(0, 1\]\.$"),
        (lambda: Reliability(0.5, 0), r"^`strength` must be positive and finite\.$"),
        (lambda: Reliability.admiralty("G"), r"^`grade` must be one of 'A', 'B', 'C', 'D', 'E', 'F'; got 'G'\.$"),
        (lambda: Reliability(0.5).interval(1.0), r"^`level` must be in the open interval \(0, 1\)\.$"),
        (lambda: ErrorScale(0), r"^`sigma` must be positive and finite\.$"),
        (lambda: ErrorScale(1, df=0), r"^`df` must be positive\.$"),
        (lambda: QuantityPrior(low=2, high=1), r"^`low` must be less than `high`\.$"),
        (lambda: QuantityPrior(mean=1), r"^`mean` and `sd` must be given together\.$"),
        (lambda: QuantityPrior(mean=1, sd=0), r"^`sd` must be positive\.$"),
        (lambda: SourcePriors(default=0.5), r"^`default` must be a Reliability\.$"),
        (lambda: SourcePriors(sources={"a": 3}), r"^`sources\['a'\]` must be a Reliability, an ErrorScale"),
    ],
)
def test_prior_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_source_priors_lookup_order():
    p = SourcePriors(
        default=Reliability(0.6),
        error=ErrorScale(0.2),
        sources={"NIS": "B", "blogger": (None, ErrorScale(0.5))},
        kinds={"blog": Reliability(0.3, 4), "agency": (Reliability(0.9), ErrorScale(0.05))},
        source_kinds={"blogger": "blog"},
    )
    assert p.reliability_for("NIS") == ADMIRALTY["B"]
    assert p.error_for("NIS") == ErrorScale(0.2)
    assert p.reliability_for("blogger") == Reliability(0.3, 4)  # by mapped kind
    assert p.error_for("blogger") == ErrorScale(0.5)  # by name
    assert p.reliability_for("x", "agency") == Reliability(0.9)  # by the claim's kind
    assert p.error_for("x", "agency") == ErrorScale(0.05)
    assert p.reliability_for("unknown") == Reliability(0.6)


def test_source_priors_from_csv(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(
        "source,source_kind,admiralty,reliability_mean,reliability_strength,error_sigma,error_df\n"
        "*,,,0.7,4,0.2,\n"
        "NIS,intelligence agency,B,,,,\n"
        ",blog,,0.3,5,,3\n"
        "Kyiv,,,0.75,8,0.05,\n"
    )
    p = SourcePriors.from_csv(f)
    assert p.default == Reliability(0.7, 4) and p.error == ErrorScale(0.2)
    assert p.reliability_for("NIS") == ADMIRALTY["B"]
    assert p.source_kinds["NIS"] == "intelligence agency"
    assert p.reliability_for("someone", "blog") == Reliability(0.3, 5)
    assert p.error_for("someone", "blog") == ErrorScale(None, 3)
    assert p.error_for("Kyiv") == ErrorScale(0.05)
    f.write_text("source,admiralty\nNIS,Q\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `admiralty`: `grade` must be one of"):
        SourcePriors.from_csv(f)
    f.write_text("source,admiralty\n,B\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `source`: needs a `source` or a `source_kind`\.$"):
        SourcePriors.from_csv(f)


def test_to_records_resolves_every_source():
    cs = ClaimSet.from_records([{"quantity": "q", "source": "a", "value": 1, "source_kind": "blog"},
                                {"quantity": "q", "source": "b", "value": 2}])
    recs = SourcePriors(kinds={"blog": "E"}).to_records(cs)
    assert [r["reliability_mean"] for r in recs] == [0.2, 0.8]
