"""Quantities known only by bounds (issue 14, item 17): "more than 62 countries" alone is shown as
"≥ 62" with what is known above it, not as an invented median whose interval contradicts it."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import credscore
from credscore import QuantityPrior
from credscore.bounds import format_bound

LONE = [{"quantity": "countries", "source": "a", "kind": "lower", "value": 62, "unit": "countries"},
        {"quantity": "troops", "source": "a", "value": "11,000"}]


def _fuse(records, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return credscore.fuse(records, **kw)


def test_lone_lower_bound_says_what_it_says():
    res = _fuse(LONE)
    e = res.estimate("countries")
    assert (e.bound_side, e.bound, e.limit) == ("lower", 62.0, math.inf)
    # the probability that the value is above 62: the claim's reliability (0.8) plus what the wild reading leaves above
    assert 0.8 <= e.p_bound < 0.9
    assert repr(e) == "Estimate('countries': ≥ 62 countries (p = 0.83 that it holds; nothing known above it))"
    assert "countries: ≥ 62 countries (p = 0.83 that it holds; nothing known above it), from 1 claim" in res.summary()
    line = res.estimates.to_text().splitlines()[1]
    assert line.split()[-7:] == ["≥", "62", "62", "no", "limit", "0.20", "no"]
    # the interval the posterior alone would print starts below the only claim: that is what is no longer shown
    assert e.low < 62
    assert "480" not in res.summary()
    # a quantity with a point claim is unaffected
    assert res.estimate("troops").bound_side is None and math.isnan(res.estimates["p_bound"][1])


def test_quantity_prior_gives_the_limit_above_the_bound():
    res = _fuse(LONE, quantity_priors={"countries": QuantityPrior(low=1, high=195)})
    e = res.estimate("countries")
    assert e.limit == 195.0 and 1 <= e.low and e.high <= 195  # the prior's limits are respected
    assert repr(e) == "Estimate('countries': ≥ 62, ≤ 195 countries by the prior (p = 0.51 that it holds))"
    line = res.estimates.to_text().splitlines()[1]
    assert "≥ 62" in line and line.split()[-3] == "195"


def test_upper_bounds_only_take_the_strongest():
    res = _fuse([{"quantity": "t", "source": "a", "kind": "upper", "value": 12000},
                 {"quantity": "t", "source": "b", "kind": "upper", "value": 10000}])
    e = res.estimate("t")
    assert (e.bound_side, e.bound, e.limit) == ("upper", 10000.0, 0.0)
    assert str(e).endswith("≤ 10,000 (p = 0.98 that it holds; nothing known below it))")
    # p_bound is the posterior mass below the bound, exact on the grid: the median lies below it
    assert e.p_bound > 0.5 and e.median < 10000


def test_mixed_bounds_or_points_are_estimated_as_before():
    res = _fuse([{"quantity": "t", "source": "a", "kind": "upper", "value": 12000},
                 {"quantity": "t", "source": "b", "kind": "lower", "value": 10000}])
    assert res.estimates["bound_side"][0] is None
    assert "bound_side" not in res.estimates.to_text()  # the empty bound columns are not even named


@pytest.mark.parametrize("side,bound,limit,p,text", [
    ("lower", 62, np.inf, 0.8, "≥ 62 (p = 0.80 that it holds; nothing known above it)"),
    ("upper", -3.5, -np.inf, 0.5, "≤ -3.5 (p = 0.50 that it holds; nothing known below it)"),
    ("upper", 10, 2, 0.9, "≤ 10, ≥ 2 by the prior (p = 0.90 that it holds)"),
])
def test_format_bound(side, bound, limit, p, text):
    assert format_bound(side, bound, limit, p) == text


def test_html_report_says_the_bound_not_a_median():
    res = _fuse(LONE)
    page = res.to_html(plots=False) if "plots" in res.to_html.__code__.co_varnames else res.to_html()
    assert "≥ 62 countries (p = 0.83 that it holds; nothing known above it)" in page
    assert "p = 0.83 that it holds" in page
    # the posterior median (below or near the bound, not a figure anyone gave) is not the answer
    from credscore.formatting import format_estimate_parts
    med = format_estimate_parts(res.estimate("countries").median, 0, 1)[0]
    section = page.split('data-quantity="countries"')[1].split("</section>")[0]
    assert f'<span class="median">{med}</span>' not in section
    # a point-claim quantity still shows its median
    assert 'data-quantity="troops"' in page and "About" in page.split('data-quantity="troops"')[1]
