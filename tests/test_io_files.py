"""Files people actually have (issue 14, items 3, 4, 6-11): encodings, delimiters, headers, line numbers."""

import csv
import io
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credscore import ClaimError, ClaimSet, SourcePriors
from credscore.claims import FIELDS
from credscore.priors import ADMIRALTY, Reliability


@pytest.fixture
def path(tmp_path):
    return tmp_path / "c.csv"


# ------------------------------------------------------- item 3: duplicates
def test_duplicated_column_is_an_error(path):
    path.write_text("quantity,source,value,value\nq,a,3,4\n")
    with pytest.raises(
        ClaimError, match=r"^line 1, field `value`: the column appears twice in the header \(columns 3 and 4\); give it once\.$"
    ) as info:
        ClaimSet.from_csv(path)
    assert (info.value.row, info.value.field, info.value.where) == (1, "value", "line")
    path.write_text("quantity,Source,value, source\nq,a,3,b\n")  # the same name up to case and spaces
    with pytest.raises(ClaimError, match=r"^line 1, field `source`: the column appears twice in the header \(columns 2 and 4\)"):
        ClaimSet.from_csv(path)


def test_duplicated_dataframe_column_is_an_error():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame([["q", "a", 3, 4]], columns=["quantity", "source", "value", "Value"])
    with pytest.raises(ClaimError, match=r"^field `value`: the column appears twice \(columns 3 and 4\); give it once\.$"):
        ClaimSet.from_dataframe(df)


def test_unnamed_column_is_an_error(path):
    path.write_text("quantity,,value\nq,a,3\n")
    with pytest.raises(ClaimError, match=r"^line 1: column 2 of the header has no name; name it or remove it\.$"):
        ClaimSet.from_csv(path)


# ------------------------------------------------------- item 11: header names
def test_header_names_ignore_case_and_surrounding_spaces(path):
    path.write_text(" Quantity , SOURCE,Value ,unit\ntroops,Kyiv,\"11,000\",soldiers\n")
    cs = ClaimSet.from_csv(path)
    assert cs.value.tolist() == [11000.0] and cs.precision.tolist() == [500.0] and cs.unit.tolist() == ["soldiers"]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({" Quantity": ["q"], "SOURCE ": ["a"], "Value": [3.0]})
    assert ClaimSet.from_dataframe(df).value.tolist() == [3.0]


# ------------------------------------------------------- items 6 and 7: encodings
def test_byte_order_mark_is_read(path):
    path.write_bytes(b"\xef\xbb\xbfquantity,source,value\r\nq,a,3\r\n")
    assert ClaimSet.from_csv(path).sources.tolist() == ["a"]
    # even when the caller names plain utf-8, the mark is not part of the first name
    assert len(ClaimSet.from_csv(path, encoding="utf-8")) == 1


def test_byte_order_mark_in_a_priors_file(path):
    path.write_bytes("\ufeffsource,admiralty\nNIS,B\n".encode("utf-8"))
    assert SourcePriors.from_csv(path).reliability_for("NIS") == ADMIRALTY["B"]


def test_non_utf8_bytes_name_the_file_and_the_physical_line(path):
    body = 'quantity,source,value,note\nq,a,3,"two\nlines"\nq,Caf\xe9,4,\n'.encode("cp1252")
    path.write_bytes(body)
    with pytest.raises(ClaimError) as info:
        ClaimSet.from_csv(path)
    msg = str(info.value)
    assert msg == (
        f"line 4 of {path} is not valid utf-8-sig text (byte e9 at character 6); "
        "pass `encoding=` with the file's encoding, e.g. encoding='cp1252' or 'latin-1'."
    )
    assert (info.value.row, info.value.where) == (4, "line")
    cs = ClaimSet.from_csv(path, encoding="cp1252")
    assert cs.sources.tolist() == ["a", "Café"]
    assert ClaimSet.from_csv(str(path), encoding="latin-1").note[0] == "two\nlines"


def test_unknown_encoding_is_a_claim_error(path):
    path.write_text("quantity,source,value\nq,a,3\n")
    with pytest.raises(ClaimError, match=r"^`encoding` must be a text encoding Python knows, e.g\. 'utf-8-sig' or 'cp1252'; got 'klingon'\.$"):
        ClaimSet.from_csv(path, encoding="klingon")


