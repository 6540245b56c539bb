"""The command line (issue 14 items 13, 19, 22, 24, 25): run in-process through credscore.__main__.main."""

from __future__ import annotations

import csv
import inspect
import io
import sys
from pathlib import Path

import numpy as np
import pytest

import credscore
import credscore.__main__ as cli
from credscore import QuantityPrior
from credscore.methods import evaluation

CLAIMS = """quantity,source,value,date
troops,NIS,"1,500",2024-10-18
troops,Kyiv,"11,000",2024-11-08
troops,blog,"10,900",2024-11-05
troops,officials,"10,000",2024-11-01
ships,navy,12,
ships,blog,14,
"""


@pytest.fixture
def claims_csv(tmp_path):
    p = tmp_path / "claims.csv"
    p.write_text(CLAIMS, encoding="utf-8")
    return p


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- item 13: outputs checked before the fit
def test_out_into_missing_directory_fails_before_fitting(claims_csv, tmp_path, capsys, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("fuse must not run")

    monkeypatch.setattr(cli, "fuse", boom)
    target = tmp_path / "missing" / "estimates.csv"
    code, out, err = run(capsys, "fuse", claims_csv, "--out", target)
    assert code == 2 and out == ""
    assert err == (f"credscore: error: `--out`: the directory {target.parent} does not exist; create it first "
                   f"(mkdir -p {target.parent}) or write elsewhere.\n")
    assert not target.parent.exists()


@pytest.mark.parametrize("option", ["--out", "--claims-out"])
def test_out_that_is_a_directory_fails(claims_csv, tmp_path, capsys, option):
    code, out, err = run(capsys, "fuse", claims_csv, option, tmp_path)
    assert code == 2
    assert err == f"credscore: error: `{option}`: {tmp_path} is a directory; give a file name.\n"


def test_missing_input_file(tmp_path, capsys):
    code, _, err = run(capsys, "fuse", tmp_path / "nope.csv")
    assert code == 2 and err == f"credscore: error: `file`: no such file: {tmp_path / 'nope.csv'}.\n"


def test_trajectory_out_needs_drift(claims_csv, tmp_path, capsys):
    code, _, err = run(capsys, "fuse", claims_csv, "--trajectory-out", tmp_path / "t.csv")
    assert code == 2 and "`--trajectory-out` needs the drift model (--drift)." in err


# ---------------------------------------------------------------- item 22: what fuse prints
def test_fuse_without_out_prints_every_claim(claims_csv, capsys):
    code, out, err = run(capsys, "fuse", claims_csv)
    assert code == 0 and err == ""
    assert "NIS" in out and "Kyiv" in out  # the claim lines
    assert out == credscore.fuse(credscore.ClaimSet.from_csv(claims_csv)).summary() + "\n"


def test_fuse_with_out_prints_the_summary_only_and_writes_the_table(claims_csv, tmp_path, capsys):
    target = tmp_path / "e.csv"
    code, out, err = run(capsys, "fuse", claims_csv, "--out", target)
    assert code == 0
    assert "NIS" not in out and "Kyiv" not in out
    summary = credscore.fuse(credscore.ClaimSet.from_csv(claims_csv)).summary(max_claims=0)
    assert out == summary + f"\nwrote estimates to {target}\n"
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["quantity"] for r in rows] == ["troops", "ships"]
    assert set(credscore.fuse(credscore.ClaimSet.from_csv(claims_csv)).estimates.columns) == set(rows[0])


def test_fuse_full_summary_quiet(claims_csv, tmp_path, capsys):
    full = run(capsys, "fuse", claims_csv, "--full", "--out", tmp_path / "e.csv")[1]
    summary = run(capsys, "fuse", claims_csv, "--summary")[1]
    quiet = run(capsys, "fuse", claims_csv, "--quiet", "--out", tmp_path / "e2.csv", "--claims-out",
                tmp_path / "c.csv")[1]
    assert "Kyiv" in full and "Kyiv" not in summary
    assert len(summary.splitlines()) < len(full.splitlines())
    assert quiet == ""
    rows = list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8")))
    assert [r["source"] for r in rows] == ["NIS", "Kyiv", "blog", "officials", "navy", "blog"]
    assert "p_accurate" in rows[0]


