"""The `attribute` of a claim: the family its quantity belongs to (issue 11, item 1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credscore import ClaimError, ClaimSet
from credscore.claims import FIELDS, Claim
from credscore.datasets.truth_discovery import load_dataset


def rec(**kw):
    base = {"quantity": "q", "source": "a", "value": 3}
    base.update(kw)
    return base


def labels_per_claim(cs):
    return cs.attributes[cs.attribute].tolist()


def test_attribute_is_a_field_of_claims_and_records():
    assert "attribute" in FIELDS
    assert Claim("q", "a", value=1, attribute="population").attribute == "population"
    assert Claim("q", "a", value=1).to_record()["attribute"] is None


def test_attributes_in_order_of_first_appearance_one_per_quantity():
    cs = ClaimSet.from_records([
        rec(quantity="f1|dep", attribute="dep"),
        rec(quantity="f1|arr", attribute="arr"),
        rec(quantity="f2|dep", source="b", attribute="dep"),
        rec(quantity="f2|dep", source="c"),  # the quantity's attribute is named by another claim
        rec(quantity="f2|arr", attribute="arr"),
    ])
    assert cs.attributes.tolist() == ["dep", "arr"]
    assert cs.attributes.dtype.kind == "U"
    assert cs.quantity_attribute.dtype == np.int64
    assert cs.quantity_attribute.tolist() == [0, 1, 0, 1]
    assert cs.attribute.tolist() == [0, 1, 0, 0, 1]
    assert not cs.quantity_attribute.flags.writeable


def test_default_attribute_is_unit_and_scale():
    cs = ClaimSet.from_records([
        rec(quantity="berlin", value=3_600_000, unit="persons"),
        rec(quantity="paris", value=2_100_000, unit="persons"),
        rec(quantity="paris", source="b", value=2_000_000),  # the first stated unit counts
        rec(quantity="temp", value=-3.5),
        rec(quantity="temp2", value=-1.0),
        rec(quantity="score", value=3, scale="linear", unit="points"),
        rec(quantity="troops", value=11000, attribute="troops"),
    ])
    assert cs.attributes.tolist() == ["persons (log)", "(linear)", "points (linear)", "troops"]
    assert labels_per_claim(cs) == ["persons (log)"] * 3 + ["(linear)"] * 2 + ["points (linear)", "troops"]
    # a unitless positive quantity on the log scale
    assert ClaimSet.from_records([rec()]).attributes.tolist() == ["(log)"]


def test_conflicting_attributes_name_the_row_and_field():
    with pytest.raises(
        ClaimError,
        match=r"^record 2, field `attribute`: quantity 'q' is given attributes 'a' and 'b'; "
        r"a quantity belongs to one attribute\.$",
    ):
        ClaimSet.from_records([rec(attribute="a"), rec(source="b"), rec(source="c", attribute="b")])
    with pytest.raises(ClaimError, match=r"^row 1, field `attribute`: quantity 'q' is given attributes 'x' and 'y'"):
        ClaimSet.from_arrays(["q", "q"], ["a", "b"], [1.0, 2.0], attribute=["x", "y"])


def test_from_arrays_attribute_scalar_array_and_missing():
    cs = ClaimSet.from_arrays(["a|t", "b|t", "a|h"], ["s", "s", "s"], [1.0, 2.0, 3.0],
                              attribute=["temp", "temp", "hum"])
    assert cs.attributes.tolist() == ["temp", "hum"] and cs.quantity_attribute.tolist() == [0, 0, 1]
    cs = ClaimSet.from_arrays(["a", "b"], ["s", "s"], [1.0, 2.0], attribute="population")
    assert cs.attributes.tolist() == ["population"] and cs.attribute.tolist() == [0, 0]
    cs = ClaimSet.from_arrays(["a", "b", "c"], ["s", "s", "s"], [1.0, -2.0, 3.0], attribute=[None, "", np.nan])
    assert labels_per_claim(cs) == ["(log)", "(linear)", "(log)"]


def test_attribute_round_trips_through_records_csv_claims_and_subset(tmp_path):
    cs = ClaimSet.from_records([
        rec(quantity="p", value=100, unit="persons"),
        rec(quantity="p", source="b", value=120),
        rec(quantity="t", value=-3, attribute="Temperature"),
        rec(quantity="u", value=4, attribute="Temperature"),
    ])
    records = cs.to_records()
    assert [r["attribute"] for r in records] == ["persons (log)", "persons (log)", "Temperature", "Temperature"]
    assert ClaimSet.from_records(records).to_records() == records
    assert ClaimSet.from_claims(list(cs)).to_records() == records
    out = tmp_path / "c.csv"
    cs.to_csv(out)
    assert out.read_text().splitlines()[0].split(",")[-1] == "attribute"
    back = ClaimSet.from_csv(out)
    assert back.attributes.tolist() == cs.attributes.tolist()
    np.testing.assert_array_equal(back.quantity_attribute, cs.quantity_attribute)
    assert back.to_records() == records
    # subset keeps the attribute, even when the claim that stated the unit is dropped
    sub = cs.subset([1, 3])
    assert labels_per_claim(sub) == ["persons (log)", "Temperature"]


def test_attribute_column_in_csv_and_dataframe(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("quantity,source,value,Attribute\nx|T,a,3,T\nx|T,b,4,\ny|H,a,50,H\n")
    cs = ClaimSet.from_csv(p)
    assert labels_per_claim(cs) == ["T", "T", "H"]
    p.write_text("quantity,source,value,attribute\nx,a,3,T\nx,b,4,H\n")
    with pytest.raises(ClaimError, match=r"^line 3, field `attribute`: quantity 'x' is given attributes 'T' and 'H'"):
        ClaimSet.from_csv(p)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"quantity": ["x", "y"], "source": ["a", "a"], "value": [1.0, 2.0], "attribute": ["T", np.nan]})
    assert labels_per_claim(ClaimSet.from_dataframe(df)) == ["T", "(log)"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["s0", "s1", "s2"]), st.integers(1, 1000)),
        min_size=1, max_size=30,
    ),
    st.lists(st.sampled_from(["A", "B", "C", None]), min_size=6, max_size=6),
    st.data(),
)
def test_each_quantity_keeps_its_attribute_through_records_and_subsets(rows, attr_of_q, data):
    # the attribute is stated on any non-empty subset of a quantity's claims (or on none)
    records = []
    for q, s, v in rows:
        stated = attr_of_q[q] is not None and data.draw(st.booleans())
        records.append({"quantity": f"q{q}", "source": s, "value": v, "attribute": attr_of_q[q] if stated else None})
    cs = ClaimSet.from_records(records)
    per_q = dict(zip(cs.quantities.tolist(), cs.attributes[cs.quantity_attribute].tolist()))
    for q in range(6):
        if f"q{q}" not in per_q:
            continue
        named = any(r["attribute"] for r in records if r["quantity"] == f"q{q}")
        assert per_q[f"q{q}"] == (attr_of_q[q] if named else "(log)")
    # attributes in order of first appearance
    order = list(dict.fromkeys(per_q[r["quantity"]] for r in records))
    assert cs.attributes.tolist() == order
    keep = data.draw(st.lists(st.integers(0, len(cs) - 1), min_size=1, unique=True))
    sub = cs.subset(sorted(keep))
    assert labels_per_claim(sub) == [labels_per_claim(cs)[i] for i in sorted(keep)]


# --------------------------------------------------------------- loaders
def _write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.csv").write_text(text)


def test_loaders_set_the_attribute(tmp_path):
    _write(tmp_path / "weather", "object,source,value,attribute\nx|Humidity,s,89,Humidity\nx|Pressure,s,30.06,Pressure\n"
           "y|Humidity,t,80,Humidity\n")
    d = load_dataset("weather", tmp_path)
    assert d.claims.attributes.tolist() == ["Humidity", "Pressure"]
    assert d.attribute.tolist() == ["Humidity", "Pressure", "Humidity"]
    assert load_dataset("weather", tmp_path, attribute="Pressure").claims.attributes.tolist() == ["Pressure"]
    _write(tmp_path / "flight", "object,source,value\nAA-1|act_dep_time,s,600\nAA-1|act_arr_time,s,700\n")
    (tmp_path / "flight" / "claims_nogold.csv").write_text((tmp_path / "flight" / "claims.csv").read_text())
    assert load_dataset("flight", tmp_path).claims.attributes.tolist() == ["act_dep_time", "act_arr_time"]
    _write(tmp_path / "population", 'object,source,value,year\n"moville, iowa_2000",c1,1583,2000\nx_2000,c2,0,2000\n')
    d = load_dataset("population", tmp_path)
    assert d.claims.attributes.tolist() == ["population"] and d.attribute.tolist() == ["population"] * 2
    _write(tmp_path / "bcg", "object,source,value,se,vi\nbcg_log_rr,1: A,-0.88,0.57,0.32\nbcg_log_rr,2: B,-1.5,0.44,0.19\n")
    assert load_dataset("bcg", tmp_path).claims.attributes.tolist() == ["log_rr"]
