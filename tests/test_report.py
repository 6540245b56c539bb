"""The HTML report (credscore.report, FusionResult.to_html, ``python -m credscore report``).

The structure is checked on the HTML text; the seed case's report is also
rendered by a real headless Chromium (installed by ``.ci/run`` from Debian's
packages): its DOM after the page's scripts ran, and a screenshot.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import credscore
from credscore import ClaimSet
from credscore.datasets import load_seed_case
from credscore.formatting import format_estimate_parts
from credscore.report import add_report_parser, dated_twice, to_html, write_report

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_MPL = False

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SECTION = re.compile(r'<section class="quantity" id="(q\d+)" data-quantity="([^"]*)">(.*?)</section>', re.S)


@pytest.fixture(scope="module")
def seed():
    """The seed case fitted as the report command fits it (dated claims: drift), and its page."""
    claims, priors = load_seed_case()
    result = credscore.fuse(claims, priors, dynamics="drift")
    return result, to_html(result, title="North Korean troops <seed case>")


def sections(page: str) -> dict[str, str]:
    found = SECTION.findall(page)
    out = {html.unescape(q): body for _, q, body in found}
    assert len(out) == len(found), "a quantity has two sections"
    return out


def small_result(**kw):
    return credscore.fuse([
        {"quantity": "troops", "source": "Kyiv", "value": "11,000", "unit": "soldiers"},
        {"quantity": "troops", "source": "blog", "value": "10,900"},
        {"quantity": "troops", "source": "NIS", "value": "1,500"},
    ], **kw)


# ------------------------------------------------------------------ structure (no browser)
def test_seed_page_is_self_contained(seed):
    _, page = seed
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert page.rstrip().endswith("</html>")
    assert not re.search(r"https?:", page, re.I)
    assert not re.search(r"\b(src|srcset|action)\s*=", page, re.I)
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"url\((?!#)", page)  # only references inside the page's own SVG
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids (two SVGs sharing a name)"


def test_seed_page_csp_allows_exactly_its_scripts(seed):
    _, page = seed
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2
    for s in scripts:
        digest = base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_seed_page_every_quantity_with_its_answer(seed):
    result, page = seed
    secs = sections(page)
    assert list(secs) == [str(q) for q in result.estimates["quantity"]]
    for i, (q, body) in enumerate(secs.items()):
        e = result.estimates.row(i)
        med, lo, hi = format_estimate_parts(e["median"], e["low"], e["high"])
        unit = f" {html.escape(e['unit'])}" if e["unit"] else ""
        assert f"<h2>{html.escape(q)}</h2>" in body
        if e.get("bound_side") is not None:  # known only by bounds: the text output's words, no median
            from credscore.bounds import format_bound
            said = format_bound(e["bound_side"], e["bound"], e["limit"], e["p_bound"], e["unit"])
            assert html.escape(said, quote=False) in body and 'class="median"' not in body
            continue
        assert f'About <span class="median">{med}</span>{unit}</strong>' in body
        assert f'<span class="interval">{lo} to {hi}</span>{unit}' in body
        assert f'{e["level"]:.0%} credible interval' in body
        assert body.count("<tr class=\"status-") == e["n_claims"]  # every claim listed
        assert f'<a href="#q{i + 1}">{html.escape(q)}</a>' in page  # in the at-a-glance table
    troops = secs["nk_troops_in_russia"]
    assert "10,900" in troops and "up to 10,000" in troops and "around 10,000" in troops
    assert "(repeat of #0, counted once)" in troops  # Zelensky relayed by two outlets
    assert "From 9 claims (8 distinct statements) by 8 sources." in troops


def test_seed_page_conflicts_in_words(seed):
    _, page = seed
    troops = sections(page)["nk_troops_in_russia"]
    conflict = troops.split("<h3>Conflicts</h3>")[1]
    # a drift fit judges each claim at its date (issue 14 item 16): NIS's 1,500 of 18 October no longer
    # conflicts with November's 11,000 (this page listed those three pairs before)
    assert conflict.startswith('<p class="conflict-score">The claims agree: no two claims of the same date '
                               'contradict each other')
    assert not re.findall(r'<li class="conflict-pair">(.*?)</li>', conflict)
    assert "<summary>Statistics</summary>" in conflict
    static = credscore.fuse(*load_seed_case())
    conflict = sections(to_html(static))["nk_troops_in_russia"].split("<h3>Conflicts</h3>")[1]
    assert conflict.startswith('<p class="conflict-score">3 pairs of claims cannot both be true')
    pairs = re.findall(r'<li class="conflict-pair">(.*?)</li>', conflict)
    assert len(pairs) == 3
    for p in pairs:  # NIS's 1,500 is the doubted claim of each pair, and the data believe the other
        assert p.startswith("<strong>NIS (South Korea)</strong> (#12) says 1,500; ")
        assert "a factor of" in p and "agreement 0.00" in p
        assert re.search(r"The data believe (Kyiv|Western officials|Diego Rodriguez \(blog\)) \(probability", p)
    single = sections(page)["nk_casualties_oct3"]  # one statement: no conflict section
    assert "<h3>Conflicts</h3>" not in single and "A single statement" in single


def test_seed_page_trajectories_only_where_dated_twice(seed):
    result, page = seed
    secs = sections(page)
    cs = result.claimset
    for q, body in secs.items():
        days = cs.date[cs.quantity == cs.quantity_index(q)]
        twice = np.unique(days[np.isfinite(days)]).size >= 2
        assert ("<h3>Over time</h3>" in body) == twice, q
    troops = secs["nk_troops_in_russia"]
    assert "Value over time (soldiers)" in troops
    assert troops.count("<td data-sort=\"2024-") == 9 + 6  # 9 dated claims + 6 trajectory dates


def test_seed_page_sources_table(seed):
    result, page = seed
    part = page.split('<section id="sources" class="sources">')[1]
    rows = re.findall(r"<tr><td>(.*?)</td>", part)
    assert sorted(rows) == sorted(html.escape(str(s)) for s in result.sources["source"])
    rel = np.asarray(result.sources["reliability"])
    assert html.escape(str(result.sources["source"][int(np.argmax(rel))])) == rows[0]  # most trusted first


@pytest.mark.skipif(not HAVE_MPL, reason="needs matplotlib (the plot extra)")
def test_seed_page_plots_inline_svg(seed):
    result, page = seed
    secs = sections(page)
    for q, body in secs.items():
        dated = "<h3>Over time</h3>" in body
        assert body.count("<svg ") == 1 + dated, q
        assert body.count('<figure class="forest">') == 1
        assert f">{html.escape(q)}</text>" in body  # the forest plot's title, as SVG text
    assert page.count("<svg ") == len(secs) + 2 + 1  # + 2 trajectories + the reliability chart
    assert "$\\mathdefault" not in page  # log tick labels rendered, not shown as TeX source
    assert "<metadata>" not in page and "xmlns" not in page


HOSTILE = [
    {"quantity": "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">", "source": 'Bob & "Co" <b>',
     "value": "2,000", "unit": "</td><script>bad()</script>", "reported_by": "it's <i>",
     "note": "<script>document.body.setAttribute('data-pwned','2')</script>", "date": "2024-10-01"},
    {"quantity": "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">", "source": "$ sign $ name",
     "value": "2,100", "date": "2024-10-05"},
    {"quantity": "$ spent $", "source": "A", "value": "5", "unit": "$"},
    {"quantity": "$ spent $", "source": "B", "value": "50"},
]


@pytest.fixture(scope="module")
def hostile_page():
    return to_html(credscore.fuse(HOSTILE, dynamics="drift"), title="<title>&amp;")


def test_user_text_is_escaped(hostile_page):
    page = hostile_page
    for r in HOSTILE:
        for field in ("quantity", "source", "unit", "reported_by", "note"):
            text = r.get(field)
            if text and any(ch in text for ch in "<>&\"'"):
                assert text not in page, field
                assert html.escape(text) in page, field
    assert "<script>bad()" not in page and "<b>" not in page and "<i>" not in page
    assert "<title>&lt;title&gt;&amp;amp;</title>" in page
    assert len(re.findall(r"<script>", page)) == 2


@pytest.mark.skipif(not HAVE_MPL, reason="needs matplotlib (the plot extra)")
def test_dollars_in_names_are_drawn_as_text(hostile_page):
    body = sections(hostile_page)["$ spent $"]
    assert body.count("<svg ") == 1
    assert ">$ spent $</text>" in body and "\\$" not in body


def test_without_matplotlib(monkeypatch):
    res = small_result()
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    page = to_html(res)
    assert "<svg" not in page
    assert ("Plots need matplotlib (pip install &#x27;credscore[plot]&#x27;); the tables give the same "
            "numbers.") in page
    assert 'data-quantity="troops"' in page and "<h3>Conflicts</h3>" in page
    with pytest.raises(ImportError, match=r"plots in the report need matplotlib: pip install 'credscore\[plot\]'\."):
        to_html(res, plots=True)
    assert "Plots need matplotlib" not in to_html(res, plots=False)  # tables asked for: no note


def test_arguments_are_checked():
    res = small_result()
    with pytest.raises(ValueError, match=r"^`top` must be a positive integer; got 0\.$"):
        to_html(res, top=0)
    with pytest.raises(ValueError, match=r"^`max_claims` must be a positive integer; got 1\.5\.$"):
        to_html(res, max_claims=1.5)
    with pytest.raises(ValueError, match=r"^`max_plots` must be a non-negative integer; got -1\.$"):
        to_html(res, max_plots=-1)


def test_limits_on_claims_and_plots():
    res = small_result()
    page = to_html(res, plots=False, max_claims=1)
    body = sections(page)["troops"]
    assert body.count('<tr class="status-') == 1
    assert "… and 2 more claims." in body
    if HAVE_MPL:
        assert "<svg" not in to_html(res, max_plots=0)


def test_delegate_write_and_determinism(tmp_path):
    res = small_result()
    page = res.to_html(plots=False, title="T")
    assert page == to_html(res, plots=False, title="T")
    path = write_report(res, tmp_path / "r.html", plots=False, title="T")
    assert path.read_text(encoding="utf-8") == page
    if HAVE_MPL:
        assert to_html(res) == to_html(res)  # same plots, same ids: the page is reproducible


def test_dated_twice():
    one = ClaimSet.from_records([{"quantity": "q", "source": "a", "value": 1, "date": "2024-10-01"},
                                 {"quantity": "p", "source": "b", "value": 2, "date": "2024-10-02"},
                                 {"quantity": "q", "source": "c", "value": 3, "date": "2024-10-01"}])
    assert not dated_twice(one)
    assert not dated_twice(ClaimSet.from_records([{"quantity": "q", "source": "a", "value": 1}]))
    assert dated_twice(load_seed_case()[0])


# ------------------------------------------------------------------ command line
CLAIMS_CSV = """quantity,source,kind,value,date,unit
troops,Kyiv,point,"11,000",2024-11-08,soldiers
troops,blog,point,"10,900",2024-11-21,soldiers
troops,NIS,point,"1,500",2024-10-18,soldiers
pay,NIS,point,2000,,USD/month
"""
PRIORS_CSV = "source,admiralty\nNIS,B\nKyiv,C\nblog,E\n"


def cli(argv):
    parser = argparse.ArgumentParser(prog="credscore")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "claims.csv").write_text(CLAIMS_CSV, encoding="utf-8")
    (tmp_path / "priors.csv").write_text(PRIORS_CSV, encoding="utf-8")
    return tmp_path


def test_cli_writes_the_report(files, capsys):
    out = files / "report.html"
    code = cli(["report", str(files / "claims.csv"), "--priors", str(files / "priors.csv"), "--out", str(out),
                "--no-plots"])
    assert code == 0
    msg = capsys.readouterr()
    assert msg.out == f"credscore: wrote {out} (2 quantities, 4 claims; values over time (drift))\n"
    page = out.read_text(encoding="utf-8")
    assert list(sections(page)) == ["troops", "pay"]
    assert "<title>credscore report: claims.csv</title>" in page
    assert "<h3>Over time</h3>" in sections(page)["troops"] and "<svg" not in page
    assert "Trust before" in page and "85%" in page  # NIS graded B


def test_cli_relayed_repeat_names_the_counted_row(files):
    """A relayed repeat points at the row that counted, in the labels the table shows (CSV lines)."""
    (files / "relay.csv").write_text("quantity,source,kind,value,reported_by\nq,Z,upper,10000,DW\n"
                                     "q,Kyiv,point,11000,\nq,Z,upper,10000,BBC\n", encoding="utf-8")
    out = files / "relay.html"
    assert cli(["report", str(files / "relay.csv"), "--out", str(out), "--no-plots"]) == 0
    page = out.read_text(encoding="utf-8")
    rows = re.findall(r'<td data-sort="[^"]*">#(\d+)</td><td>Z</td>', page)
    assert len(rows) == 2
    assert f"(repeat of #{rows[0]}, counted once)" in page


def test_cli_static_title_level_and_monotone(files, capsys):
    out = files / "r.html"
    assert cli(["report", str(files / "claims.csv"), "--out", str(out), "--static", "--level", "0.5",
                "--title", "Troops & pay", "--no-plots"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<h3>Over time</h3>" not in page and "<h1>Troops &amp; pay</h1>" in page
    assert "50% credible interval" in page
    assert capsys.readouterr().out.endswith("(2 quantities, 4 claims)\n")
    assert cli(["report", str(files / "claims.csv"), "--out", str(out), "--monotone", "troops", "--no-plots"]) == 0
    assert "<h3>Over time</h3>" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["--out", "{d}/missing/r.html"], "`--out`: the directory {d}/missing does not exist"),
    (["--out", "{d}"], "`--out`: {d} is a directory; give a file name."),
    (["--out", "{d}/r.html", "--level", "1.5"], "`level` must be in the open interval (0, 1)."),
    (["--out", "{d}/r.html", "--monotone", "nope"], "`--monotone`: 'nope' is not a quantity of {d}/claims.csv."),
    (["--out", "{d}/r.html", "--monotone", "troops", "--static"], "`--monotone` needs the drift model"),
    (["--out", "{d}/r.html", "--priors", "{d}/none.csv"], "`--priors`: no such file: {d}/none.csv."),
])
def test_cli_errors(files, capsys, argv, message):
    d = str(files)
    code = cli(["report", str(files / "claims.csv"), *[a.format(d=d) for a in argv]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("credscore: error: ") and message.format(d=d) in err
    assert not (files / "r.html").exists()


def test_cli_checks_the_output_before_reading(files, capsys):
    (files / "bad.csv").write_text("quantity,source,value\nq,a,oops\n", encoding="utf-8")
    code = cli(["report", str(files / "bad.csv"), "--out", str(files / "no" / "r.html")])
    assert code == 2 and "`--out`" in capsys.readouterr().err
    code = cli(["report", str(files / "bad.csv"), "--out", str(files / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and "could not be parsed as a number: 'oops'" in err


def test_registered_in_the_command_line(files):
    from credscore.__main__ import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "report" not in sub.choices:
        pytest.skip("the report command is not registered in credscore.__main__ yet (add_report_parser(sub))")
    from credscore.__main__ import main

    out = files / "main.html"
    assert main(["report", str(files / "claims.csv"), "--out", str(out), "--no-plots"]) == 0
    assert 'data-quantity="troops"' in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------ in a real browser
def chromium(tmp_path, name, *args):
    profile = tmp_path / f"profile-{name}"
    profile.mkdir()
    proc = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@needs_chromium
def test_seed_report_in_chromium_dom(seed, tmp_path):
    result, page = seed
    path = tmp_path / "seed.html"
    path.write_text(page, encoding="utf-8")
    dom = chromium(tmp_path, "dom", "--dump-dom", path.as_uri())
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-report-script="ok"' in body, body  # the page's script ran to its end
    assert "data-script-errors" not in re.search(r"<html[^>]*>", dom).group(0)  # nothing on the page raised
    assert f'data-quantities-rendered="{len(result.estimates)}"' in body
    rendered = re.findall(r'<section class="quantity" id="q\d+" data-quantity="([^"]*)">', dom)
    assert [html.unescape(q) for q in rendered] == [str(q) for q in result.estimates["quantity"]]
    for q in result.estimates["quantity"]:
        assert f"<h2>{html.escape(str(q))}</h2>" in dom
    if HAVE_MPL:
        assert dom.count("<svg ") == page.count("<svg ")


@needs_chromium
def test_seed_report_in_chromium_screenshot(seed, tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="reading the screenshot needs Pillow (a matplotlib dependency)")
    _, page = seed
    path = tmp_path / "seed.html"
    path.write_text(page, encoding="utf-8")
    shot = tmp_path / "seed.png"
    chromium(tmp_path, "shot", f"--screenshot={shot}", "--window-size=1200,1800", "--hide-scrollbars", path.as_uri())
    with Image.open(shot) as im:
        px = np.asarray(im.convert("RGB"))
    assert px.shape == (1800, 1200, 3)
    colours = np.unique(px.reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the screenshot is (nearly) one colour"
    background = np.all(px == 255, axis=2)
    assert 0.02 < 1 - background.mean() < 0.6  # text, tables and the first plot on a white page
    assert background[0, 0]


@needs_chromium
def test_hostile_names_run_nothing_in_chromium(hostile_page, tmp_path):
    path = tmp_path / "hostile.html"
    path.write_text(hostile_page, encoding="utf-8")
    dom = chromium(tmp_path, "hostile", "--dump-dom", path.as_uri())
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-report-script="ok"' in body and "data-pwned" not in body
    assert "data-script-errors" not in re.search(r"<html[^>]*>", dom).group(0)


@needs_chromium
def test_chromium_check_sees_script_errors(tmp_path, monkeypatch):
    """The DOM checks above can fail: a page whose script raises is caught by the guard."""
    import credscore.report as report

    monkeypatch.setattr(report, "_SCRIPT", 'document.body.setAttribute("data-report-script", "ok"); null.x;')
    path = tmp_path / "broken.html"
    path.write_text(to_html(small_result(), plots=False), encoding="utf-8")
    dom = chromium(tmp_path, "broken", "--dump-dom", path.as_uri())
    assert "data-script-errors=" in re.search(r"<html[^>]*>", dom).group(0)