def test_priors_encoding_argument(path):
    path.write_bytes("source,admiralty\nCafé,A\n".encode("cp1252"))
    with pytest.raises(ClaimError, match=r"^line 2 of .* is not valid utf-8-sig text"):
        SourcePriors.from_csv(path)
    assert SourcePriors.from_csv(path, encoding="cp1252").reliability_for("Café") == ADMIRALTY["A"]


# ------------------------------------------------------- item 8: delimiters
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_detected(path, sep):
    path.write_text(sep.join(["quantity", "source", "value", "note"]) + "\n"
                    + sep.join(["q", "a", "3", '"x, y; z | w"']) + "\n" + sep.join(["q", "b", "4", ""]) + "\n")
    cs = ClaimSet.from_csv(path)
    assert cs.value.tolist() == [3.0, 4.0] and cs.note.tolist() == ["x, y; z | w", None]


def test_pipes_inside_comma_separated_values_do_not_fool_the_detection(path):
    path.write_text("quantity,source,value\nx|Temperature,a,3\ny|Humidity,b,4\n")
    assert ClaimSet.from_csv(path).quantities.tolist() == ["x|Temperature", "y|Humidity"]


def test_unrecognised_delimiter_says_what_the_header_looks_like(path):
    path.write_text("quantity:source:value\nq:a:3\n")
    with pytest.raises(
        ClaimError,
        match=r"^line 1, field `quantity:source:value`: `quantity:source:value` is not a claim field; the fields are "
        r"quantity, source, .*\. The header was read as one column: separate the columns with ',', ';', a tab or '\|'\.$",
    ):
        ClaimSet.from_csv(path)


def test_semicolon_priors_file(path):
    path.write_text("source;admiralty\nNIS;B\n")
    assert SourcePriors.from_csv(path).reliability_for("NIS") == ADMIRALTY["B"]


# ------------------------------------------------------- item 9: row length
def test_row_with_more_values_than_the_header(path):
    path.write_text("quantity,source,value\nq,a,3,4\n")
    with pytest.raises(ClaimError, match=r"^line 2 has 4 values, the header has 3\.$") as info:
        ClaimSet.from_csv(path)
    assert (info.value.row, info.value.where) == (2, "line")


def test_trailing_empty_cells_and_short_rows_state_nothing(path):
    path.write_text("quantity,source,value,note\nq,a,3,,\nq,b,4\n")
    cs = ClaimSet.from_csv(path)
    assert cs.value.tolist() == [3.0, 4.0] and cs.note.tolist() == [None, None]


# ------------------------------------------------------- item 10: physical lines
def test_errors_and_rows_count_physical_lines(path):
    path.write_text('quantity,source,value,note\nq,a,3,"one\ntwo"\n\nq,b,4,\nq,c,oops,\n')
    with pytest.raises(ClaimError, match=r"^line 6, field `value`: could not be parsed as a number: 'oops'\.$"):
        ClaimSet.from_csv(path)
    path.write_text('quantity,source,value,note\nq,a,3,"one\r\ntwo"\r\n\r\nq,b,4,\r\n')
    assert ClaimSet.from_csv(path).row.tolist() == [2, 5]
    # records, arrays and DataFrames keep the zero-based position
    assert ClaimSet.from_records([{"quantity": "q", "source": "a", "value": 1}] * 2).row.tolist() == [0, 1]