def test_full_summary_quiet_are_exclusive(claims_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fuse", str(claims_csv), "--quiet", "--full"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    import time

    with cli.Progress("fusing 5 claims", stream=tty, after=0.0) as p:
        time.sleep(0.2)
    with cli.Progress("fusing 5 claims", stream=pipe, after=0.0):
        time.sleep(0.2)
    assert p.shown and "\rcredscore: fusing 5 claims... 0 s" in tty.getvalue()
    assert tty.getvalue().endswith("\r")  # the line is cleared at the end
    assert pipe.getvalue() == ""


def test_fuse_warnings_reach_stderr_once_as_plain_lines(claims_csv, capsys, monkeypatch):
    import warnings

    def noisy(claims, priors=None, **kw):
        for _ in range(3):
            warnings.warn("stopped after 7 iterations", credscore.ConvergenceWarning)
        return credscore.fuse(claims, priors)

    monkeypatch.setattr(cli, "fuse", noisy)
    code, _, err = run(capsys, "fuse", claims_csv, "--quiet")
    assert code == 0 and err == "credscore: warning: stopped after 7 iterations\n"


def test_fuse_stderr_is_empty_when_not_a_terminal(claims_csv, capsys):
    assert run(capsys, "fuse", claims_csv, "--quiet")[2] == ""


# every keyword of credscore.fuse and the option that reaches it
FUSE_OPTIONS = {"claims": "file", "priors": "--priors", "level": "--level", "quantity_priors": "--quantity-priors",
                "learn_reliability": "--learn", "detect_copies": "--detect-copies", "max_iter": "--max-iter",
                "tol": "--tol", "diagnostics": "--no-diagnostics", "grid_size": "--grid-size",
                "robust_grid_size": "--robust-grid-size", "dynamics": "--drift", "dates": "--dates"}


def test_help_reaches_every_fuse_option_and_lists_columns_and_examples(capsys):
    with pytest.raises(SystemExit):
        cli.main(["fuse", "--help"])
    text = capsys.readouterr().out
    assert set(inspect.signature(credscore.fuse).parameters) == set(FUSE_OPTIONS)
    for option in FUSE_OPTIONS.values():
        assert option in text
    for extra in ("--scale", "--monotone", "--drift-scale", "--shared-drift", "--quiet", "--summary", "--full",
                  "--claims-out", "--trajectory-out", "examples:", "python -m credscore fuse claims.csv"):
        assert extra in text
    assert "quantity, low, high, mean, sd" in text
    assert ", ".join(cli.SOURCE_PRIOR_FIELDS) in text
    squashed = " ".join(text.split())
    assert ", ".join(credscore.claims.FIELDS) in squashed


def test_options_reach_fuse(claims_csv, tmp_path, capsys, monkeypatch):
    seen = {}
    real = cli.fuse

    def spy(claims, priors=None, **kw):
        seen.update(kw, claims=claims)
        return real(claims, priors, **kw)

    monkeypatch.setattr(cli, "fuse", spy)
    qp = tmp_path / "qp.csv"
    qp.write_text("quantity,low,high,mean,sd\nships,1,100,,\ntroops,,,\"5,000\",0.5\n", encoding="utf-8")
    code, out, err = run(capsys, "fuse", claims_csv, "--learn", "no", "--detect-copies", "--max-iter", 7,
                         "--tol", 1e-3, "--no-diagnostics", "--grid-size", 64, "--robust-grid-size", 256,
                         "--quantity-priors", qp, "--monotone", "troops", "--dates", "2024-10-01,2024-11-30",
                         "--level", 0.8, "--scale", "ships=linear", "--trajectory-out", tmp_path / "t.csv")
    assert code == 0, err
    assert seen["learn_reliability"] is False and seen["detect_copies"] is True
    assert (seen["max_iter"], seen["tol"], seen["diagnostics"]) == (7, 1e-3, False)
    assert (seen["grid_size"], seen["robust_grid_size"], seen["level"]) == (64, 256, 0.8)
    assert seen["quantity_priors"] == {"ships": QuantityPrior(low=1, high=100), "troops": QuantityPrior(mean=5000, sd=0.5)}
    assert seen["dynamics"] == credscore.Drift(monotone=["troops"])
    assert seen["dates"] == ["2024-10-01", "2024-11-30"]
    assert list(seen["claims"].log_scale) == [True, False]
    rows = list(csv.DictReader((tmp_path / "t.csv").open(encoding="utf-8")))
    assert {"2024-10-01", "2024-11-30"} <= {r["date"] for r in rows}


def test_learn_yes_and_drift_defaults(claims_csv, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "fuse", lambda claims, priors=None, **kw: seen.update(kw) or credscore.fuse(claims, priors))
    run(capsys, "fuse", claims_csv, "--learn", "yes", "--drift", "--quiet")
    assert seen["learn_reliability"] is True and seen["dynamics"] == credscore.Drift()
    run(capsys, "fuse", claims_csv, "--quiet")
    assert seen["learn_reliability"] == "auto" and seen["dynamics"] == "static" and seen["dates"] is None


@pytest.mark.parametrize("scale, expected", [("linear", ["linear", "linear"]), ("log", ["log", "log"]),
                                             ("troops=linear", ["linear", "log"])])
def test_scale(claims_csv, tmp_path, capsys, scale, expected):
    out = tmp_path / "e.csv"
    assert run(capsys, "fuse", claims_csv, "--scale", scale, "--out", out)[0] == 0
    assert [r["scale"] for r in csv.DictReader(out.open(encoding="utf-8"))] == expected


def test_scale_mixed_forms_is_an_error(claims_csv, capsys):
    code, _, err = run(capsys, "fuse", claims_csv, "--scale", "linear", "--scale", "ships=log")
    assert code == 2
    assert err == ("credscore: error: `--scale` must be given once as log, linear or auto, "
                   "or as QUANTITY=SCALE pairs.\n")


@pytest.mark.parametrize("text, message", [
    ("quantity,lo\nships,1\n", "line 1, field `lo`: {p}: `lo` is not a quantity-prior column; the columns are "
                               "quantity, low, high, mean, sd."),
    ("low,high\n1,2\n", "line 1, field `quantity`: {p}: the header needs a `quantity` column."),
    ("quantity,low,high\nships,1,x\n", "line 2, field `high`: {p}: could not be parsed as a number: 'x'."),
    ("quantity,low,high\nships,5,1\n", "line 2, field `low`: {p}: `low` must be less than `high`."),
    ("quantity,mean\nships,5\n", "line 2, field `mean`: {p}: `mean` and `sd` must be given together."),
    ("quantity,low\nships,1\nships,2\n", "line 3, field `quantity`: {p}: quantity 'ships' has a prior already."),
    ("quantity,low,high\nships,1\n", "{p}: line 2 has 2 values, the header has 3."),
    ("quantity,low\nboats,1\n", "`--quantity-priors`: 'boats' is not a quantity of {c}."),
])
def test_quantity_priors_errors(claims_csv, tmp_path, capsys, text, message):
    p = tmp_path / "qp.csv"
    p.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "fuse", claims_csv, "--quantity-priors", p)
    assert code == 2 and out == ""
    assert err == "credscore: error: " + message.format(p=p, c=claims_csv) + "\n"


