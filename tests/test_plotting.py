"""credscore.plotting: what is drawn (artists, labels, limits, colours), rendered with Agg."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import credscore

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from credscore import plotting  # noqa: E402

Q = "troops"
RECORDS = [
    {"quantity": Q, "source": "Kyiv", "value": "11,000", "reported_by": "DW"},
    {"quantity": Q, "source": "blog", "value": "10,900"},
    {"quantity": Q, "source": "officials", "kind": "approx", "value": "10,000"},
    {"quantity": Q, "source": "NIS", "value": "1,500"},
    {"quantity": Q, "source": "Zelensky", "kind": "upper", "value": "12,000"},
    {"quantity": Q, "source": "NATO", "kind": "lower", "value": "1,000"},
    {"quantity": Q, "source": "analyst", "low": "9,000", "high": "13,000"},
    {"quantity": "temp", "source": "Kyiv", "value": "-3.5", "scale": "linear"},
    {"quantity": "temp", "source": "blog", "value": "-3.0", "scale": "linear"},
]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def res():
    return credscore.fuse(RECORDS, learn_reliability=False)


def _gid(ax, gid):
    hits = [a for a in list(ax.collections) + list(ax.patches) + list(ax.lines) + list(ax.images)
            if a.get_gid() == gid]
    assert len(hits) == 1, (gid, hits)
    return hits[0]


def _xspan(patch):
    x = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 0]
    return x.min(), x.max()


def _qrows(res, q):
    return np.flatnonzero(np.asarray(res.claims["quantity"]) == q)


# ---------------------------------------------------------------- forest plot
def test_forest_bars_labels_colours_band(res):
    ax = plotting.plot_forest(res, Q)
    rows = _qrows(res, Q)
    n = len(rows)
    bars = _gid(ax, "claims")
    segs = bars.get_segments()
    assert len(segs) == n == 7
    # labels "source (via outlet)", in input order, first at the top
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Kyiv (via DW)", "blog", "officials", "NIS", "Zelensky", "NATO", "analyst"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    # colours follow p_accurate through the colormap on [0, 1]
    p = np.asarray(res.claims["p_accurate"])[rows]
    np.testing.assert_allclose(bars.get_array(), p)
    assert bars.norm.vmin == 0 and bars.norm.vmax == 1
    cmap = plt.get_cmap(plotting.ACCURACY_CMAP)
    ax.figure.canvas.draw()  # colours are mapped at draw time
    np.testing.assert_allclose(bars.get_colors()[:, :3], cmap(p)[:, :3], atol=1e-6)
    assert p[3] < 0.2 and p[0] > 0.8  # NIS is wild: red end; Kyiv accurate: blue end
    assert bars.get_colors()[3][0] > bars.get_colors()[3][2] and bars.get_colors()[0][2] > bars.get_colors()[0][0]
    # statement intervals: rounding interval of "11,000" (±500), the range, bounds to the axis edge
    xlo, xhi = ax.get_xlim()
    np.testing.assert_allclose(segs[0][:, 0], [10500, 11500])
    np.testing.assert_allclose(segs[1][:, 0], [10850, 10950])
    np.testing.assert_allclose(segs[6][:, 0], [9000, 13000])
    np.testing.assert_allclose(segs[4][:, 0], [xlo, 12000])  # "up to 12,000": open to the left
    np.testing.assert_allclose(segs[5][:, 0], [1000, xhi])  # "more than 1,000": open to the right
    assert all(s[0, 1] == s[1, 1] == k for k, s in enumerate(segs))
    # bounds are dashed, with an arrowhead at the open end
    assert _gid(ax, "upper_bounds").get_offsets()[0][0] == pytest.approx(xlo)
    assert _gid(ax, "lower_bounds").get_offsets()[0][0] == pytest.approx(xhi)
    # the posterior: median line and the level band, inside the limits
    est = res.estimate(Q)
    assert _gid(ax, "median").get_xdata()[0] == pytest.approx(est.median)
    assert _xspan(_gid(ax, "interval")) == pytest.approx((est.low, est.high))
    assert xlo < min(1000, est.low) and xhi > max(13000, est.high)
    assert ax.get_xscale() == "log"
    assert "P(accurate)" in ax.figure.axes[-1].get_ylabel()  # the colorbar
    assert ax.get_xlabel() == Q


def test_forest_linear_quantity_level_sort_ax(res):
    fig, ax = plt.subplots()
    out = plotting.plot_forest(res, "temp", ax=ax, level=0.5, colorbar=False, legend=False, sort=True)
    assert out is ax and len(fig.axes) == 1 and ax.get_legend() is None
    assert ax.get_xscale() == "linear"
    est = res.estimate("temp")
    assert _xspan(_gid(ax, "interval")) == pytest.approx(est.interval(0.5))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Kyiv", "blog"]  # -3.5 before -3.0
    segs = _gid(ax, "claims").get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segs], [[-3.55, -3.45], [-3.05, -2.95]])


def test_forest_sorted_and_unknown_quantity(res):
    ax = plotting.plot_forest(res, Q, sort=True)
    labels = [t.get_text() for t in ax.get_yticklabels()]  # by centre: bounds at their value, a range's midpoint
    assert labels == ["NATO", "NIS", "officials", "blog", "Kyiv (via DW)", "analyst", "Zelensky"]
    with pytest.raises(KeyError, match="unknown quantity 'nope'"):
        plotting.plot_forest(res, "nope")


def test_forest_seed_case_relays():
    from credscore.datasets import load_seed_case

    claims, priors = load_seed_case()
    res = credscore.fuse(claims, priors)
    q = "nk_troops_in_russia"
    ax = res.plot_forest(q)
    rows = _qrows(res, q)
    assert len(_gid(ax, "claims").get_segments()) == len(rows)  # relayed repeats included
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sum(lab.startswith("Zelensky (via ") for lab in labels) == 2


# ---------------------------------------------------------------- agreement
def test_agreement_heatmap(res):
    ax = plotting.plot_agreement(res, Q)
    a = res.agreement(Q)
    img = _gid(ax, "agreement")
    np.testing.assert_allclose(img.get_array(), a.values)
    assert img.get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(a.labels)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(a.labels)
    assert len(ax.texts) == len(a) ** 2  # annotated (7 <= 12)
    assert ax.texts[0].get_text() == "1.00"
    assert ax.figure.axes[-1].get_ylabel() == "agreement"


def test_agreement_sources_no_annotation(res):
    fig, ax = plt.subplots()
    out = res.plot_agreement(ax=ax, annotate=False, colorbar=False)
    assert out is ax and len(fig.axes) == 1 and not ax.texts
    sa = res.source_agreement()
    img = _gid(ax, "agreement")
    arr = img.get_array()
    assert arr.shape == (len(sa.sources),) * 2
    np.testing.assert_array_equal(np.ma.getmaskarray(arr), np.isnan(sa.values))  # no shared quantity: blank
    assert [t.get_text() for t in ax.get_yticklabels()] == list(sa.sources)


# ---------------------------------------------------------------- reliability
def test_reliability_chart(res):
    ax = plotting.plot_reliability(res)
    s = res.sources
    cont = ax.containers[0]
    assert "posterior" in cont.get_label()
    data_line, _, (barcol,) = cont.lines
    y_labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(y_labels) == sorted(s["source"])
    order = [list(s["source"]).index(name) for name in y_labels]
    rel = np.asarray(s["reliability"])[order]
    np.testing.assert_allclose(data_line.get_xdata(), rel)
    assert np.all(np.diff(rel) >= 0)  # sorted: the most reliable at the top
    segs = barcol.get_segments()
    np.testing.assert_allclose([seg[:, 0] for seg in segs],
                               np.c_[np.asarray(s["reliability_low"])[order], np.asarray(s["reliability_high"])[order]])
    prior = _gid(ax, "prior")
    np.testing.assert_allclose(prior.get_offsets()[:, 0], np.asarray(s["reliability_prior"])[order])
    assert ax.get_xlim()[0] <= 0 and ax.get_xlim()[1] >= 1


def test_reliability_max_sources():
    recs = [{"quantity": f"q{k}", "source": f"s{j}", "value": 10 + j} for j in range(6) for k in range(j + 1)]
    res = credscore.fuse(recs, learn_reliability=False)
    ax = res.plot_reliability(max_sources=3, sort=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["s3", "s4", "s5"]  # the most claims, table order
    assert "3 of 6 sources" in ax.get_title()
    with pytest.raises(ValueError, match="`max_sources` must be a positive integer or None."):
        plotting.plot_reliability(res, max_sources=0)


# ---------------------------------------------------------------- trajectory
def test_trajectory_requires_dynamics(res):
    if not hasattr(res, "trajectory"):
        pytest.skip("FusionResult.trajectory is not available")
    with pytest.raises(ValueError, match="drift"):
        res.plot_trajectory(Q)
    with pytest.raises(TypeError, match="plot_trajectory needs a FusionResult with a trajectory"):
        plotting.plot_trajectory(object(), Q)


def test_trajectory_plot():
    recs = [
        {"quantity": Q, "source": "NIS", "value": "1,500", "date": "2024-10-18"},
        {"quantity": Q, "source": "DW", "kind": "lower", "value": "1,000", "date": "2024-10-21"},
        {"quantity": Q, "source": "Kyiv", "value": "11,000", "date": "2024-11-08"},
        {"quantity": Q, "source": "blog", "value": "10,900", "date": "2024-11-21"},
    ]
    try:
        res = credscore.fuse(recs, dynamics="drift")
    except TypeError:
        pytest.skip("fuse has no dynamics")
    ax = plotting.plot_trajectory(res, Q, n_dates=30)
    pts = _gid(ax, "claims")
    assert len(pts.get_offsets()) == 4
    np.testing.assert_allclose(pts.get_offsets()[:, 1], [1500, 1000, 11000, 10900])
    np.testing.assert_allclose(pts.get_array(), np.asarray(res.claims["p_accurate"]))
    line = _gid(ax, "median")
    assert len(line.get_xdata()) >= 30
    tr = res.trajectory(Q)
    # the median passes through the trajectory's value at each claim date
    xd = mpl.dates.date2num(np.asarray(line.get_xdata()))
    for d, m in zip(tr["date"], tr["median"]):
        k = np.argmin(np.abs(xd - mpl.dates.date2num(d)))
        assert line.get_ydata()[k] == pytest.approx(m, rel=1e-6)
    band = _gid(ax, "interval")
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    assert ys.min() == pytest.approx(np.min(tr["low"]), rel=0.05) or ys.min() <= np.min(tr["low"])
    assert ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    assert lo < 1000 and hi > np.max(tr["high"])
    bars = _gid(ax, "claim_intervals").get_segments()
    assert bars[1][1, 1] == pytest.approx(hi)  # "more than 1,000" runs to the top
    with pytest.raises(ValueError, match="`n_dates` must be a non-negative integer."):
        plotting.plot_trajectory(res, Q, n_dates=-1)


# ---------------------------------------------------------------- without matplotlib
def test_missing_matplotlib_message(res, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for call in (lambda: res.plot_forest(Q), lambda: res.plot_agreement(Q), lambda: res.plot_reliability(),
                 lambda: plotting.plot_forest(res, Q)):
        with pytest.raises(ImportError, match=r"plotting needs matplotlib: pip install 'credscore\[plot\]'\."):
            call()
    # importing credscore (and credscore.plotting) needs no matplotlib
    monkeypatch.delitem(sys.modules, "credscore.plotting")
    assert importlib.import_module("credscore.plotting").plot_forest

