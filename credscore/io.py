"""Reading and writing claims: records, CSV files and DataFrames.

All input goes through one validator, :func:`_claims_iv`, which builds the
columnar :class:`~credscore.claims.ClaimSet` and raises
:class:`~credscore.exceptions.ClaimError` naming the row and the field of the
first bad value. Nothing is dropped: every input row becomes a claim.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from .claims import (
    APPROX,
    APPROX_WIDENING,
    FIELDS,
    KINDS,
    LOWER,
    POINT,
    RANGE,
    SCALES,
    UPPER,
    ClaimSet,
    date_to_days,
    days_to_date,
    parse_number,
)
from .exceptions import ClaimError
from .text import merge_text_fields, parse_claim_text

__all__ = [
    "claims_from_records",
    "claims_from_csv",
    "claims_from_dataframe",
    "claims_to_records",
    "claims_to_csv",
]

_NUMERIC = ("value", "low", "high", "se", "precision")
_TEXT = ("reported_by", "unit", "note", "source_kind", "attribute")
#: Input-only column: a hedged phrase ("up to 10,000") read by
#: :func:`credscore.text.parse_claim_text` in place of kind/value/low/high.
TEXT_FIELD = "text"
_INPUT_FIELDS = FIELDS + (TEXT_FIELD,)


def _absent(x: Any, nan_is_absent: bool) -> bool:
    if x is None:
        return True
    if isinstance(x, str) and x.strip() == "":
        return True
    if nan_is_absent:
        try:
            return bool(x != x)  # NaN, NaT
        except (TypeError, ValueError):
            return False
    return False


class _Row:
    """Accessor for one input record that raises ClaimError with its position."""

    def __init__(self, record: Mapping[str, Any], pos: int, where: str, nan_is_absent: bool, decimal: str | None = None):
        self.record = record
        self.pos = pos
        self.where = where
        self.nan_is_absent = nan_is_absent
        self.decimal = decimal

    def error(self, field: str | None, message: str) -> ClaimError:
        return ClaimError(message, row=self.pos, field=field, where=self.where)

    def get(self, field: str) -> Any:
        x = self.record.get(field)
        return None if _absent(x, self.nan_is_absent) else x

    def text(self, field: str) -> str | None:
        x = self.get(field)
        return None if x is None else str(x).strip()

    def number(self, field: str) -> tuple[float, float] | None:
        x = self.get(field)
        if x is None:
            return None
        try:
            value, half = parse_number(x, decimal=self.decimal)
        except ValueError as exc:
            raise self.error(field, str(exc)) from None
        if not math.isfinite(value):
            raise self.error(field, f"must be finite, got {value!r}.")
        return value, half

    def statement(self) -> tuple[dict[str, tuple[float, float] | None], str | None]:
        """The numeric fields (value, half-width) and the kind: as given, or read from the `text` phrase.

        A phrase and the kind/value/low/high given beside it must agree.
        """
        nums = {f: self.number(f) for f in _NUMERIC}
        kind = self.text("kind")
        phrase = self.get(TEXT_FIELD)
        if phrase is None:
            return nums, kind
        given = {f: self.get(f) for f in ("kind", "value", "low", "high") if self.get(f) is not None}
        try:
            parsed = merge_text_fields(parse_claim_text(phrase, decimal=self.decimal), given, decimal=self.decimal)
        except ValueError as exc:
            raise self.error(TEXT_FIELD, str(exc)) from None
        for f in ("value", "low", "high"):
            if parsed[f] is not None:
                half = parsed["precision"] if f == "value" and parsed["precision"] is not None else 0.0
                nums[f] = (parsed[f], half)
        return nums, parsed["kind"]


def _resolve_scale_arg(scales: Any) -> tuple[str, dict[str, str]]:
    if scales is None:
        return "auto", {}
    if isinstance(scales, str):
        if scales not in SCALES + ("auto",):
            raise ClaimError(f"`scales` must be 'auto', 'log', 'linear' or a mapping; got {scales!r}.")
        return scales, {}
    if isinstance(scales, Mapping):
        out = {}
        for q, s in scales.items():
            if s not in SCALES:
                raise ClaimError(f"`scales` for quantity {q!r} must be 'log' or 'linear'; got {s!r}.")
            out[str(q)] = s
        return "auto", out
    raise ClaimError(f"`scales` must be 'auto', 'log', 'linear' or a mapping; got {type(scales).__name__}.")


def _claims_iv(
    records: Iterable[Mapping[str, Any]],
    scales: Any = None,
    where: str = "row",
    first: int = 0,
    nan_is_absent: bool = False,
    numbered: bool = False,
    decimal: str | None = None,
) -> ClaimSet:
    """Validate records and build a ClaimSet (the one input-validation function).

    Each record's position is ``first`` plus its index, or, with
    ``numbered=True``, given by the input as ``(position, record)`` pairs.
    """
    default_scale, scale_map = _resolve_scale_arg(scales)
    if decimal not in (None, ".", ","):
        raise ClaimError(f"`decimal` must be '.', ',' or None; got {decimal!r}.")
    cols: dict[str, list] = {k: [] for k in ("q", "s", "r", "kind", *_NUMERIC, "half", "date", *_TEXT, "scale", "pos")}
    items = records if numbered else enumerate(records, start=first)
    for pos, record in items:
        if not isinstance(record, Mapping):
            raise ClaimError(f"must be a mapping of field names to values, got {type(record).__name__}.", row=pos, where=where)
        row = _Row(record, pos, where, nan_is_absent, decimal)
        unknown = set(record) - set(_INPUT_FIELDS)
        if unknown:
            raise row.error(sorted(unknown)[0], f"is not a claim field; the fields are {', '.join(_INPUT_FIELDS)}.")
        q, s = row.text("quantity"), row.text("source")
        if not q:
            raise row.error("quantity", "is missing.")
        if not s:
            raise row.error("source", "is missing.")
        nums, kind = row.statement()
        if kind is None:
            kind = "range" if (nums["low"] is not None or nums["high"] is not None) and nums["value"] is None else "point"
        kind = kind.lower()
        if kind not in KINDS:
            raise row.error("kind", f"must be one of {', '.join(repr(k) for k in KINDS)}; got {kind!r}.")
        k = KINDS.index(kind)
        if k == RANGE:
            for f in ("low", "high"):
                if nums[f] is None:
                    raise row.error(f, "is missing for a claim of kind 'range'.")
            if nums["low"][0] > nums["high"][0]:
                raise row.error("low", f"must not exceed `high` ({nums['low'][0]:g} > {nums['high'][0]:g}).")
            if nums["precision"] is not None:
                raise row.error("precision", "applies to `value`; a 'range' claim states `low` and `high`.")
        else:
            if nums["value"] is None:
                raise row.error("value", f"is missing for a claim of kind {kind!r}.")
            for f in ("low", "high"):
                if nums[f] is not None:
                    raise row.error(f, f"is only used by 'range' claims; this claim is {kind!r}.")
        if nums["se"] is not None and nums["se"][0] <= 0:
            raise row.error("se", f"must be positive, got {nums['se'][0]:g}.")
        if nums["precision"] is not None and nums["precision"][0] < 0:
            raise row.error("precision", f"must be non-negative, got {nums['precision'][0]:g}.")
        scale = row.text("scale")
        if scale is not None and scale not in SCALES:
            raise row.error("scale", f"must be 'log' or 'linear'; got {scale!r}.")
        try:
            day = date_to_days(row.get("date"))
        except ValueError as exc:
            raise row.error("date", str(exc)) from None
        value = nums["value"][0] if nums["value"] else math.nan
        if nums["precision"] is not None:
            half = nums["precision"][0]
        elif k in (POINT, APPROX):
            half = nums["value"][1]
        else:
            half = 0.0
        if k == APPROX:
            half = half + APPROX_WIDENING * abs(value)
        cols["q"].append(q)
        cols["s"].append(s)
        cols["r"].append(row.text("reported_by"))
        cols["kind"].append(k)
        for f in _NUMERIC:
            cols[f].append(nums[f][0] if nums[f] else math.nan)
        cols["half"].append(half)
        cols["date"].append(day)
        for f in _TEXT:
            cols[f].append(row.text(f))
        cols["scale"].append(scale)
        cols["pos"].append(pos)
    else:
        if not cols["q"]:
            raise ClaimError("no claims were given; at least one is needed.")
    return _assemble(cols, default_scale, scale_map, where)


def _codes(labels: list) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes in order of first appearance, and the label array."""
    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(x, len(index)) for x in labels), dtype=np.int64, count=len(labels))
    out = np.empty(len(index), dtype=object)
    out[:] = list(index)
    return codes, out