def test_quantity_priors_with_bom_and_blank_lines(tmp_path):
    p = tmp_path / "qp.csv"
    p.write_text("\ufeffQuantity, Low ,high\n\nships,1,100\n", encoding="utf-8")
    assert cli.read_quantity_priors(str(p)) == {"ships": QuantityPrior(low=1, high=100)}


def test_bad_level_is_a_usage_error(claims_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fuse", str(claims_csv), "--level", "1.5"])
    assert exc.value.code == 2 and "`level` must be in the open interval (0, 1)." in capsys.readouterr().err


def test_bad_claims_file_message(tmp_path, capsys):
    p = tmp_path / "c.csv"
    p.write_text("quantity,source,value\nq,a,oops\n", encoding="utf-8")
    code, _, err = run(capsys, "fuse", p)
    assert code == 2 and err.startswith("credscore: error: ") and "line 2" in err and "`value`" in err


# ---------------------------------------------------------------- item 19: the conflicts in words
def test_conflicts_list_real_conflicts_first_in_words():
    # the static fit of the seed case (the demo now judges the dated troop claims at their dates, where
    # 1,500 on 18 October no longer conflicts with November's 11,000: test_demo_judges_claims_at_their_dates)
    section = cli.conflicts_text(credscore.fuse(*credscore.datasets.load_seed_case()))
    lines = [ln for ln in section.splitlines() if ln.startswith("  ")]
    first, verdict = lines[0], lines[1]
    assert first.startswith("  NIS (South Korea) (row 12) says 1,500; ")
    agreement = float(first.rsplit("(agreement ", 1)[1].rstrip(")."))
    assert agreement < 0.2
    assert "a factor of 7.3 apart" in first
    assert verdict.startswith("    The data believe ") and "against 0.99 for NIS (South Korea)" in verdict
    assert "agreement 1.00" not in section
    assert "No conflicting claims about: nk_troops_potential." in section


def test_demo_judges_claims_at_their_dates(capsys):
    """Issue 14 item 16: the troop count drifts (the data's choice, printed), and the 1,500 stated on
    18 October is judged against the trajectory's value on that date, not called wild."""
    code, out, _ = run(capsys, "demo")
    assert code == 0
    troops = out[out.index("nk_troops_in_russia: "):out.index("nk_casualties_oct3")]
    assert "(the value changes over time (chosen by the data, Bayes factor " in troops
    nis = next(ln for ln in troops.splitlines() if "1,500" in ln and "NIS" in ln)
    assert nis.split()[0] == "holds" and "wild" not in nis
    p = float(nis.split("p=")[1].split()[0])
    assert p > 0.5  # was 0.01 against the static estimate
    assert "(a fixed value: the data do not favour a drifting one, Bayes factor" in out  # nk_troops_potential
    section = out[out.index("Conflicts:"):out.index("Trajectory")]
    assert "No conflicting claims.\n" in section  # none of the same date
    moved = section[section.index("Claims of different dates about a value that changes over time"):]
    assert "NIS (South Korea) (row 12) says 1,500 on 2024-10-18; " in moved  # shown, as explained by the change
    trajectory = out[out.index("Trajectory"):]
    row = next(ln for ln in trajectory.splitlines() if ln.startswith("2024-10-18"))
    low, high = (float(v.replace(",", "")) for v in row.split("[")[1].split("]")[0].split(", "))
    assert low <= 1500 <= high  # the trajectory passes near the claim on its date


def test_conflicts_text_cannot_tell_and_linear_difference():
    res = credscore.fuse([{"quantity": "t", "source": "a", "value": 10.0, "se": 1, "scale": "linear"},
                          {"quantity": "t", "source": "b", "value": 90.0, "se": 1, "scale": "linear"}])
    text = cli.conflicts_text(res)
    assert "  a (row 0) says 10; b (row 1) says 90: 80 apart (agreement 0.00)." in text
    assert "    The data cannot tell which is right: probability of being wild 0.56 for a, 0.56 for b." in text


def test_conflicts_text_when_all_agree():
    res = credscore.fuse([{"quantity": "t", "source": "a", "value": "10,900"},
                          {"quantity": "t", "source": "b", "value": "11,000"}])
    text = cli.conflicts_text(res)
    assert "No conflicting claims.\n" in text and "No conflicting claims about: t." in text
    assert cli.conflict_pairs(res, "t") == []


def test_conflict_pairs_skip_relayed_repeats():
    res = credscore.fuse([{"quantity": "t", "source": "a", "value": "1,500", "reported_by": "x"},
                          {"quantity": "t", "source": "a", "value": "1,500", "reported_by": "y"},
                          {"quantity": "t", "source": "b", "value": "11,000"},
                          {"quantity": "t", "source": "c", "value": "10,900"}])
    pairs = cli.conflict_pairs(res, "t")
    assert sorted((p["a"]["row"], p["b"]["row"]) for p in pairs) == [(0, 2), (0, 3)]
    assert all(p["believed"] == "b" for p in pairs)


# ---------------------------------------------------------------- item 24: compare
COMPARE_CLAIMS = "quantity,source,value\nq1,a,10\nq1,b,12\nq1,c,100\nq2,a,20\nq2,b,21\nq2,c,22\nq3,a,5\n"


@pytest.fixture
def compare_files(tmp_path):
    c, t = tmp_path / "claims.csv", tmp_path / "truth.csv"
    c.write_text(COMPARE_CLAIMS, encoding="utf-8")
    t.write_text("quantity,value\nq1,11\nq2,20\nzz,4\n", encoding="utf-8")
    return c, t


def test_compare_prints_the_table_and_writes_markdown(compare_files, tmp_path, capsys):
    c, t = compare_files
    md = tmp_path / "table.md"
    code, out, err = run(capsys, "compare", c, "--truth", t, "--methods", "median,mean,credscore", "--scale", "linear",
                         "--out", md, "--no-charts")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ("3 methods on 7 claims about 3 quantities; 2 with a truth (1 truths about quantities "
                        "without claims ignored); intervals at level 0.9.")
    assert lines[2] == "| method | scored | MAE | RMSE | coverage 90% | mean width | seconds | status |"
    median = next(ln for ln in lines if ln.startswith("| median |"))
    assert median.startswith("| median | 2 | 1 | 1 |")  # |12 - 11| and |21 - 20|
    assert median.endswith("| ok |")
    assert any(ln.startswith("| credscore | 2 |") and ln.endswith("| ok |") for ln in lines)
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Methods compared on claims.csv")
    assert lines[2] in text


def test_compare_runs_every_registered_method_by_default(compare_files, capsys):
    c, t = compare_files
    code, out, _ = run(capsys, "compare", c, "--truth", t, "--no-charts")
    assert code == 0
    shown = {ln.split("|")[1].strip() for ln in out.splitlines() if ln.startswith("| ") and "---" not in ln}
    assert set(credscore.methods.available()) <= shown


def test_compare_reads_the_truth_discovery_format(tmp_path, capsys):
    c, t = tmp_path / "claims.csv", tmp_path / "truth.csv"
    c.write_text("object,source,value,raw\nq1,a,10,ten\nq1,b,12,twelve\nq1,c,100,x\n", encoding="utf-8")
    t.write_text("object,value,raw_gold\nq1,11,eleven\n", encoding="utf-8")
    code, out, err = run(capsys, "compare", c, "--truth", t, "--methods", "median", "--scale", "linear")
    assert code == 0
    assert err == "credscore: note: read `object` as the quantity; ignored the columns raw.\n"
    assert "| median | 1 | 1 | 1 |" in out


def test_compare_truth_errors(compare_files, tmp_path, capsys):
    c, _ = compare_files
    t = tmp_path / "t.csv"
    t.write_text("name,value\nq1,3\n", encoding="utf-8")
    code, _, err = run(capsys, "compare", c, "--truth", t)
    assert code == 2
    assert err == (f"credscore: error: line 1: {t}: a truth file needs the columns quantity,value (or object,value); "
                   "got name,value.\n")
    t.write_text("quantity,value\nq1,3\nq1,4\n", encoding="utf-8")
    assert "line 3, field `quantity`" in run(capsys, "compare", c, "--truth", t)[2]
    t.write_text("quantity,value\nq1,abc\n", encoding="utf-8")
    assert "line 2, field `value`" in run(capsys, "compare", c, "--truth", t)[2]
    t.write_text("quantity,value\nother,1\n", encoding="utf-8")
    assert "no quantity of" in run(capsys, "compare", c, "--truth", t)[2]


def test_compare_unknown_method_and_missing_out_dir(compare_files, tmp_path, capsys):
    c, t = compare_files
    code, _, err = run(capsys, "compare", c, "--truth", t, "--methods", "median,nope")
    assert code == 2 and "`--methods` must be among mean, median" in err and "got 'nope'." in err
    code, _, err = run(capsys, "compare", c, "--truth", t, "--out", tmp_path / "no" / "t.md")
    assert code == 2 and "`--out`: the directory" in err


def test_compare_charts(compare_files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    c, t = compare_files
    code, out, _ = run(capsys, "compare", c, "--truth", t, "--methods", "median,mean", "--charts", tmp_path)
    assert code == 0
    png = tmp_path / "compare-claims.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {png}" in out


def test_harness_uses_the_shared_code():
    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import harness
    finally:
        sys.path.remove(str(bench))
    assert harness.COLS is evaluation.COLUMNS
    assert harness.fit_method is evaluation.fit_method and harness.plot_scores is evaluation.plot_scores
    cs = credscore.ClaimSet.from_arrays(["q", "q", "q"], ["a", "b", "c"], [10.0, 12.0, 100.0], scales="linear")
    fit = evaluation.fit_method("median", cs)
    assert harness.metrics(fit.estimates, np.array([11.0]), cs, None, None) == \
        evaluation.score(fit.estimates, np.array([11.0]), cs, level=harness.LEVEL)


def test_score_by_hand():
    cs = credscore.ClaimSet.from_arrays(["p", "q"], ["a", "a"], [1.0, 2.0], scales="linear")
    est = {"estimate": np.array([1.0, 4.0]), "low": np.array([0.0, 3.0]), "high": np.array([2.0, 5.0])}
    s = evaluation.score(est, np.array([1.5, 2.0]), cs, level=0.9)
    assert s["mae"] == pytest.approx(1.25) and s["rmse"] == pytest.approx(np.sqrt((0.25 + 4) / 2))
    assert s["coverage"] == 0.5 and s["width"] == 2.0
    assert s["interval_score"] == pytest.approx((2 + 2 + 2 / 0.1 * 1.0) / 2)
    assert evaluation.score(est, np.array([np.nan, np.nan]), cs) == {"n_truth": 0, "n_missing": 0}


# ---------------------------------------------------------------- item 25
def test_import_credscore_exposes_datasets():
    import importlib
    import subprocess

    code = "import credscore; c, p = credscore.datasets.load_seed_case(); print(len(c) > 0, callable(credscore.datasets.make_synthetic))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "True True"
    assert importlib.import_module("credscore.datasets") is credscore.datasets


def test_fuse_of_the_seed_tuple_says_to_unpack_it():
    with pytest.raises(TypeError, match=r"^`claims` is a tuple of ClaimSet, SourcePriors, as load_seed_case\(\) "
                                        r"returns: unpack it, `claims, priors = load_seed_case\(\)`, then call "
                                        r"fuse\(claims, priors\)\.$"):
        credscore.fuse(credscore.datasets.load_seed_case())


def test_dates_need_drift_and_monotone_all(claims_csv, capsys, monkeypatch):
    code, _, err = run(capsys, "fuse", claims_csv, "--dates", "2024-10-01")
    assert code == 2 and err == "credscore: error: `--dates` needs the drift model (--drift).\n"
    seen = {}
    monkeypatch.setattr(cli, "fuse", lambda claims, priors=None, **kw: seen.update(kw) or credscore.fuse(claims, priors))
    assert run(capsys, "fuse", claims_csv, "--monotone", "all", "--drift-scale", "0.05", "--shared-drift", "-q")[0] == 0
    assert seen["dynamics"] == credscore.Drift(monotone=True, scale=0.05, shared=True)
