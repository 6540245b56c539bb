"""Claims: one statement by one source about one quantity, and the columnar ClaimSet.

A *claim* states a number (or an interval, or a bound) about a *quantity*. Its
``kind`` says what the statement means for the true value θ:

========  ====================  ============================================
kind      example               statement interval (natural units)
========  ====================  ============================================
point     "11,000"              [v − h, v + h], h = stated precision
approx    "around 10,000"       [v − h′, v + h′], h′ = h + 0.1·|v|
range     "15,000–20,000"       [low, high]
upper     "up to 10,000"        (−∞, v]   (on a log scale (0, v])
lower     "more than 20"        [v, +∞)
========  ====================  ============================================

**Precision.** A number carries the precision it is written with. Unless a
claim gives ``precision`` (a half-width in natural units), it is inferred
from the written number (:func:`parse_number`): trailing zeros of an integer
count as rounding (``"10,000"`` → ±5,000, ``"10,900"`` → ±50, ``"11,000"`` →
±500), decimals give half a unit of the last digit (``"12.5"`` → ±0.05).
``precision=0`` states an exact number. ``approx`` claims widen the interval
by :data:`APPROX_WIDENING` (10 %) of the value: "around" admits a looser fit
than the rounding alone.

**Scale.** Every quantity is modelled on a ``"log"`` scale (positive
magnitudes: counts, money; errors are multiplicative) or a ``"linear"`` one
(temperatures, scores). The default, ``"auto"``, picks ``"log"`` when every
number stated about the quantity is strictly positive and ``"linear"``
otherwise; override it per row (``scale`` field) or per quantity (the
``scales`` argument of the constructors).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import numpy as np

__all__ = [
    "Claim",
    "ClaimSet",
    "KINDS",
    "SCALES",
    "APPROX_WIDENING",
    "parse_number",
]

#: Claim kinds, in the order of their integer codes in :attr:`ClaimSet.kind`.
KINDS: tuple[str, ...] = ("point", "approx", "range", "upper", "lower")
POINT, APPROX, RANGE, UPPER, LOWER = range(5)

#: Per-quantity model scales.
SCALES: tuple[str, ...] = ("log", "linear")

#: Extra half-width of an ``approx`` claim, as a fraction of its value.
APPROX_WIDENING = 0.1

_EPOCH = _dt.date(1970, 1, 1)

_SUFFIXES = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "trillion": 1e12,
}
#: Characters that may separate groups of three digits (besides ``,`` or ``.``,
#: whichever is not the decimal mark): plain, no-break, thin and narrow no-break
#: spaces, apostrophes and underscores.
_GROUP_MARKS = " \u00a0\u2009\u202f'\u2019_"
_SCALE_RE = re.compile(
    r"^(?P<num>.*?[0-9.])\s*(?P<word>" + "|".join(sorted(_SUFFIXES, key=len, reverse=True)) + r")$"
)
_EXPONENT_RE = re.compile(r"^(?P<num>.*[0-9.])e(?P<exp>[+-]?[0-9]+)$")
_SIGN_RE = re.compile(r"^(?P<s1>[+-]?)\s*[$€£]?\s*(?P<s2>[+-]?)\s*(?P<body>.*)$")
_TRAILING_CURRENCY_RE = re.compile(r"\s*[$€£]$")
_PLAIN_RE = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?")
_AMBIGUOUS_RE = re.compile(r"[1-9][0-9]{0,2}\.[0-9]{2}0")
_SPECIAL = {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _number_error(raw: str, reason: str | None = None) -> ValueError:
    if reason is None:
        return ValueError(f"could not be parsed as a number: {raw!r}.")
    return ValueError(f"could not be parsed as a number: {raw!r} ({reason}).")


def _check_decimal(decimal: Any) -> str | None:
    if decimal not in (None, ".", ","):
        raise ValueError(f"`decimal` must be '.', ',' or None; got {decimal!r}.")
    return decimal


def _split_digits(raw: str, body: str, decimal: str | None) -> tuple[str, str | None]:
    """Integer digits and fraction digits (None without a decimal mark) of a number's body.

    ``decimal=None`` reads a ``.`` decimal point but refuses the forms that
    mean a thousands separator in languages with a decimal comma.
    """
    mark = decimal or "."
    other = "," if mark == "." else "."
    hint = " for a decimal comma pass decimal=','" if mark == "." else ""
    if body.count(mark) > 1:
        if decimal is None and re.fullmatch(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+", body):
            raise _number_error(raw, "'.' separates groups of three digits here; to read it so pass decimal=','")
        raise _number_error(raw, f"more than one decimal mark {mark!r}")
    intpart, dot, frac = body.partition(mark)
    if not re.fullmatch(r"[0-9]*", frac):
        reason = f"only digits may follow the decimal mark {mark!r}"
        raise _number_error(raw, reason + (";" + hint if other in frac else ""))
    parts = re.split(r"([^0-9])", intpart)
    digits, marks = parts[0::2], parts[1::2]
    if any(m not in _GROUP_MARKS + other for m in marks) or (marks and "" in digits):
        raise _number_error(raw)
    if marks:
        seps = set(marks)
        if len(seps) > 1:
            shown = " and ".join(repr(m) for m in sorted(seps))
            raise _number_error(raw, f"mixes the digit separators {shown}" + (";" + hint if "," in seps else ""))
        if not (1 <= len(digits[0]) <= 3 and all(len(g) == 3 for g in digits[1:])):
            sep = marks[0]
            example = "10 000" if sep.isspace() else f"10{sep}000"
            reason = f"{sep!r} must separate groups of three digits, as in {example}"
            raise _number_error(raw, reason + (";" + hint if sep == "," else ""))
    intdigits = "".join(digits)
    if intdigits == "" and frac == "":
        raise _number_error(raw)
    if decimal is None and dot and not marks and _AMBIGUOUS_RE.fullmatch(f"{intdigits}.{frac}"):
        raise _number_error(
            raw,
            "ambiguous: '.' before three digits is a thousands separator in many languages; "
            f"pass decimal=',' to read it as {intdigits}{frac} or decimal='.' to read it as {intdigits}.{frac}",
        )
    return intdigits, (frac if dot else None)


def parse_number(text: Any, decimal: str | None = None) -> tuple[float, float]:
    """Parse a written number and the precision its writing implies.

    Parameters
    ----------
    text : str, int or float
        The number as written. Strings may contain thousands separators
        (``,``; plain, no-break, thin or narrow spaces; ``'``; ``_``) between
        groups of three digits, a sign (``-``, ``+`` or the typographic minus
        ``−``), a currency sign (``$ € £``), an exponent (``1.3e6``) and a
        scale word (``k``, ``thousand``, ``million``/``m``/``mn``,
        ``billion``/``bn``/``b``, ``trillion``).
    decimal : {None, '.', ','}, optional
        The decimal mark of strings. ``','`` reads ``"1,5"`` as 1.5 and
        ``"1.000"`` / ``"1 000"`` as 1000 (``.`` and spaces then separate
        thousands). ``'.'`` reads ``"1.000"`` as 1.000 and ``,`` separates
        thousands. The default, ``None``, is ``'.'`` but refuses what a
        language with a decimal comma would read as thousands: one to three
        digits, a ``.`` and three digits ending in zero (``"1.000"``,
        ``"12.500"``, ``"1.250"``: a trailing zero is rarely written after a
        decimal point), and several dots (``"1.234.567"``). ``"1.234"`` is
        1.234. Numbers that are not strings are unaffected.

    Returns
    -------
    value : float
        The number.
    half_width : float
        Half a unit of its last significant digit: trailing zeros of an
        integer count as rounding (``"10,000"`` → 5,000; ``"10,900"`` → 50),
        decimals give half a unit of the last decimal (``"12.50"`` → 0.005).
        Integral floats are read as integers; other floats by their shortest
        round-trip representation.

    Raises
    ------
    ValueError
        If the text is not a number, or a ``,`` or ``.`` in it is neither the
        decimal mark nor a separator between groups of three digits
        (``"1,5"``, ``"1,2,3"``, ``"1 234,5"`` without ``decimal=','``), or the
        number is ambiguous (above). The message says which.

    Examples
    --------
    >>> parse_number("10,000")
    (10000.0, 5000.0)
    >>> parse_number("10,900")
    (10900.0, 50.0)
    >>> parse_number("1.3 million")
    (1300000.0, 50000.0)
    >>> parse_number(12.5)
    (12.5, 0.05)
    >>> parse_number("1 234,5", decimal=",")
    (1234.5, 0.05)
    """
    decimal = _check_decimal(decimal)
    if isinstance(text, bool):
        raise _number_error(text)
    if isinstance(text, (int, np.integer)):
        s, decimal = str(int(text)), "."
    elif isinstance(text, (float, np.floating)):
        f = float(text)
        if not math.isfinite(f):
            return f, 0.0
        s = str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
        decimal = "."
    elif isinstance(text, str):
        s = text
    else:
        raise _number_error(text)
    raw = s
    s = s.strip().lower().replace("\u2212", "-")
    m = _PLAIN_RE.fullmatch(s) if decimal != "," else None
    if m is not None:  # the common case: "-12", "10,000", "1,234.5"
        intpart, frac = m["int"].replace(",", ""), m["frac"]
        if frac is None or decimal == "." or "," in m["int"] or not _AMBIGUOUS_RE.fullmatch(f"{intpart}.{frac}"):
            return _value_and_half(m["sign"], intpart, frac, 0, 1.0)
    if s in _SPECIAL:
        return float(s), 0.0
    s = _TRAILING_CURRENCY_RE.sub("", s)
    multiplier = 1.0
    m = _SCALE_RE.match(s)
    if m is not None:
        s, multiplier = m.group("num").rstrip(), _SUFFIXES[m.group("word")]
    exponent = 0
    m = _EXPONENT_RE.match(s)
    if m is not None:
        s, exponent = m.group("num"), int(m.group("exp"))
        if decimal is None:
            decimal = "."  # an exponent is written with a decimal point
    m = _SIGN_RE.match(s)
    if m is None or (m.group("s1") and m.group("s2")) or not m.group("body"):
        raise _number_error(raw)
    sign = m.group("s1") or m.group("s2")
    intpart, frac = _split_digits(raw, m.group("body"), decimal)
    return _value_and_half(sign, intpart, frac, exponent, multiplier)


def _value_and_half(sign: str, intpart: str, frac: str | None, exponent: int, multiplier: float) -> tuple[float, float]:
    if frac:
        last_place = -len(frac)
    else:
        stripped = intpart.rstrip("0")
        last_place = len(intpart) - len(stripped) if stripped else 0
    value = float(f"{sign}{intpart or '0'}.{frac or '0'}e{exponent}") * multiplier
    half = 0.5 * 10.0 ** (last_place + exponent) * multiplier
    return value, half


_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_ISO_DATE_RE = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[t ](?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.[0-9]{1,6})?)?(?:z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_DAY = r"(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<m>[a-z]+)\.?"
_DMY_RE = re.compile(rf"{_DAY}\s+{_MONTH},?\s+(?P<y>[0-9]{{4}})")
_MDY_RE = re.compile(rf"{_MONTH}\s+{_DAY},?\s+(?P<y>[0-9]{{4}})")
#: The date formats :func:`date_to_days` reads from text, as shown in its errors.
DATE_FORMATS = "2024-10-18; 2024-10-18T12:00 or 2024-10-18 12:00:00; 18 Oct 2024; 18 October 2024; Oct 18, 2024; October 18, 2024"


def _date_from_text(text: str) -> _dt.date:
    s = " ".join(text.strip().lower().split())
    m = _ISO_DATE_RE.fullmatch(s)
    if m is not None:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        clock = (int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0))
    else:
        m = _DMY_RE.fullmatch(s) or _MDY_RE.fullmatch(s)
        if m is None or m["m"] not in _MONTHS:
            raise ValueError(f"could not be parsed as a date: {text!r}; the accepted formats are: {DATE_FORMATS}.")
        y, mo, d = int(m["y"]), _MONTHS[m["m"]], int(m["d"])
        clock = (0, 0, 0)
    try:
        return _dt.datetime(y, mo, d, *clock).date()
    except ValueError as exc:
        raise ValueError(f"is not a valid date: {text!r} ({exc}).") from None


def date_to_days(date: Any) -> float:
    """Days since 1970-01-01 of a date given as text or a date-like object.

    Text may be an ISO date, optionally with a time of day (``2024-10-18``,
    ``2024-10-18T12:00``, ``2024-10-18 12:00:00``, with seconds, fractions
    and a UTC offset), or a date with the month's name or its three-letter
    abbreviation, day first or month first (``18 Oct 2024``,
    ``18 October 2024``, ``Oct 18, 2024``, ``October 18, 2024``; case,
    ordinal suffixes and a dot after the abbreviation do not matter). A time
    of day and an offset are ignored: the date is the calendar date as
    written. Nothing may follow the date.

    Raises
    ------
    ValueError
        If the date cannot be parsed (the message lists the accepted formats)
        or does not exist (``2024-02-30``).

    Examples
    --------
    >>> date_to_days("1970-01-02T23:59"), date_to_days("Jan 2, 1970")
    (1.0, 1.0)
    """
    if date is None:
        return math.nan
    if isinstance(date, _dt.datetime):
        date = date.date()
    if isinstance(date, _dt.date):
        return float((date - _EPOCH).days)
    if isinstance(date, np.datetime64):
        if np.isnat(date):
            return math.nan
        return float(date.astype("datetime64[D]").astype(np.int64))
    if hasattr(date, "to_pydatetime"):  # pandas Timestamp
        return date_to_days(date.to_pydatetime())
    if isinstance(date, str):
        return date_to_days(_date_from_text(date))
    raise ValueError(f"could not be parsed as a date: {date!r}; the accepted formats are: {DATE_FORMATS}.")


def days_to_date(days: float) -> _dt.date | None:
    """Inverse of :func:`date_to_days` (``None`` for NaN)."""
    if days is None or not math.isfinite(days):
        return None
    return _EPOCH + _dt.timedelta(days=int(round(days)))


@attrs.frozen
class Claim:
    """One statement by one source about one quantity.

    Parameters
    ----------
    quantity : str
        Identifier of the quantity the claim is about.
    source : str
        The originator whose reliability applies.
    kind : {'point', 'approx', 'range', 'upper', 'lower'}
        What the statement means for the true value (see :mod:`credscore.claims`).
    value : float or None
        The stated number (``None`` for ranges).
    low, high : float or None
        The stated range (``range`` claims only).
    se : float or None
        Stated standard error, in natural units.
    precision : float or None
        Half-width of the rounding of ``value`` (``None``: infer it).
    date : datetime.date or None
        As-of date of the statement.
    reported_by : str or None
        The outlet that relayed the statement.
    unit, note : str or None
        Unit of the numbers; provenance or free text.
    scale : {'log', 'linear'} or None
        Model scale of the quantity (``None``: decided per quantity).
    source_kind : str or None
        The kind of the source ("wire service", "intelligence agency", ...),
        used to choose its prior.
    attribute : str or None
        The family the quantity belongs to (every flight's departure time,
        every city's population): a source's error scale, bias and accuracy
        are learned per attribute. One attribute per quantity; ``None``: the
        quantity's unit and scale (see :class:`ClaimSet`).

    Examples
    --------
    >>> Claim("troops", "Kyiv", value=11000)
    Claim(quantity='troops', source='Kyiv', kind='point', value=11000, ...)
    """

    quantity: str
    source: str
    kind: str = "point"
    value: float | None = None
    low: float | None = None
    high: float | None = None
    se: float | None = None
    precision: float | None = None
    date: _dt.date | None = None
    reported_by: str | None = None
    unit: str | None = None
    scale: str | None = None
    note: str | None = None
    source_kind: str | None = None
    attribute: str | None = None

    def __repr__(self) -> str:  # short, doctest-friendly
        return f"Claim(quantity={self.quantity!r}, source={self.source!r}, kind={self.kind!r}, value={self.value!r}, ...)"

    @classmethod
    def from_text(cls, quantity: str, source: str, text: str, decimal: str | None = None, **fields: Any) -> "Claim":
        """A claim from a hedged phrase: ``Claim.from_text("troops", "Zelensky", "up to 10,000 soldiers")``.

        Parameters
        ----------
        quantity, source : str
        text : str
            One phrase, read by :func:`credscore.text.parse_claim_text`
            ("about 5,000", "≤ 10,000", "between 3 and 4 million", "thousands").
        decimal : {None, '.', ','}, optional
            The decimal mark of the phrase's numbers (see :func:`parse_number`).
        **fields
            Any other :class:`Claim` field (``date``, ``reported_by``,
            ``unit``, ...). ``kind``, ``value``, ``low`` and ``high`` may be
            given too, but must agree with the phrase; ``precision``
            overrides the precision the phrase's number is written with.

        Raises
        ------
        ClaimError
            Naming the field `text` when the phrase cannot be read or
            disagrees with a given field.

        Examples
        --------
        >>> Claim.from_text("troops", "Zelensky", "up to 10,000 soldiers")
        Claim(quantity='troops', source='Zelensky', kind='upper', value=10000.0, ...)
        >>> Claim.from_text("troops", "officials", "~10,000").precision
        5000.0
        """
        from .exceptions import ClaimError
        from .text import merge_text_fields, parse_claim_text

        try:
            parsed = parse_claim_text(text, decimal=decimal)
            given = {f: fields.pop(f) for f in ("kind", "value", "low", "high") if fields.get(f) is not None}
            merge_text_fields(parsed, given, decimal=decimal)
        except ValueError as exc:
            raise ClaimError(str(exc), field="text") from None
        if fields.get("precision") is None:
            fields["precision"] = parsed["precision"]
        numbers = {f: parsed[f] for f in ("kind", "value", "low", "high")}
        return cls(quantity, source, **numbers, **fields)

    def to_record(self) -> dict[str, Any]:
        """The claim as a dict with the field names of :data:`FIELDS`."""
        return attrs.asdict(self)


#: Field / column names understood by the constructors, in output order.
FIELDS: tuple[str, ...] = (
    "quantity",
    "source",
    "kind",
    "value",
    "low",
    "high",
    "se",
    "precision",
    "date",
    "reported_by",
    "unit",
    "scale",
    "note",
    "source_kind",
    "attribute",
)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a


@attrs.frozen(eq=False, repr=False)
class ClaimSet:
    """An immutable, columnar set of validated claims.

    Every algorithm in credscore works on a ClaimSet: integer codes for
    quantities, sources and relays, float64 statement bounds in natural units
    and in model space, kind codes and dates as days. Build it with
    :meth:`from_records`, :meth:`from_csv`, :meth:`from_dataframe` or
    :meth:`from_claims`; inputs are validated once, there.

    Attributes
    ----------
    quantities, sources, reporters : ndarray of str
        Labels, indexed by the codes below (in order of first appearance).
    quantity, source, reporter : ndarray of int
        Codes per claim (``reporter`` is -1 when the claim was not relayed).
    kind : ndarray of int8
        Index into :data:`KINDS`.
    value, low, high, se : ndarray of float
        As stated, natural units (NaN where not given).
    precision : ndarray of float
        Half-width of the stated rounding (given or inferred; 0 for ranges
        and bounds).
    lower_bound, upper_bound : ndarray of float
        The statement interval in natural units (±inf for bounds).
    date : ndarray of float
        As-of date in days since 1970-01-01 (NaN when undated).
    unit, note : ndarray of object
        Free text per claim (None where not given).
    log_scale : ndarray of bool
        Per quantity: modelled on the log scale.
    attributes : ndarray of str
        Attribute labels (the families quantities belong to), in order of
        first appearance, indexed by ``quantity_attribute``.
    quantity_attribute : ndarray of int
        Per quantity: the code of its attribute. A quantity whose claims name
        no ``attribute`` gets the default label ``"<unit> (<scale>)"`` from
        its first stated unit and its model scale, e.g. ``"soldiers (log)"``,
        or ``"(linear)"`` without a unit: quantities of the same unit and
        scale form one attribute.
    source_kinds : ndarray of object
        Per source: its kind (None where not given).
    row : ndarray of int
        Position of each claim in the input: the zero-based index of a record,
        array element or DataFrame row, or the line of a CSV file on which the
        claim starts (header = line 1).
    evidence : ndarray of int
        For each claim, the index of the claim that carries its evidence: itself,
        or the first identical statement by the same originator about the same
        quantity (relays of one statement count once).

    Examples
    --------
    >>> cs = ClaimSet.from_records([
    ...     {"quantity": "troops", "source": "Kyiv", "value": 11000},
    ...     {"quantity": "troops", "source": "NIS", "value": "1,500"},
    ... ])
    >>> len(cs), cs.n_quantities, cs.n_sources
    (2, 1, 2)
    >>> cs.precision.tolist()
    [500.0, 50.0]
    """

    quantities: np.ndarray
    sources: np.ndarray
    reporters: np.ndarray
    quantity: np.ndarray
    source: np.ndarray
    reporter: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    precision: np.ndarray
    lower_bound: np.ndarray
    upper_bound: np.ndarray
    date: np.ndarray
    unit: np.ndarray
    note: np.ndarray
    log_scale: np.ndarray
    attributes: np.ndarray
    quantity_attribute: np.ndarray
    source_kinds: np.ndarray
    row: np.ndarray
    evidence: np.ndarray

    def __attrs_post_init__(self) -> None:
        for f in attrs.fields(type(self)):
            _readonly(getattr(self, f.name))

    # ------------------------------------------------------------------ build
    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], scales: Any = None, decimal: str | None = None
    ) -> "ClaimSet":
        """Build from an iterable of dicts (field names as in :data:`FIELDS`).

        Besides the fields, a record may give ``text``: a hedged phrase
        ("up to 10,000", "about 5,000", "3–4 million", "thousands") read by
        :func:`credscore.text.parse_claim_text` in place of ``kind``,
        ``value``, ``low`` and ``high`` (any of these given beside it must
        agree with it). The same holds for the CSV and DataFrame readers.

        Parameters
        ----------
        records : iterable of mapping
            One dict per claim. Missing keys and ``None`` mean "not given".
        scales : {'auto', 'log', 'linear'} or mapping, optional
            Model scale for every quantity, or a ``{quantity: scale}`` mapping
            (quantities not in it use their rows' ``scale`` or ``'auto'``).
        decimal : {None, '.', ','}, optional
            The decimal mark of numbers written as text (see
            :func:`parse_number`): ``','`` reads "1,5" as 1.5 and "1.000" as
            1000. By default a comma that does not separate groups of three
            digits ("1,5") is an error, as is "1.000".

        Raises
        ------
        ClaimError
            Naming the record (its zero-based position) and the field.
        """
        from .io import claims_from_records

        return claims_from_records(records, scales=scales, decimal=decimal)

    @classmethod
    def from_arrays(cls, quantity: Any, source: Any, value: Any = None, **kwargs: Any) -> "ClaimSet":
        """Build from equal-length arrays, validated without a Python loop per claim.

        The fast constructor for numeric feeds and simulations. Numbers are
        binary floats, not written text, so precision is **not** inferred:
        ``precision`` (a half-width, scalar or array) defaults to 0.

        Parameters
        ----------
        quantity, source : array_like
            Labels (any type; converted to str).
        value : array_like of float, optional
            NaN where absent (ranges).
        kind, low, high, se, precision, reported_by, source_kind, attribute : array_like or scalar, optional
        scales : {'auto', 'log', 'linear'} or mapping, optional

        Raises
        ------
        ClaimError
            Naming the (zero-based) row and the field of the first bad value.

        Examples
        --------
        >>> cs = ClaimSet.from_arrays(["a", "a", "b"], ["s1", "s2", "s1"], [1.0, 1.2, -3.0], se=0.1)
        >>> cs.n_quantities, cs.scale_of("a"), cs.scale_of("b")
        (2, 'log', 'linear')
        """
        from .io import claims_from_arrays

        return claims_from_arrays(quantity, source, value, **kwargs)

    @classmethod
    def from_claims(cls, claims: Iterable[Claim], scales: Any = None) -> "ClaimSet":
        """Build from :class:`Claim` objects."""
        return cls.from_records((c.to_record() for c in claims), scales=scales)

    @classmethod
    def from_csv(
        cls, path: Any, scales: Any = None, encoding: str = "utf-8-sig", decimal: str | None = None
    ) -> "ClaimSet":
        """Read a CSV file with a header of :data:`FIELDS` names.

        Empty cells mean "not given"; numbers keep the precision they are
        written with. Header names are read case-insensitively and without
        surrounding spaces; each may appear once. The delimiter (``,``, ``;``,
        tab or ``|``) is detected from the header. A row may have fewer values
        than the header (the rest are not given) but not more.

        Parameters
        ----------
        path : path-like
        scales : {'auto', 'log', 'linear'} or mapping, optional
        encoding : str, default 'utf-8-sig'
            The file's text encoding; the default reads UTF-8 with or without
            the byte-order mark spreadsheets write.
        decimal : {None, '.', ','}, optional
            The decimal mark of the numbers, as in :meth:`from_records`.

        Raises
        ------
        ClaimError
            Naming the physical line of the file (the header is line 1; a
            quoted value spanning lines counts every line) and the field. The
            claims' :attr:`row` is that line number too.
        """
        from .io import claims_from_csv

        return claims_from_csv(path, scales=scales, encoding=encoding, decimal=decimal)

    @classmethod
    def from_dataframe(cls, df: Any, scales: Any = None, decimal: str | None = None) -> "ClaimSet":
        """Build from a pandas DataFrame with :data:`FIELDS` columns.

        Missing values (NaN, None, NaT) in optional columns mean "not given".
        Column names are read case-insensitively and without surrounding
        spaces; each may appear once. Errors name the zero-based row position.
        ``decimal`` and a ``text`` column: as in :meth:`from_records`.
        """
        from .io import claims_from_dataframe

        return claims_from_dataframe(df, scales=scales, decimal=decimal)

    # ------------------------------------------------------------------ write
    def to_records(self) -> list[dict[str, Any]]:
        """The claims as a list of dicts that :meth:`from_records` reads back."""
        from .io import claims_to_records

        return claims_to_records(self)

    def to_csv(self, path: Any) -> None:
        """Write the claims to a CSV file that :meth:`from_csv` reads back."""
        from .io import claims_to_csv

        claims_to_csv(self, path)

    # ----------------------------------------------------------------- access
    def __len__(self) -> int:
        return int(self.quantity.shape[0])

    @property
    def n_quantities(self) -> int:
        """Number of distinct quantities."""
        return int(self.quantities.shape[0])

    @property
    def n_sources(self) -> int:
        """Number of distinct sources."""
        return int(self.sources.shape[0])

    @property
    def is_evidence(self) -> np.ndarray:
        """True for the claims that carry their own evidence (not a repeat relay)."""
        return self.evidence == np.arange(len(self))

    def claim(self, i: int) -> Claim:
        """The i-th claim as a :class:`Claim`."""
        from .io import claim_record

        return Claim(**claim_record(self, i))

    def __iter__(self) -> Iterator[Claim]:
        for i in range(len(self)):
            yield self.claim(i)

    def scale_of(self, quantity: str) -> str:
        """The model scale ('log' or 'linear') of a quantity."""
        return "log" if self.log_scale[self.quantity_index(quantity)] else "linear"

    @property
    def attribute(self) -> np.ndarray:
        """Per claim: the code of its quantity's attribute (an index into :attr:`attributes`)."""
        return self.quantity_attribute[self.quantity]

    def quantity_index(self, quantity: str) -> int:
        """Code of a quantity label; raises KeyError when absent."""
        hits = np.flatnonzero(self.quantities == quantity)
        if hits.size == 0:
            raise KeyError(f"unknown quantity {quantity!r}.")
        return int(hits[0])

    def subset(self, mask: Any) -> "ClaimSet":
        """A ClaimSet of the selected claims (boolean mask or indices), re-validated."""
        idx = np.arange(len(self))[np.asarray(mask)]
        scales = {q: ("log" if s else "linear") for q, s in zip(self.quantities, self.log_scale)}
        from .io import claim_record

        recs = [claim_record(self, int(i)) for i in idx]
        return ClaimSet.from_records(recs, scales=scales)

    # ------------------------------------------------------------ model space
    @property
    def model_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Statement interval in model space (log of the bounds on log quantities)."""
        logq = self.log_scale[self.quantity]
        with np.errstate(divide="ignore"):
            lo = np.where(logq, np.log(np.where(logq, np.maximum(self.lower_bound, 0.0), 1.0)), self.lower_bound)
            hi = np.where(logq, np.log(np.where(logq, self.upper_bound, 1.0)), self.upper_bound)
        return lo, hi

    @property
    def model_se(self) -> np.ndarray:
        """Stated standard error in model space (relative error on log quantities; NaN if absent)."""
        logq = self.log_scale[self.quantity]
        centre = np.where(np.isnan(self.value), 0.5 * (self.low + self.high), self.value)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(logq, self.se / np.abs(centre), self.se)

    def __repr__(self) -> str:
        return (
            f"<ClaimSet: {len(self)} claims, {self.n_quantities} quantities, "
            f"{self.n_sources} sources, {int(self.is_evidence.sum())} distinct statements>"
        )