@settings(max_examples=40, deadline=None)
@given(
    sep=st.sampled_from([",", ";", "\t", "|"]),
    header=st.permutations(["quantity", "source", "value", "note"]),
    spell=st.lists(st.sampled_from(["lower", "upper", "title", "spaced"]), min_size=4, max_size=4),
    notes=st.lists(st.text(alphabet=' ab,;|\t"\n\r', max_size=8), min_size=1, max_size=6),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_dialect_reads_back_with_physical_rows(tmp_path_factory, sep, header, spell, notes, newline):
    if newline == "\n":  # Python < 3.12's csv.writer leaves a lone "\r" unquoted when lines end with "\n"
        notes = [n.replace("\r", "") for n in notes]
    spelled = [{"lower": h, "upper": h.upper(), "title": h.title(), "spaced": f" {h} "}[s] for h, s in zip(header, spell)]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(spelled)
    starts, line = [], 2
    for i, note in enumerate(notes):
        values = {"quantity": "q", "source": f"s{i}", "value": str(i + 1), "note": note}
        before = buf.tell()
        writer.writerow([values[h] for h in header])
        starts.append(line)
        written = buf.getvalue()[before:]
        line += len(re.findall(r"\r\n|\r|\n", written))
    p = tmp_path_factory.mktemp("d") / "c.csv"
    p.write_bytes(buf.getvalue().encode("utf-8"))
    cs = ClaimSet.from_csv(p)
    assert cs.value.tolist() == [float(i + 1) for i in range(len(notes))]
    assert cs.note.tolist() == [n.strip() or None for n in notes]
    assert cs.row.tolist() == starts


# ------------------------------------------------------- item 4: priors columns
def test_priors_unknown_column_is_an_error(path):
    path.write_text("source,grade\nNIS,B\n")
    with pytest.raises(
        ClaimError,
        match=r"^line 1, field `grade`: `grade` is not a priors column; the columns are source, source_kind, admiralty, "
        r"reliability_mean, reliability_strength, error_sigma, error_df, rationale, note\.$",
    ):
        SourcePriors.from_csv(path)
    path.write_text('source,admiralty,Rationale,note\nNIS,B,"why, in words",x\n')  # free text is allowed
    assert SourcePriors.from_csv(path).reliability_for("NIS") == ADMIRALTY["B"]


def test_priors_conflicting_columns_are_errors(path):
    path.write_text("source,admiralty,reliability_mean\nNIS,B,\nKyiv,B,0.7\n")
    with pytest.raises(
        ClaimError,
        match=r"^line 3, field `reliability_mean`: conflicts with `admiralty` \(a grade sets the reliability prior\); "
        r"give one of them\.$",
    ):
        SourcePriors.from_csv(path)
    path.write_text("source,admiralty,reliability_strength\nNIS,B,4\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `reliability_strength`: conflicts with `admiralty`"):
        SourcePriors.from_csv(path)
    path.write_text("source,reliability_strength\nNIS,4\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `reliability_strength`: needs a `reliability_mean`\.$"):
        SourcePriors.from_csv(path)
    path.write_text("source,reliability_mean,reliability_strength\nNIS,0.7,4,extra\n")
    with pytest.raises(ClaimError, match=r"^line 2 has 4 values, the header has 3\.$"):
        SourcePriors.from_csv(path)
    path.write_text("source,admiralty,Admiralty\nNIS,B,C\n")
    with pytest.raises(ClaimError, match=r"^line 1, field `admiralty`: the column appears twice"):
        SourcePriors.from_csv(path)


def test_priors_bad_numbers_name_their_field(path):
    path.write_text("Source, Reliability_Mean ,reliability_strength,error_sigma,error_df\nNIS,0.7,x,,\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `reliability_strength`: must be a number, got 'x'\.$"):
        SourcePriors.from_csv(path)
    path.write_text("source,reliability_mean,reliability_strength\nNIS,0.7,-1\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `reliability_strength`: `strength` must be positive and finite\.$"):
        SourcePriors.from_csv(path)
    path.write_text("source,reliability_mean\nNIS,1.5\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `reliability_mean`: `mean` must be in the half-open interval"):
        SourcePriors.from_csv(path)
    path.write_text("source,error_sigma,error_df\nNIS,0.1,-2\n")
    with pytest.raises(ClaimError, match=r"^line 2, field `error_df`: `df` must be positive\.$"):
        SourcePriors.from_csv(path)
    path.write_text("Source, Reliability_Mean \n\"NIS\n(Seoul)\",0.7\nKyiv,0.6\n")
    p = SourcePriors.from_csv(path)
    assert p.reliability_for("Kyiv") == Reliability(0.6, 10)


def test_fields_header_written_by_to_csv_reads_back(path):
    cs = ClaimSet.from_records([{"quantity": "q", "source": "a", "value": "1,500", "note": "x\ny"}])
    cs.to_csv(path)
    assert next(csv.reader(path.open(newline=""))) == list(FIELDS)
    back = ClaimSet.from_csv(path)
    assert back.to_records() == cs.to_records()
    np.testing.assert_array_equal(back.precision, cs.precision)


def test_bundled_seed_case_files_read():
    from pathlib import Path

    import credscore.datasets

    folder = Path(credscore.datasets.__file__).parent / "seed_case"
    assert len(ClaimSet.from_csv(folder / "claims.csv")) == 30
    assert len(SourcePriors.from_csv(folder / "sources.csv").sources) == 15  # its `rationale` column is free text