def _one_label_per_group(values: list, group: np.ndarray, n: int, skip: np.ndarray | None = None):
    """The first label given per group (None where none), and the first row giving a different one (-1).

    Rows whose label is None, or where ``skip`` is True, take no part.
    """
    vals = np.array(values, dtype=object)
    given = ~np.equal(vals, None)
    if skip is not None:
        given &= ~skip
    rows = np.flatnonzero(given)
    out = np.full(n, None, dtype=object)
    if len(rows) == 0:
        return out, -1
    codes, labels = _codes(list(vals[rows]))
    g = group[rows]
    groups, first = np.unique(g, return_index=True)
    first_code = np.full(n, -1, dtype=np.int64)
    first_code[groups] = codes[first]
    out[groups] = labels[codes[first]]
    mismatch = np.flatnonzero(codes != first_code[g])
    return out, (int(rows[mismatch[0]]) if len(mismatch) else -1)


def _assemble(cols: dict[str, list], default_scale: str, scale_map: dict[str, str], where: str) -> ClaimSet:
    pos = np.asarray(cols["pos"], dtype=np.int64)
    qcode, quantities = _codes(cols["q"])
    scode, sources = _codes(cols["s"])
    has_r = np.array([r is not None for r in cols["r"]])
    rcode_all, reporters_all = _codes([r for r in cols["r"] if r is not None])
    rcode = np.full(len(pos), -1, dtype=np.int64)
    rcode[has_r] = rcode_all
    kind = np.asarray(cols["kind"], dtype=np.int8)
    value, low, high, se = (np.asarray(cols[f], dtype=float) for f in ("value", "low", "high", "se"))
    half = np.asarray(cols["half"], dtype=float)

    # --- one scale per quantity: explicit mapping > rows' `scale` > default
    nq = len(quantities)
    mapped = np.isin(quantities.astype(str), list(scale_map)) if scale_map else np.zeros(nq, dtype=bool)
    declared, bad_row = _one_label_per_group(cols["scale"], qcode, nq, skip=mapped[qcode])
    if bad_row >= 0:
        qi = qcode[bad_row]
        raise ClaimError(
            f"quantity {quantities[qi]!r} is declared both {declared[qi]!r} and {cols['scale'][bad_row]!r}.",
            row=int(pos[bad_row]), field="scale", where=where,
        )
    for name, sc in scale_map.items():  # once per entry of the caller's mapping
        declared[quantities.astype(str) == name] = sc
    numbers = np.where(kind == RANGE, low, value)
    positive = np.ones(nq, dtype=bool)
    np.logical_and.at(positive, qcode, (numbers > 0) & ((kind != RANGE) | (high > 0)))
    effective = np.where(np.equal(declared, None), default_scale, declared)
    log_scale = np.where(effective == "auto", positive, effective == "log")
    quantity_attribute, attributes = _attributes(cols, qcode, quantities, log_scale, pos, where)

    # --- statement interval in natural units
    lower_bound = np.select(
        [kind == RANGE, kind == UPPER, kind == LOWER], [low, np.full_like(value, -np.inf), value], value - half
    )
    upper_bound = np.select(
        [kind == RANGE, kind == UPPER, kind == LOWER], [high, value, np.full_like(value, np.inf)], value + half
    )
    logq = log_scale[qcode]
    bad = logq & ~(numbers > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        f = "low" if kind[i] == RANGE else "value"
        raise ClaimError(
            f"must be positive on a log-scale quantity ({quantities[qcode[i]]!r}), got {numbers[i]:g}.",
            row=int(pos[i]), field=f, where=where,
        )
    bad = logq & (kind <= APPROX) & ~(lower_bound > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ClaimError(
            f"makes the interval reach {lower_bound[i]:g}, but quantity {quantities[qcode[i]]!r} is on a log scale "
            f"and needs positive values; give a smaller precision or scale='linear'.",
            row=int(pos[i]), field="precision", where=where,
        )
    precision = np.where(kind <= APPROX, half, 0.0)
    lower_bound = np.where(logq & (kind == UPPER), 0.0, lower_bound)

    # --- one kind per source
    source_kinds, bad_row = _one_label_per_group(cols["source_kind"], scode, len(sources))
    if bad_row >= 0:
        si = scode[bad_row]
        raise ClaimError(
            f"source {sources[si]!r} is given kinds {source_kinds[si]!r} and {cols['source_kind'][bad_row]!r}; "
            f"a source has one kind.",
            row=int(pos[bad_row]), field="source_kind", where=where,
        )

    evidence = _evidence_index(qcode, scode, kind, lower_bound, upper_bound, se)
    obj = lambda name: np.array(cols[name], dtype=object)  # noqa: E731
    return ClaimSet(
        quantities=quantities.astype(str) if len(quantities) else quantities,
        sources=sources.astype(str),
        reporters=reporters_all.astype(str) if len(reporters_all) else np.array([], dtype=str),
        quantity=qcode,
        source=scode,
        reporter=rcode,
        kind=kind,
        value=value,
        low=low,
        high=high,
        se=se,
        precision=precision,
        lower_bound=lower_bound,
        upper_bound=upper_bound,
        date=np.asarray(cols["date"], dtype=float),
        unit=obj("unit"),
        note=obj("note"),
        log_scale=log_scale,
        attributes=attributes.astype(str),
        quantity_attribute=quantity_attribute,
        source_kinds=source_kinds,
        row=pos,
        evidence=evidence,
    )


def _attributes(cols, qcode, quantities, log_scale, pos, where) -> tuple[np.ndarray, np.ndarray]:
    """Per-quantity attribute codes and the attribute labels (order of first appearance).

    A quantity takes the ``attribute`` its claims name (one per quantity); a
    quantity whose claims name none takes ``"<unit> (<scale>)"`` from its first
    stated unit and its scale, or ``"(<scale>)"`` without a unit.
    """
    nq = len(quantities)
    named, bad_row = _one_label_per_group(cols["attribute"], qcode, nq)
    if bad_row >= 0:
        qi = qcode[bad_row]
        raise ClaimError(
            f"quantity {quantities[qi]!r} is given attributes {named[qi]!r} and {cols['attribute'][bad_row]!r}; "
            f"a quantity belongs to one attribute.",
            row=int(pos[bad_row]), field="attribute", where=where,
        )
    missing = np.flatnonzero(np.equal(named, None))
    if len(missing):
        units, _ = _one_label_per_group(cols["unit"], qcode, nq)
        ucode, ulabels = _codes(list(units[missing]))
        keys, inverse = np.unique(2 * ucode + log_scale[missing].astype(np.int64), return_inverse=True)
        labels = np.empty(len(keys), dtype=object)
        for j, key in enumerate(keys.tolist()):  # once per distinct (unit, scale)
            unit, scale = ulabels[key // 2], ("log" if key % 2 else "linear")
            labels[j] = f"({scale})" if unit is None else f"{unit} ({scale})"
        named[missing] = labels[inverse.ravel()]
    return _codes(list(named))


def _evidence_index(qcode, scode, kind, lo, hi, se) -> np.ndarray:
    """Index of the first identical statement (same quantity, source, kind, bounds, se)."""
    n = len(qcode)
    key = np.rec.fromarrays(
        [qcode, scode, kind.astype(np.int64), np.nan_to_num(lo, nan=0.5), np.nan_to_num(hi, nan=0.5), np.nan_to_num(se, nan=-1.0)]
    )
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.ones(n, dtype=bool)
    new[1:] = sk[1:] != sk[:-1]
    group_first = order[np.flatnonzero(new)][np.cumsum(new) - 1]
    evidence = np.empty(n, dtype=np.int64)
    evidence[order] = group_first
    return evidence


# ---------------------------------------------------------------- frontends


def claims_from_records(records: Iterable[Mapping[str, Any]], scales: Any = None, decimal: str | None = None) -> ClaimSet:
    """Build a ClaimSet from dicts; see :meth:`ClaimSet.from_records`."""
    if isinstance(records, (str, bytes)) or not isinstance(records, Iterable):
        raise ClaimError(f"`records` must be an iterable of mappings, got {type(records).__name__}.")
    return _claims_iv(records, scales=scales, where="record", decimal=decimal)


def claims_from_arrays(
    quantity: Any,
    source: Any,
    value: Any = None,
    *,
    kind: Any = None,
    low: Any = None,
    high: Any = None,
    se: Any = None,
    precision: Any = 0.0,
    reported_by: Any = None,
    source_kind: Any = None,
    attribute: Any = None,
    scales: Any = None,
) -> ClaimSet:
    """Build a ClaimSet from equal-length arrays (vectorized validation); see :meth:`ClaimSet.from_arrays`."""
    quantity = np.asarray(quantity)
    n = len(quantity)
    if n == 0:
        raise ClaimError("no claims were given; at least one is needed.")

    def arr(name, x, fill):
        if x is None:
            return np.full(n, fill, dtype=float)
        a = np.broadcast_to(np.asarray(x, dtype=float), (n,)).astype(float)
        return a

    def text(name, x):
        if x is None:
            return [None] * n
        a = np.broadcast_to(np.asarray(x, dtype=object), (n,))
        return [None if (v is None or (isinstance(v, float) and math.isnan(v)) or v == "") else str(v) for v in a]

    source = np.asarray(source)
    if len(source) != n:
        raise ClaimError(f"`source` has {len(source)} entries but `quantity` has {n}.")
    v, lo, hi, s_e = arr("value", value, np.nan), arr("low", low, np.nan), arr("high", high, np.nan), arr("se", se, np.nan)
    prec = arr("precision", precision, 0.0)
    for name, a in (("value", v), ("low", lo), ("high", hi), ("se", s_e), ("precision", prec)):
        bad = np.isinf(a) | (np.isnan(a) & (name == "precision"))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ClaimError(f"must be finite, got {a[i]!r}.", row=i, field=name)
    if kind is None:
        k = np.where(np.isnan(v) & ~np.isnan(lo), RANGE, POINT).astype(np.int8)
    else:
        kind_a = np.broadcast_to(np.asarray(kind, dtype=object), (n,))
        lookup = {name: i for i, name in enumerate(KINDS)}
        k = np.empty(n, dtype=np.int8)
        for name in set(kind_a.tolist()):  # once per distinct kind label
            if name not in lookup:
                i = int(np.flatnonzero(kind_a == name)[0])
                raise ClaimError(f"must be one of {', '.join(repr(x) for x in KINDS)}; got {name!r}.", row=i, field="kind")
            k[kind_a == name] = lookup[name]
    checks = [
        ((k != RANGE) & np.isnan(v), "value", "is missing for a claim of kind {kind}."),
        ((k == RANGE) & np.isnan(lo), "low", "is missing for a claim of kind 'range'."),
        ((k == RANGE) & np.isnan(hi), "high", "is missing for a claim of kind 'range'."),
        ((k == RANGE) & (lo > hi), "low", "must not exceed `high`."),
        (~np.isnan(s_e) & ~(s_e > 0), "se", "must be positive."),
        (prec < 0, "precision", "must be non-negative."),
    ]
    for bad, field, msg in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ClaimError(msg.format(kind=repr(KINDS[k[i]])), row=i, field=field)
    qs = [str(x) for x in quantity.tolist()]
    ss = [str(x) for x in source.tolist()]
    if any(x == "" for x in qs):
        raise ClaimError("is missing.", row=qs.index(""), field="quantity")
    if any(x == "" for x in ss):
        raise ClaimError("is missing.", row=ss.index(""), field="source")
    half = np.where(k == APPROX, prec + APPROX_WIDENING * np.abs(v), np.where(k <= APPROX, prec, 0.0))
    cols = {
        "q": qs, "s": ss, "r": text("reported_by", reported_by), "kind": k,
        "value": v, "low": lo, "high": hi, "se": s_e, "precision": prec, "half": half,
        "date": np.full(n, np.nan), "reported_by": None, "unit": [None] * n, "note": [None] * n,
        "source_kind": text("source_kind", source_kind), "attribute": text("attribute", attribute),
        "scale": [None] * n, "pos": np.arange(n),
    }
    return _assemble(cols, *_resolve_scale_arg(scales), "row")


#: Delimiters recognised in CSV files, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _line_error(message: str, line: int) -> ClaimError:
    """A ClaimError about a whole line, whose message names the line itself."""
    exc = ClaimError(message)
    exc.row, exc.where = line, "line"
    return exc


def _read_text(path: Any, encoding: str) -> str:
    """The decoded text of a file; a decoding error names the file and the physical line."""
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ClaimError(f"`encoding` must be a text encoding Python knows, e.g. 'utf-8-sig' or 'cp1252'; got {encoding!r}.") from None
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode(encoding, errors="replace")
        line = len(_NEWLINE.findall(before)) + 1
        column = len(before) - max(before.rfind("\n"), before.rfind("\r"))
        bad = data[exc.start : exc.end].hex(" ")
        raise _line_error(
            f"line {line} of {path} is not valid {encoding} text (byte {bad} at character {column}); "
            f"pass `encoding=` with the file's encoding, e.g. encoding='cp1252' or 'latin-1'.",
            line,
        ) from None


def _header_key(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def _choose_delimiter(header_line: str, sample: str, fields: tuple[str, ...]) -> str:
    """The delimiter among :data:`DELIMITERS` that splits the header into the most known names.

    On a tie (e.g. a one-column header) :class:`csv.Sniffer` decides from the
    sample, and ``,`` when it cannot.
    """
    scores = {}
    for d in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=d), [])
        scores[d] = sum(_header_key(c) in fields for c in cells)
    best = max(scores.values())
    tied = [d for d in DELIMITERS if scores[d] == best]
    if len(tied) == 1:
        return tied[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = ","
    return sniffed if sniffed in tied else tied[0]


class CsvRecords:
    """The records of a delimited text file, as :func:`read_csv_records` reads them.

    Iterating gives ``(line, record)`` pairs: ``line`` is the physical line
    (header = 1) on which the record starts, ``record`` maps the header names
    (lower-cased, stripped) to the cells as written. ``names`` are those
    header names, ``shown`` the header cells as written (byte-order mark and
    spaces removed), ``header_line`` the header's line.
    """

    def __init__(self, reader, names: list[str], shown: list[str], header_line: int, strict: bool, prefix: str):
        self._reader, self.names, self.shown, self.header_line = reader, names, shown, header_line
        self._strict, self._prefix = strict, prefix

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader, width = self._reader, len(self.names)
        last = reader.line_num
        for cells in reader:
            start, last = last + 1, reader.line_num
            if not cells:
                continue  # blank lines state nothing
            used = len(cells)
            while used > width and cells[used - 1].strip() == "":
                used -= 1  # trailing empty cells (a trailing delimiter) state nothing
            if used > width or (self._strict and used < width):
                raise _line_error(f"{self._prefix}line {start} has {used} value{'s' if used != 1 else ''}, "
                                  f"the header has {width}.", start)
            yield start, dict(zip(self.names, cells))


def read_csv_records(path: Any, fields: tuple[str, ...] | None, encoding: str = "utf-8-sig", what: str = "a column",
                     *, strict: bool = False, name_file: bool = False) -> CsvRecords:
    """Read a delimited text file as people's spreadsheets write it: the one CSV reader of credscore.

    Decodes ``encoding`` (a byte-order mark is dropped; a decoding error names
    the line), detects the delimiter among :data:`DELIMITERS` from the header,
    reads header names in any case with surrounding spaces, and checks the
    header (empty, duplicated or unknown names) before yielding anything and
    every row's length (more values than the header is an error; fewer means
    the rest are not given, or an error with ``strict``). Blank lines are
    skipped; lines are physical lines (a quoted field may span several).

    Parameters
    ----------
    path : path-like
    fields : tuple of str or None
        The known column names (lower case); None accepts any.
    encoding : str
    what : str
        What a column is, for the message about an unknown one
        (``"a claim field"``, ``"a priors column"``).
    strict : bool
        Every row must have as many values as the header.
    name_file : bool
        Start the messages with the file's name (for readers of several files).

    Returns
    -------
    CsvRecords
        Iterable of ``(line, record)``, with the header's ``names``.

    Raises
    ------
    ClaimError
        Naming the line (and the column) of the problem.
    """
    prefix = f"{path}: " if name_file else ""
    text = _read_text(path, encoding)
    lines = io.StringIO(text, newline="")
    header_line, header_no = None, 0
    for header_no, header_line in enumerate(lines, start=1):
        if header_line.strip():
            break
    else:
        raise ClaimError(f"{prefix}the file is empty; a header row and at least one row of data are needed.")
    sample = header_line + "".join(islice(lines, 50))
    delimiter = _choose_delimiter(header_line, sample, fields or ())
    lines.seek(0)
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    header: list[str] = []
    while not any(c.strip() for c in header):
        header = next(reader)
    names = [_header_key(c) for c in header]
    shown = [c.replace("\ufeff", "").strip() for c in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if not name:
            raise ClaimError(f"{prefix}column {j + 1} of the header has no name; name it or remove it.",
                             row=header_no, where="line")
        if name in seen:
            raise ClaimError(
                f"{prefix}the column appears twice in the header (columns {seen[name] + 1} and {j + 1}); give it once.",
                row=header_no, field=name, where="line",
            )
        seen[name] = j
        if fields is not None and name not in fields:
            hint = ""
            if len(names) == 1:
                hint = " The header was read as one column: separate the columns with ',', ';', a tab or '|'."
            raise ClaimError(
                f"{prefix}`{shown[j]}` is not {what}; the {'fields' if 'field' in what else 'columns'} are "
                f"{', '.join(fields)}.{hint}",
                row=header_no, field=shown[j], where="line",
            )
    return CsvRecords(reader, names, shown, header_no, strict, prefix)


def _csv_records(path: Any, fields: tuple[str, ...], encoding: str, what: str) -> CsvRecords:
    """``(line, record)`` pairs of a claims or priors file (:func:`read_csv_records`)."""
    return read_csv_records(path, fields, encoding, what)


def number_cell(text: str, line: int, field: str, prefix: str = "") -> float:
    """A finite number written in a CSV cell (:func:`~credscore.claims.parse_number`: thousands groups,
    scale words), or a ClaimError naming the line and field."""
    try:
        x = parse_number(text)[0]
    except (ValueError, TypeError):
        raise ClaimError(f"{prefix}could not be parsed as a number: {text!r}.", row=line, field=field,
                         where="line") from None
    if not math.isfinite(x):
        raise ClaimError(f"{prefix}must be finite, got {text!r}.", row=line, field=field, where="line")
    return x


def claims_from_csv(path: Any, scales: Any = None, encoding: str = "utf-8-sig", decimal: str | None = None) -> ClaimSet:
    """Build a ClaimSet from a CSV file; see :meth:`ClaimSet.from_csv`."""
    records = _csv_records(path, _INPUT_FIELDS, encoding, "a claim field")
    return _claims_iv(records, scales=scales, where="line", numbered=True, decimal=decimal)


def claims_from_line_records(records: Iterable[tuple[int, Mapping[str, Any]]], scales: Any = None,
                             decimal: str | None = None) -> ClaimSet:
    """Build a ClaimSet from ``(line, record)`` pairs of a file read by :func:`read_csv_records` (errors name
    the line)."""
    return _claims_iv(records, scales=scales, where="line", numbered=True, decimal=decimal)


def claims_from_dataframe(df: Any, scales: Any = None, decimal: str | None = None) -> ClaimSet:
    """Build a ClaimSet from a pandas DataFrame; see :meth:`ClaimSet.from_dataframe`."""
    if not hasattr(df, "to_dict") or not hasattr(df, "columns"):
        raise ClaimError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    names = [_header_key(c) if isinstance(c, str) else c for c in df.columns]
    seen: dict[Any, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise ClaimError(
                f"the column appears twice (columns {seen[name] + 1} and {j + 1}); give it once.", field=str(name)
            )
        seen[name] = j
    records = df.set_axis(names, axis=1).to_dict(orient="records")
    return _claims_iv(records, scales=scales, where="row", nan_is_absent=True, decimal=decimal)


def _fmt(x: float) -> Any:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return int(x) if float(x).is_integer() and abs(x) < 1e15 else float(x)


def claim_record(cs: ClaimSet, i: int) -> dict[str, Any]:
    """The i-th claim as a record that reads back to the same claim."""
    k = int(cs.kind[i])
    rec: dict[str, Any] = {
        "quantity": str(cs.quantities[cs.quantity[i]]),
        "source": str(cs.sources[cs.source[i]]),
        "kind": KINDS[k],
        "value": _fmt(cs.value[i]),
        "low": _fmt(cs.low[i]),
        "high": _fmt(cs.high[i]),
        "se": _fmt(cs.se[i]),
        "precision": None,
        "date": days_to_date(cs.date[i]),
        "reported_by": str(cs.reporters[cs.reporter[i]]) if cs.reporter[i] >= 0 else None,
        "unit": cs.unit[i],
        "scale": "log" if cs.log_scale[cs.quantity[i]] else "linear",
        "note": cs.note[i],
        "source_kind": cs.source_kinds[cs.source[i]],
        "attribute": str(cs.attributes[cs.quantity_attribute[cs.quantity[i]]]),
    }
    if k in (POINT, APPROX):
        half = float(cs.precision[i])
        if k == APPROX:
            half -= APPROX_WIDENING * abs(float(cs.value[i]))
        rec["precision"] = _fmt(half) if half > 0 else 0
    return rec


def claims_to_records(cs: ClaimSet) -> list[dict[str, Any]]:
    """Every claim as a record (precision made explicit, so it survives the round trip)."""
    return [claim_record(cs, i) for i in range(len(cs))]


def claims_to_csv(cs: ClaimSet, path: Any) -> None:
    """Write a ClaimSet as CSV with the :data:`~credscore.claims.FIELDS` header."""
    with open(Path(path), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(FIELDS))
        writer.writeheader()
        for rec in claims_to_records(cs):
            writer.writerow({k: ("" if v is None else (v.isoformat() if k == "date" else repr(v) if isinstance(v, float) else v)) for k, v in rec.items()})
