"""The command line's CSV readers (quantity priors, truths, truth-discovery claims) are credscore.io's
record reader: the same delimiters, encodings, header rules and line numbers as the claims files."""

from __future__ import annotations

import numpy as np
import pytest

import credscore.__main__ as cli
from credscore import ClaimError, QuantityPrior
from credscore.cli_compare import read_claims, read_truth
from credscore.io import read_csv_records


def test_quantity_priors_semicolons_bom_and_thousands(tmp_path):
    p = tmp_path / "qp.csv"
    p.write_bytes("\ufeffQuantity; LOW ;high\nships;1;\"10,000\"\n".encode("utf-8"))
    assert cli.read_quantity_priors(str(p)) == {"ships": QuantityPrior(low=1, high=10000)}


def test_truth_file_semicolons_and_european_numbers(tmp_path):
    t = tmp_path / "truth.csv"
    t.write_text("object;value;note\nq1;1,234;x\nq2;7;y\n", encoding="utf-8")
    truth, unknown = read_truth(t, ["q2", "q1"])
    np.testing.assert_array_equal(truth, [7.0, 1234.0])
    assert unknown == []
    t.write_text("quantity,value\nq1,\"1,5\"\n", encoding="utf-8")  # was read as 15
    with pytest.raises(ClaimError, match=r"line 2, field `value`: .*could not be parsed as a number: '1,5'"):
        read_truth(t, ["q1"])
    t.write_text("quantity,value\n\"q\n1\",3\nq2\n", encoding="utf-8")  # a quoted newline: physical lines
    with pytest.raises(ClaimError, match=r"line 4 has 1 value, the header has 2\."):
        read_truth(t, ["q1"])


def test_truth_discovery_claims_errors_name_the_physical_line(tmp_path):
    c = tmp_path / "claims.csv"
    c.write_text("Object\tsource\tvalue\traw\nq1\ta\t10\tx\nq1\tb\toops\ty\n", encoding="utf-8")
    with pytest.raises(ClaimError, match=r"^line 3, field `value`: could not be parsed as a number: 'oops'"):
        read_claims(c)
    c.write_text("Object\tsource\tvalue\traw\nq1\ta\t10\tx\nq1\tb\t12\ty\n", encoding="utf-8")
    cs, ignored = read_claims(c, scales="linear")
    assert ignored == ["raw"] and cs.row.tolist() == [2, 3] and cs.quantities.tolist() == ["q1"]


def test_reader_options(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1\n", encoding="utf-8")
    assert [r for _, r in read_csv_records(p, None)] == [{"a": "1"}]
    with pytest.raises(ClaimError, match=r"x\.csv: line 2 has 1 value, the header has 2\."):
        list(read_csv_records(p, None, strict=True, name_file=True))
    with pytest.raises(ClaimError, match=r"`b` is not a thing; the columns are a\."):
        read_csv_records(p, ("a",), what="a thing")
