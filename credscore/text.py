"""Reading hedged phrases: "up to 10,000 soldiers", "about 5,000", "between 3 and 4 million".

News states numbers with hedges. :func:`parse_claim_text` reads one such
phrase into a claim's ``kind`` and numbers (see :mod:`credscore.claims` for
what each kind means); :meth:`Claim.from_text <credscore.claims.Claim.from_text>`
and the ``text`` column of the readers (``ClaimSet.from_records``,
``from_csv``, ``from_dataframe``) use it. :func:`format_claim_text` writes a
claim the way the tool prints it (``"~5,000"``, ``"≤ 10,000"``,
``"5,000–6,000"``), and reading that back gives the same claim.

A phrase is an optional hedge, a number (as :func:`~credscore.claims.parse_number`
reads it, with a sign, currency sign, thousands separators, an exponent and a
scale word), a range or an order-of-magnitude word, an optional trailing hedge
and optional words without digits (the unit, ignored):

==========  ==================================================================
kind        phrases
==========  ==================================================================
``upper``   up to, at most, as many as, as much as, as high as, no more than,
            not more than, less than, fewer than, under, below, a maximum of,
            ``≤``, ``<=``, ``<``; after the number: or fewer, or less, or below,
            at most
``lower``   more than, over, at least, no fewer than, no less than, not less
            than, greater than, above, in excess of, upwards of, a minimum of,
            ``≥``, ``>=``, ``>``; after the number: or more, or above, ``+``,
            plus, at least
``approx``  about, around, some, roughly, nearly, almost, approximately,
            approx., closer to, close to, nearer (to), circa, ca., c., an
            estimated, estimated, ``~``, ``≈``; after the number: or so
``range``   between A and B, from A to B, A to B, A–B, A—B, A-B (a scale word
            on B alone applies to both: "3-4 million")
``point``   a bare number
==========  ==================================================================

**Order-of-magnitude words** read as a (soft) range from one of the unit to
where the next word takes over: "hundreds" = 100–1,000, "thousands" =
1,000–10,000, "tens of thousands" = 10,000–100,000, "hundreds of thousands"
= 100,000–1,000,000, likewise for millions and billions, and "dozens" =
12–100. Why a range and not a lower bound: a writer who meant more than ten
thousand would have said "tens of thousands", so the word also caps the
number; and why one unit rather than two: "thousands of troops" is written
of 1,500 as readily as of 5,000 (the seed articles do). A range claim is
soft (the source's error applies to its ends), so a number just past an end
is not a contradiction. A hedge before the word bounds it on one side: "up
to tens of thousands" is ``upper`` 100,000, "more than hundreds" ``lower``
100; "about thousands" is the range.

Single-letter scale words must be attached to the number in a phrase
("10k", "8m", "3b"): "10 m" is ten (of a unit m), while "1.2 million",
"3 bn" and "5 thousand" may be spaced. A typographic minus ("−5") is a minus
sign; en and em dashes and hyphens between two numbers make a range.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .claims import _SUFFIXES, parse_number
from .exceptions import ClaimError

__all__ = ["parse_claim_text", "format_claim_text", "merge_text_fields", "HEDGES", "TRAILING_HEDGES", "MAGNITUDE_WORDS"]

#: Hedge words before a number, by the kind they make.
HEDGES: dict[str, tuple[str, ...]] = {
    "upper": (
        "up to", "at most", "as many as", "as much as", "as high as", "no more than", "not more than",
        "less than", "fewer than", "under", "below", "a maximum of", "≤", "<=", "<",
    ),
    "lower": (
        "more than", "over", "at least", "no fewer than", "no less than", "not less than", "greater than",
        "above", "in excess of", "upwards of", "a minimum of", "≥", ">=", ">",
    ),
    "approx": (
        "about", "around", "some", "roughly", "nearly", "almost", "approximately", "approx.", "approx",
        "closer to", "close to", "nearer to", "nearer", "circa", "ca.", "c.", "an estimated", "estimated",
        "~", "≈",
    ),
}
#: Hedges after a number, by the kind they make.
TRAILING_HEDGES: dict[str, tuple[str, ...]] = {
    "upper": ("or fewer", "or less", "or below", "at most"),
    "lower": ("or more", "or above", "+", "plus", "at least"),
    "approx": ("or so",),
}
#: Order-of-magnitude words: (low, high) of the range each reads as.
MAGNITUDE_WORDS: dict[str, tuple[float, float]] = {"dozens": (12.0, 100.0)}
for _word, _unit in (("hundreds", 1e2), ("thousands", 1e3), ("millions", 1e6), ("billions", 1e9)):
    MAGNITUDE_WORDS[_word] = (_unit, 10 * _unit)
    if _unit >= 1e3:
        MAGNITUDE_WORDS[f"tens of {_word}"] = (10 * _unit, 100 * _unit)
        MAGNITUDE_WORDS[f"hundreds of {_word}"] = (100 * _unit, 1000 * _unit)
del _word, _unit

_EXAMPLES = "'about 5,000', 'up to 10,000', 'more than 20', '5,000-6,000', 'between 3 and 4 million', 'thousands'"


def _alternatives(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PREFIX_KIND = {w: k for k, ws in HEDGES.items() for w in ws}
_SUFFIX_KIND = {w: k for k, ws in TRAILING_HEDGES.items() for w in ws}
# a hedge ends at a space or at a character that is not a letter ("~5", "over 5", not "overall")
_PREFIX_RE = re.compile(rf"(?P<hedge>{_alternatives(_PREFIX_KIND)})(?:\s+|(?=[^a-z\s])|$)")
_SUFFIX_RE = re.compile(rf"\s*-?(?P<hedge>{_alternatives(_SUFFIX_KIND)})(?![a-z])")
_MAGNITUDE_RE = re.compile(rf"(?P<word>{_alternatives(MAGNITUDE_WORDS)})(?![a-z])(?:\s+of(?![a-z]))?")
_LONG_SCALES = _alternatives(w for w in _SUFFIXES if len(w) > 1)
_SHORT_SCALES = _alternatives(w for w in _SUFFIXES if len(w) == 1)
_NUM = (
    r"[+-]?\s?[$€£]?\s?[+-]?"
    r"(?:[0-9]+(?:[,.'’_ \u00a0\u2009\u202f][0-9]+)*|\.[0-9]+)"
    r"(?:e[+-]?[0-9]+)?(?:\s?[$€£])?"
    rf"(?:\s?(?:{_LONG_SCALES})(?![a-z])|(?:{_SHORT_SCALES})(?![a-z]))?"
)
_NUMBER_RE = re.compile(rf"(?P<a>{_NUM})")
_RANGE_RE = re.compile(rf"(?P<a>{_NUM})(?:\s*(?P<dash>[–-])\s*|\s+(?P<word>to|and)\s+)(?P<b>{_NUM})")
_SCALE_TAIL_RE = re.compile(rf"(?:\s?(?:{_LONG_SCALES})|(?:{_SHORT_SCALES}))$")
_DASHES = str.maketrans({c: "–" for c in "\u2010\u2011\u2012\u2013\u2014\u2015"} | {"\u2212": "-", "\ufe63": "-", "\uff0d": "-"})


def _normalise(text: str) -> str:
    return " ".join(text.translate(_DASHES).lower().split())


def _number(token: str, decimal: str | None) -> tuple[float, float]:
    try:
        value, half = parse_number(token.strip(), decimal=decimal)
    except ValueError as exc:
        raise ClaimError(str(exc)) from None
    if not math.isfinite(value):
        raise ClaimError(f"must be finite, got {token.strip()!r}.")
    return value, half


def _result(kind: str, value=None, low=None, high=None, precision=None) -> dict[str, Any]:
    return {"kind": kind, "value": value, "low": low, "high": high, "precision": precision}


def parse_claim_text(text: str, decimal: str | None = None) -> dict[str, Any]:
    """Read a hedged phrase into a claim's kind and numbers.

    Parameters
    ----------
    text : str
        One phrase: an optional hedge, a number, a range or an
        order-of-magnitude word, an optional trailing hedge and optional
        words without digits (a unit, ignored). See :mod:`credscore.text`
        for the phrases read.
    decimal : {None, '.', ','}, optional
        The decimal mark, as in :func:`~credscore.claims.parse_number`.

    Returns
    -------
    dict
        ``kind`` (one of :data:`~credscore.claims.KINDS`), ``value`` (None
        for ranges), ``low`` and ``high`` (ranges only, else None) and
        ``precision``: the half-width the number is written with (``point``
        and ``approx`` only, else None; ``approx`` widening is added when the
        claim is built, as for any approx claim).

    Raises
    ------
    ClaimError
        If the phrase is not one number, range or order-of-magnitude word
        with at most one hedge on each side, if its hedges disagree, if a
        range's low end exceeds its high end, or if a number cannot be parsed
        (the message of :func:`~credscore.claims.parse_number` then says why).

    Examples
    --------
    >>> parse_claim_text("up to 10,000 soldiers")
    {'kind': 'upper', 'value': 10000.0, 'low': None, 'high': None, 'precision': None}
    >>> parse_claim_text("~5,000")["kind"], parse_claim_text("~5,000")["precision"]
    ('approx', 500.0)
    >>> d = parse_claim_text("between 3 and 4 million"); d["kind"], d["low"], d["high"]
    ('range', 3000000.0, 4000000.0)
    >>> d = parse_claim_text("tens of thousands"); d["kind"], d["low"], d["high"]
    ('range', 10000.0, 100000.0)
    """
    if not isinstance(text, str):
        raise ClaimError(f"must be text, got {type(text).__name__}.")
    t = _normalise(text)
    unreadable = ClaimError(f"could not be read as a claim: {text!r}; write a number, optionally hedged, e.g. {_EXAMPLES}.")
    if not t:
        raise unreadable
    kind, hedge = "point", None
    m = _PREFIX_RE.match(t)
    if m is not None:
        hedge = m["hedge"]
        kind = _PREFIX_KIND[hedge]
        t = t[m.end():]
    framed = re.match(r"(between|from)\s+", t)
    if framed:
        t = t[framed.end():]
    numbers: tuple[str, ...]
    m = _MAGNITUDE_RE.match(t)
    if m is not None and not framed:
        low, high = MAGNITUDE_WORDS[m["word"]]
        numbers, rest = (), t[m.end():]
    else:
        m = _RANGE_RE.match(t)
        if m is not None:
            joiner = "–" if m["dash"] else m["word"]
            if joiner != {"between": "and", "from": "to"}.get(framed[1] if framed else "", "to") and joiner != "–":
                raise unreadable
            numbers = (m["a"], m["b"])
        else:
            m = _NUMBER_RE.match(t)
            if m is None or framed:
                raise unreadable
            numbers = (m["a"],)
        rest = t[m.end():]
    m = _SUFFIX_RE.match(rest)
    if m is not None:
        trailing = _SUFFIX_KIND[m["hedge"]]
        if hedge is not None and trailing != kind:
            raise ClaimError(f"{text!r} is hedged both as {kind!r} ({hedge!r}) and as {trailing!r} ({m['hedge']!r}).")
        kind, rest = trailing, rest[m.end():]
    if re.search(r"[0-9]", rest):
        raise ClaimError(f"{text!r} states more than one number; give one number, range or bound per claim.")
    if len(numbers) == 1:
        value, half = _number(numbers[0], decimal)
        return _result(kind, value=value, precision=half if kind in ("point", "approx") else None)
    if numbers:
        a, b = numbers
        scale = _SCALE_TAIL_RE.search(b)
        if scale is not None and _SCALE_TAIL_RE.search(a) is None:
            a = a + scale.group(0)  # "3-4 million": the scale word applies to both
        low, high = _number(a, decimal)[0], _number(b, decimal)[0]
        if low > high:
            raise ClaimError(f"{text!r} reads as a range whose low end {low:g} exceeds its high end {high:g}.")
    if kind == "upper":
        return _result("upper", value=high)
    if kind == "lower":
        return _result("lower", value=low)
    return _result("range", low=low, high=high)


def _format_number(x: float) -> str:
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return repr(x)


def format_claim_text(kind: str, value: Any = None, low: Any = None, high: Any = None) -> str:
    """A claim as the tool prints it: ``"5,000"``, ``"~5,000"``, ``"≤ 10,000"``, ``"≥ 20"``, ``"5,000–6,000"``.

    Integral numbers are written with thousands separators, others by their
    shortest round-trip representation, so :func:`parse_claim_text` reads
    the text back to the same kind and numbers.

    Examples
    --------
    >>> format_claim_text("upper", 10000)
    '≤ 10,000'
    >>> format_claim_text("range", low=3, high=4.5)
    '3–4.5'
    """
    if kind == "range":
        return f"{_format_number(low)}–{_format_number(high)}"
    prefixes = {"point": "", "approx": "~", "upper": "≤ ", "lower": "≥ "}
    if kind not in prefixes:
        raise ClaimError(f"`kind` must be one of 'point', 'approx', 'range', 'upper', 'lower'; got {kind!r}.")
    return prefixes[kind] + _format_number(value)


def _agrees(field: str, parsed: Any, given: Any, decimal: str | None) -> bool:
    if field == "kind":
        return str(given).strip().lower() == parsed
    if parsed is None:
        return False
    try:
        return parse_number(given, decimal=decimal)[0] == parsed
    except ValueError:
        return False


def merge_text_fields(parsed: dict[str, Any], given: dict[str, Any], decimal: str | None = None) -> dict[str, Any]:
    """Check a parsed phrase against the ``kind``/``value``/``low``/``high`` given beside it.

    Parameters
    ----------
    parsed : dict
        What :func:`parse_claim_text` returned.
    given : dict
        The fields given explicitly beside the phrase (absent ones left out),
        as written (numbers as text or numbers).
    decimal : {None, '.', ','}, optional
        The decimal mark of numbers written as text.

    Returns
    -------
    dict
        ``parsed``, when every given field agrees with it.

    Raises
    ------
    ClaimError
        Naming the first field that disagrees, e.g. ``"reads as 'upper'
        ≤ 10,000, but `kind` is 'point'; ..."``.
    """
    for field in ("kind", "value", "low", "high"):
        if field in given and not _agrees(field, parsed[field], given[field], decimal):
            shown = format_claim_text(parsed["kind"], parsed["value"], parsed["low"], parsed["high"])
            raise ClaimError(
                f"reads as {parsed['kind']!r} {shown}, but `{field}` is {given[field]!r}; "
                f"give the claim either as text or as kind/value/low/high, or make them agree."
            )
    return parsed
