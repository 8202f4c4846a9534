"""Danish date reading: turns the date text of municipal pages into dates, ranges and precisions.

A linear-time regex layer does nearly all of the work (numeric and textual dates, times, ranges,
year-less and relative expressions); dateparser's Danish locale is only a last-resort fallback for
short snippets whose word order the regexes do not know (e.g. "maj 5, 2020"). See docs/dates.md.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "COPENHAGEN",
    "MAX_INPUT_CHARS",
    "DanishDate",
    "find_danish_dates",
    "parse_danish_date",
    "parse_machine_date",
]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
#: Only this many leading characters of a text are read (bounds the work on huge inputs).
MAX_INPUT_CHARS = 1_000_000
_MIN_YEAR, _MAX_YEAR = 1000, 2200

_MONTHS = {
    "januar": 1, "jan": 1, "februar": 2, "febr": 2, "feb": 2, "marts": 3, "mart": 3, "mar": 3,
    "april": 4, "apr": 4, "maj": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_WEEKDAYS = {
    "mandag": 0, "man": 0, "tirsdag": 1, "tirs": 1, "tir": 1, "onsdag": 2, "ons": 2,
    "torsdag": 3, "tors": 3, "tor": 3, "fredag": 4, "fre": 4, "lørdag": 5, "lør": 5,
    "søndag": 6, "søn": 6,
}  # fmt: skip
_NUMBER_WORDS = {
    "en": 1, "et": 1, "ét": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "syv": 7,
    "otte": 8, "ni": 9, "ti": 10, "elleve": 11, "tolv": 12,
}  # fmt: skip
_RELATIVE_DAYS = {
    "dag": 0, "morges": 0, "går": -1, "aftes": -1, "forgårs": -2, "morgen": 1, "overmorgen": 2,
}  # fmt: skip

# --- the regex layer -----------------------------------------------------------------------------
# Every quantifier is bounded and every alternative starts with a literal-ish token, so the scan
# is linear in the input length (no nested unbounded repetition: no catastrophic backtracking).
_L = "a-zæøåäöüé"
_MONTH_FULL = "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december"
_MONTH_ABBR = "febr|sept|mart|jan|feb|mar|apr|jun|jul|aug|sep|okt|nov|dec"
_MON_ANY = rf"(?:(?:{_MONTH_FULL})(?![{_L}])|(?:{_MONTH_ABBR})(?:\.|(?![{_L}])))"
_MON_NODOT = rf"(?:(?:{_MONTH_FULL})(?![{_L}])|(?:{_MONTH_ABBR})\.)"
_WD_FULL = "mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag"
_WD = rf"(?:(?:{_WD_FULL})(?![{_L}])|(?:man|tirs|tir|ons|tors|tor|fre|lør|søn)\.)"
_REL_PREFIX = r"(?:i\s{0,2}dag|i\s{0,2}morgen|i\s{0,2}går|på|næste|kommende|sidste|forrige)"
_NUM = r"\d{1,3}|" + "|".join(_NUMBER_WORDS)
_UNIT = r"dage|dag|uger|uge|måneder|måned|mdr|md|år|timer|time|minutter|minut|min"


# A two-digit year ("i september 17", "5. maj 18") only when nothing but punctuation follows.
_YY_END = r"(?=\s{0,3}(?:[,;:!?)]|\.(?!\d)|og\s|til\s|[-–]\s{0,3}\D|\n|\Z))"
# Optional "i dag"/"på" + weekday + "den"/"d." before a day number.
_PREFIX = (
    rf"(?:(?:{_REL_PREFIX})[\s,]{{1,4}}(?=(?:{_WD}|den\s|d\.)))?"
    rf"(?:(?P<wd>{_WD})[\s,]{{1,4}})?(?:den\s{{1,3}}|d\.\s{{0,3}})?"
)


_SCAN = re.compile(
    rf"""(?<![\w.,/])(?=[\dadefijklmnopstuæøåé])(?:
    (?P<iso>(?P<i_y>\d{{4}})-(?P<i_m>\d{{2}})-(?P<i_d>\d{{2}})
        (?:(?P<i_t>T|\s{{1,2}})(?P<i_H>\d{{2}})(?P<i_s>[:.])(?P<i_M>\d{{2}})
           (?:(?P=i_s)(?P<i_S>\d{{2}})(?:[.,]\d{{1,9}})?)?
           (?:\s?(?P<i_tz>Z|UTC|GMT|[+-]\d{{2}}(?::?\d{{2}})?))?)?
        (?!\d))
  | (?P<dm>{_PREFIX}(?:
      (?P<txt>(?:(?P<t_d0>\d{{1,2}})\.?\s{{0,3}}(?P<t_rs>[-–—]|og|til)\s{{0,3}}(?:den\s{{1,3}}|d\.\s{{0,3}})?)?
        (?P<t_d>\d{{1,2}})(?:\.\s{{0,3}}(?P<t_m1>{_MON_ANY})|\s{{1,3}}(?P<t_m2>{_MON_NODOT}))
        (?:,?\s{{1,3}}(?P<t_y>\d{{4}})(?!\d)|\s{{1,3}}(?P<t_yy>\d{{2}}){_YY_END}
          |(?!\s{{0,3}},?\s{{0,3}}\d{{3}})))
    | (?P<num>(?:(?P<n_d0>\d{{1,2}})\.?\s{{0,2}}[-–]\s{{0,2}}(?=\d{{1,2}}[./]\d))?
        (?P<n_d>\d{{1,2}})
        (?:(?P<n_s>[.-])(?P<n_m>\d{{1,2}})(?P=n_s)(?P<n_y>\d{{4}}|\d{{2}})
          |\.(?P<n_m4>\d{{1,2}})\.(?=\s{{0,3}}(?:[-–]|til\s))
          |\.(?P<n_m5>\d{{2}})
          |/(?P<n_m2>\d{{1,2}})(?:\s{{1,2}}(?P<n_y2>\d{{4}})|[-/](?P<n_y3>\d{{4}}|\d{{2}}))?)
        (?!\d|[.,/]\d))))
  | (?P<my>(?P<my_m>{_MON_NODOT})\s{{0,3}},?\s{{1,3}}(?P<my_y>\d{{4}})(?!\d))
  | (?P<my2>(?:(?:i|fra|til|siden|primo|medio|ultimo)\s{{1,3}}|\A\s{{0,3}})
        (?P<my2_m>(?:{_MONTH_FULL})|(?:{_MONTH_ABBR})\.)\s{{1,3}}(?P<my2_y>\d{{2}}){_YY_END})
  | (?P<rel>(?:
        i\s{{0,2}}(?P<r_day>dag|går|forgårs|morgen|overmorgen|aftes|morges)
      | (?:for\s{{1,3}})?(?P<r_an>{_NUM})\s{{1,3}}(?P<r_au>{_UNIT})\s{{1,3}}siden
      | om\s{{1,3}}(?P<r_in>{_NUM})\s{{1,3}}(?P<r_iu>{_UNIT})
      | (?:i\s{{1,3}})?(?P<r_pd>sidste|forrige|næste|denne|kommende)\s{{1,3}}(?P<r_pu>uge|måned|år)
      | i\s{{1,3}}(?P<r_yr>år|fjor)
      | i\s{{1,3}}(?P<r_wdp>{_WD_FULL})s
      | (?P<r_wdd>på|sidste|forrige|næste|kommende)\s{{1,3}}(?P<r_wdn>{_WD_FULL})
      | (?P<r_wdw>{_WD_FULL})\s{{1,3}}i\s{{1,3}}(?P<r_wdwd>sidste|forrige|næste|denne|kommende)
        \s{{1,3}}uge
      )(?![{_L}]))
  | (?P<tm>(?:(?:klokken|kl\.?)\s{{0,3}}(?P<tk_H>\d{{1,2}})(?:[.:](?P<tk_M>\d{{2}}))?
           | (?P<tc_H>\d{{1,2}}):(?P<tc_M>\d{{2}})(?::\d{{2}})?)
        (?:\s{{0,3}}(?:[-–]|til)\s{{0,3}}(?:kl\.?\s{{0,3}})?\d{{1,2}}(?:[.:]\d{{2}})?
           (?!\d|[.:]\d|\.\s{{0,3}}\w))?
        (?:\s{{0,2}}(?P<tm_tz>CEST|CET|UTC|GMT)(?![{_L}]))?
        (?!\d))
)""",
    re.IGNORECASE | re.VERBOSE,
)
_RANGE_AHEAD = re.compile(r"\s{0,3}(?:[-–—]|til)\s{0,3}(?:den\s{1,3}|d\.\s{0,3})?\d")
_TIME_BEFORE_GAP = re.compile(r"[\s,]{1,3}")
_TIME_GAP = re.compile(r"[\s,]{0,4}(?:(?:fra|ca\.|omkring)\s{1,3})?|\s{0,3}[-–]\s{0,3}")
_RANGE_GAP = re.compile(
    r"[\s,]{0,3}(?:[-–—]|(?:og\s{1,3})?(?:frem\s{1,3})?til(?:\s{1,3}og\s{1,3}med)?|t\.\s?o\.\s?m\.)"
    r"\s{0,3}"
)
_LIST_GAP = re.compile(r"\s{0,3}(?:,|og|samt|eller)\s{1,3}")
_BARE_TIME = re.compile(
    r"[\s,]{1,3}([01]?\d|2[0-3])\.([0-5]\d)"
    r"(?:\s{0,3}[-–]\s{0,3}(?:[01]?\d|2[0-3])[.:][0-5]\d)?(?!\d|\.\d|[-–]\d)"
)
_YEAR_AFTER_TIME = re.compile(r",?\s{1,3}(\d{4})(?!\d)")
_YEAR_ONLY = re.compile(r"\s{0,50}(\d{4})\s{0,50}")
_FALLBACK_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_FALLBACK_MONTH = re.compile(rf"(?<![{_L}])(?:{_MONTH_FULL}|{_MONTH_ABBR})(?![{_L}])", re.IGNORECASE)
_FALLBACK_TIME = re.compile(r"\d[:.]\d\d")
_MACHINE = re.compile(
    r"\s*(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:(?:T|\s{1,2})(?P<H>\d{2})(?P<s>[:.])(?P<M>\d{2})(?:(?P=s)\d{2}(?:[.,]\d{1,9})?)?"
    r"\s?(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?)?)?\s*"
)


@dataclass(frozen=True, slots=True)
class DanishDate:
    """One date expression read from a text.

    Attributes:
        start: The date, or a tz-aware Europe/Copenhagen datetime when a time was given.
        end: The end of a range (same types as ``start``), else None.
        precision: ``"minute"``, ``"day"``, ``"month"`` or ``"year"``.
        text: The exact substring that was read.
        start_pos: Offset of ``text`` in the input.
        end_pos: Offset just past ``text`` in the input.
    """

    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None
    precision: str
    text: str
    start_pos: int
    end_pos: int

    def iso(self) -> str:
        """Return the start as ISO 8601 cut to the precision.

        Returns:
            ``YYYY-MM-DDTHH:MM`` with a time, ``YYYY-MM-DD`` for a day, ``YYYY-MM`` for a month,
            ``YYYY`` for a year.
        """
        return _format(self.start, self.precision)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (for the CLI).

        Returns:
            ``iso``, ``start``, ``end`` (full ISO 8601 values, ``end`` may be None),
            ``precision``, ``text``, ``start_pos`` and ``end_pos``.
        """
        return {
            "iso": self.iso(),
            "start": self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "precision": self.precision,
            "text": self.text,
            "start_pos": self.start_pos,
            "end_pos": self.end_pos,
        }


def _format(value: dt.date | dt.datetime, precision: str) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if precision == "year":
        return f"{value.year:04d}"
    return value.isoformat()


@dataclass(slots=True)
class _Piece:
    """A scanned fragment: a date (maybe year-less), a month, a time or a resolved value."""

    kind: str  # "date", "month", "time", "value", "skip"
    start: int
    end: int
    year: int | None = None
    month: int = 1
    day: int = 1
    end_day: int | None = None
    weekday: int | None = None
    hour: int | None = None
    minute: int = 0
    tz: dt.tzinfo | None = None
    value: tuple[dt.date | dt.datetime, dt.date | dt.datetime | None, str] | None = None
    attachable: bool = False  # a relative day that takes a following time


def _key(word: str) -> str:
    return "".join(word.lower().rstrip(".").split())


def _two_digit_year(yy: int, ref: dt.date | None) -> int:
    """Expand ``YY`` to the latest year ending in YY that is <= ref.year + 1 (else 1970-2069)."""
    if ref is None:
        return 2000 + yy if yy <= 69 else 1900 + yy
    pivot = ref.year + 1
    return pivot - (pivot - yy) % 100


def _tz(label: str | None) -> dt.tzinfo | None:
    if label is None or label.upper() in ("CEST", "CET"):
        return None
    if label.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if label[0] == "-" else 1
    digits = label[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    if minutes > 18 * 60:
        return None
    return dt.timezone(sign * dt.timedelta(minutes=minutes))


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _shift_month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _relative(m: re.Match[str], ref: dt.datetime | None) -> _Piece:
    """Resolve a relative expression against ``ref`` (value None when there is no reference)."""
    piece = _Piece("value", m.start(), m.end())
    piece.attachable = m["r_day"] is not None
    if ref is not None:
        try:
            _resolve_relative(piece, m, ref)
        except (ValueError, OverflowError):  # "for 999 år siden" from year 1000
            piece.value = None
        if piece.value is not None and not _MIN_YEAR <= piece.value[0].year <= _MAX_YEAR:
            piece.value = None
    return piece


def _resolve_relative(piece: _Piece, m: re.Match[str], ref: dt.datetime) -> None:
    today = ref.date()
    g = m.groupdict()
    if g["r_day"]:
        piece.value = (today + dt.timedelta(days=_RELATIVE_DAYS[g["r_day"].lower()]), None, "day")
    elif g["r_an"] or g["r_in"]:
        amount = _number(g["r_an"] or g["r_in"]) * (-1 if g["r_an"] else 1)
        unit = (g["r_au"] or g["r_iu"]).lower()
        if unit.startswith("dag"):
            piece.value = (today + dt.timedelta(days=amount), None, "day")
        elif unit.startswith("uge"):
            piece.value = (today + dt.timedelta(weeks=amount), None, "day")
        elif unit.startswith(("måned", "md")):
            piece.value = (_shift_month(today, amount), None, "month")
        elif unit == "år":
            piece.value = (dt.date(today.year + amount, 1, 1), None, "year")
        elif ref.tzinfo is not None:  # hours/minutes need a clock time to count from
            delta = dt.timedelta(hours=amount) if unit.startswith("time") else dt.timedelta(minutes=amount)
            moment = (ref.astimezone(dt.UTC) + delta).astimezone(COPENHAGEN)
            piece.value = (moment.replace(second=0, microsecond=0), None, "minute")
    elif g["r_pd"]:
        step = {"sidste": -1, "forrige": -1, "næste": 1, "kommende": 1}.get(g["r_pd"].lower(), 0)
        unit = g["r_pu"].lower()
        if unit == "uge":
            monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=step)
            piece.value = (monday, monday + dt.timedelta(days=6), "day")
        elif unit == "måned":
            piece.value = (_shift_month(today, step), None, "month")
        else:
            piece.value = (dt.date(today.year + step, 1, 1), None, "year")
    elif g["r_yr"]:
        piece.value = (dt.date(today.year - (g["r_yr"].lower() == "fjor"), 1, 1), None, "year")
    elif g["r_wdp"]:
        back = (today.weekday() - _WEEKDAYS[g["r_wdp"].lower()] - 1) % 7 + 1
        piece.value = (today - dt.timedelta(days=back), None, "day")
    elif g["r_wdn"]:
        target = _WEEKDAYS[g["r_wdn"].lower()]
        if g["r_wdd"].lower() in ("sidste", "forrige"):
            offset = -((today.weekday() - target - 1) % 7 + 1)
        else:
            offset = (target - today.weekday() - 1) % 7 + 1
        piece.value = (today + dt.timedelta(days=offset), None, "day")
        piece.kind = "weekday"
    elif g["r_wdw"]:
        step = {"sidste": -1, "forrige": -1, "næste": 1, "kommende": 1}.get(g["r_wdwd"].lower(), 0)
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=step)
        piece.value = (monday + dt.timedelta(days=_WEEKDAYS[g["r_wdw"].lower()]), None, "day")


def _piece(m: re.Match[str], ref: dt.datetime | None) -> _Piece:
    """Turn one scanner match into a piece (no validation of the calendar yet)."""
    g = m.groupdict()
    start, end = m.start(), m.end()
    ref_day = None if ref is None else ref.date()
    if g["iso"]:
        piece = _Piece("date", start, end, int(g["i_y"]), int(g["i_m"]), int(g["i_d"]))
        if g["i_H"]:
            piece.hour, piece.minute = int(g["i_H"]), int(g["i_M"])
            tz = g["i_tz"]
            # A numeric offset after a short time is more likely a time range ("10:00-12:00").
            if tz and tz[0] in "+-" and g["i_t"] != "T" and not g["i_S"]:
                piece.end = m.start("i_tz")
            else:
                piece.tz = _tz(tz)
        return piece
    if g["txt"]:
        day = int(g["t_d"])
        month = _MONTHS[_key(g["t_m1"] or g["t_m2"])]
        year = int(g["t_y"]) if g["t_y"] else None
        if g["t_yy"]:
            year = _two_digit_year(int(g["t_yy"]), ref_day)
        piece = _Piece("date", start, end, year, month, day)
        piece.weekday = _WEEKDAYS[_key(g["wd"])] if g["wd"] else None
        if g["t_d0"]:
            piece.day = int(g["t_d0"])
            piece.end_day = None if g["t_rs"].lower() == "og" else day
        return piece
    if g["num"]:
        weekday = _WEEKDAYS[_key(g["wd"])] if g["wd"] else None
        raw_year = g["n_y"] or g["n_y2"] or g["n_y3"]
        year = None
        if raw_year is not None:
            year = int(raw_year) if len(raw_year) == 4 else _two_digit_year(int(raw_year), ref_day)
        elif start == m.start("n_d") and not _RANGE_AHEAD.match(m.string, end):
            # a year-less "5/6" or "14.03" needs "den", "d.", a weekday or a range ("26/6 - 8/8")
            return _Piece("skip", start, end)
        month = int(g["n_m"] or g["n_m2"] or g["n_m4"] or g["n_m5"])
        piece = _Piece("date", start, end, year, month, int(g["n_d"]))
        piece.weekday = weekday
        if g["n_d0"]:
            piece.day, piece.end_day = int(g["n_d0"]), int(g["n_d"])
        return piece
    if g["my"]:
        return _Piece("month", start, end, int(g["my_y"]), _MONTHS[_key(g["my_m"])])
    if g["my2"]:
        year = _two_digit_year(int(g["my2_y"]), ref_day)
        return _Piece("month", m.start("my2_m"), end, year, _MONTHS[_key(g["my2_m"])])
    if g["rel"]:
        return _relative(m, ref)
    hour = int(g["tk_H"] or g["tc_H"])
    minute = int(g["tk_M"] or g["tc_M"] or 0)
    if hour > 23 or minute > 59:
        return _Piece("skip", start, end)
    return _Piece("time", start, end, hour=hour, minute=minute, tz=_tz(g["tm_tz"]))


class _Pieces:
    """The scanner's pieces with one piece of look-ahead."""

    def __init__(self, text: str, ref: dt.datetime | None) -> None:
        self._matches = _SCAN.finditer(text)
        self._ref = ref
        self._next: _Piece | None = None

    def peek(self) -> _Piece | None:
        if self._next is None:
            match = next(self._matches, None)
            self._next = None if match is None else _piece(match, self._ref)
        return self._next

    def pop(self) -> _Piece | None:
        piece = self.peek()
        self._next = None
        return piece


def _valid(year: int, month: int, day: int) -> dt.date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _guess_year(piece: _Piece, ref: dt.datetime | None) -> int | None:
    """The year nearest to ``ref`` for a year-less date; its weekday, if given, must agree."""
    if ref is None:
        return None
    today = ref.date()
    best: tuple[int, int] | None = None
    for year in range(today.year - 1, today.year + 2):
        day = _valid(year, piece.month, piece.day)
        if day is None or (piece.weekday is not None and day.weekday() != piece.weekday):
            continue
        distance = abs((day - today).days)
        if best is None or distance < best[0]:
            best = (distance, year)
    return None if best is None else best[1]


def _moment(piece: _Piece, year: int) -> dt.date | dt.datetime | None:
    day = _valid(year, piece.month, piece.day)
    if day is None or piece.hour is None:
        return day
    if piece.tz is None:
        return dt.datetime.combine(day, dt.time(piece.hour, piece.minute), COPENHAGEN)
    aware = dt.datetime.combine(day, dt.time(piece.hour, piece.minute), piece.tz)
    return aware.astimezone(COPENHAGEN)


def _attach_time(piece: _Piece, pieces: _Pieces, text: str) -> None:
    """Give a date (or "i dag") the time right after it, and a year written after that time."""
    if piece.hour is not None or not (piece.kind == "date" or piece.attachable):
        return
    nxt = pieces.peek()
    if nxt is not None and nxt.kind == "time" and _TIME_GAP.fullmatch(text, piece.end, nxt.start):
        pieces.pop()
        piece.hour, piece.minute, piece.tz, piece.end = nxt.hour, nxt.minute, nxt.tz, nxt.end
    elif bare := _BARE_TIME.match(text, piece.end):  # "12.12.2019 16.30": no "kl.", dotted
        while (nxt := pieces.peek()) is not None and nxt.start < bare.end():
            pieces.pop()
        piece.hour, piece.minute, piece.end = int(bare[1]), int(bare[2]), bare.end()
    else:
        return
    if piece.kind == "date" and piece.year is None:
        year = _YEAR_AFTER_TIME.match(text, piece.end)
        if year:
            piece.year, piece.end = int(year[1]), year.end()


def _finish(
    first: _Piece,
    last: _Piece | None,
    ref: dt.datetime | None,
    text: str,
) -> DanishDate | None:
    """Validate a piece (or a range of two) into a DanishDate; None if it is not a real date."""
    stop = first.end if last is None else last.end
    if first.value is not None:
        start_value, end_value, precision = first.value
        if first.hour is not None:
            start_value = dt.datetime.combine(start_value, dt.time(first.hour, first.minute), COPENHAGEN)
            precision = "minute"
        return DanishDate(start_value, end_value, precision, text[first.start : stop], first.start, stop)
    if first.kind not in ("date", "month"):
        return None
    year = first.year
    if year is None and last is not None and last.year is not None:
        year = last.year - ((first.month, first.day) > (last.month, last.day))
    if year is None:
        year = _guess_year(first, ref)
    if year is None:
        return None
    start = _moment(first, year)
    if start is None:
        return None
    end: dt.date | dt.datetime | None = None
    if first.end_day is not None:
        end = _valid(year, first.month, first.end_day)
        if end is None or end <= _as_date(start):
            return None
    if last is not None:
        end_year = last.year if last.year is not None else year + ((last.month, last.day) < (first.month, first.day))
        end = _moment(last, end_year)
        if end is None or _as_date(end) < _as_date(start):
            return None
    precision = "month" if first.kind == "month" else "day" if first.hour is None else "minute"
    return DanishDate(start, end, precision, text[first.start : stop], first.start, stop)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _reference(relative_to: dt.date | dt.datetime | None) -> dt.datetime | None:
    """Normalise ``relative_to``: naive datetimes are Copenhagen time; a date has no clock time."""
    if relative_to is None:
        return None
    if isinstance(relative_to, dt.datetime):
        if relative_to.tzinfo is None:
            return relative_to.replace(tzinfo=COPENHAGEN)
        try:
            return relative_to.astimezone(COPENHAGEN)
        except (OverflowError, ValueError) as error:
            raise ValueError(f"relative_to {relative_to!r} is out of range") from error
    if isinstance(relative_to, dt.date):
        return dt.datetime(relative_to.year, relative_to.month, relative_to.day)  # naive: no clock
    raise TypeError(f"relative_to must be a date, a datetime or None, not {type(relative_to)!r}")


def _iter_dates(text: str, ref: dt.datetime | None) -> Iterator[tuple[DanishDate, bool]]:
    """Yield every date expression of ``text`` in order, non-overlapping, with a "weak" flag.

    Weak results are relative weekdays ("på onsdag"), which a full date elsewhere outranks.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    text = text[:MAX_INPUT_CHARS]
    only_year = _YEAR_ONLY.fullmatch(text) if len(text) < 110 else None
    if only_year:
        year = int(only_year[1])
        if _MIN_YEAR <= year <= _MAX_YEAR:
            found = DanishDate(
                dt.date(year, 1, 1),
                None,
                "year",
                only_year[1],
                only_year.start(1),
                only_year.end(1),
            )
            yield found, False
        return
    pieces = _Pieces(text, ref)
    while (piece := pieces.pop()) is not None:
        if piece.kind == "time":  # "kl. 19.00 den 4. januar 2021": a time just before a date
            nxt = pieces.peek()
            if not (
                nxt is not None
                and nxt.kind == "date"
                and nxt.hour is None
                and _TIME_BEFORE_GAP.fullmatch(text, piece.end, nxt.start)
            ):
                continue
            pieces.pop()
            nxt.hour, nxt.minute, nxt.tz, nxt.start = (
                piece.hour,
                piece.minute,
                piece.tz,
                piece.start,
            )
            piece = nxt
        if piece.kind == "skip":
            continue
        _attach_time(piece, pieces, text)
        last = None
        nxt = pieces.peek()
        if (
            piece.kind in ("date", "month")
            and piece.end_day is None
            and nxt is not None
            and nxt.kind == piece.kind
            and nxt.end_day is None
            and _RANGE_GAP.fullmatch(text, piece.end, nxt.start)
        ):
            pieces.pop()
            _attach_time(nxt, pieces, text)
            last = nxt
            result = _finish(piece, last, ref, text)
            if result is None:  # not a real range: read the two dates on their own
                result = _finish(piece, None, ref, text)
                if result is not None:
                    yield result, False
                result = _finish(nxt, None, ref, text)
            if result is not None:
                yield result, False
            continue
        if (
            piece.kind == "date"
            and piece.year is None
            and nxt is not None
            and nxt.kind == "date"
            and nxt.year is not None
            and _LIST_GAP.fullmatch(text, piece.end, nxt.start)
        ):  # "den 13. marts og den 14. marts 2020": the year is shared, but it is no range
            piece.year = nxt.year - ((piece.month, piece.day) > (nxt.month, nxt.day))
        result = _finish(piece, None, ref, text)
        if result is not None:
            yield result, piece.kind == "weekday"


def find_danish_dates(text: str, *, relative_to: dt.date | dt.datetime | None = None) -> list[DanishDate]:
    """Find every date expression in a (long) Danish text.

    Args:
        text: Any text; only the first ``MAX_INPUT_CHARS`` characters are read.
        relative_to: The reference for year-less and relative expressions (the page's own date or
            the fetch time). Naive datetimes are Europe/Copenhagen time. Without it, year-less and
            relative expressions are skipped: the wall clock is never used.

    Returns:
        The dates in text order, non-overlapping, with their positions.

    Raises:
        TypeError: If ``text`` is not a str or ``relative_to`` not a date/datetime/None.
        ValueError: If an aware ``relative_to`` cannot be expressed in Europe/Copenhagen.

    """
    return [found for found, _weak in _iter_dates(text, _reference(relative_to))]


def parse_danish_date(text: str, *, relative_to: dt.date | dt.datetime | None = None) -> DanishDate | None:
    """Read the first date expression in a Danish snippet ("Opdateret af X 01.05.18", ...).

    A bare relative weekday ("på onsdag") yields to a later full date. If the regex layer finds
    nothing in a short snippet that holds a four-digit year, dateparser's Danish locale gets a
    last try (e.g. "maj 5, 2020").

    Args:
        text: The snippet.
        relative_to: See :func:`find_danish_dates`.

    Returns:
        The first date, or None if there is none.

    Raises:
        TypeError: If ``text`` is not a str or ``relative_to`` not a date/datetime/None.
        ValueError: If an aware ``relative_to`` cannot be expressed in Europe/Copenhagen.

    """
    ref = _reference(relative_to)
    weekday_hit = None
    for found, weak in _iter_dates(text, ref):
        if not weak:
            return found
        weekday_hit = weekday_hit or found
    return weekday_hit or _dateparser_fallback(text, ref)


def _dateparser_fallback(text: str, ref: dt.datetime | None) -> DanishDate | None:
    """Last resort for short snippets with a month name and a year: dateparser (da, DMY).

    The result is accepted only if its year is written in the snippet (dateparser fills missing
    parts from the wall clock and reads "kl. 17" as 2017).
    """
    stripped = text.strip()
    if not (
        8 <= len(stripped) <= 40 and _FALLBACK_YEAR.search(stripped) and _FALLBACK_MONTH.search(stripped)
    ):  # numeric forms are all the regex layer's; dateparser only gets odd word orders
        return None
    import dateparser  # lazy: importing it costs about half a second

    settings: dict[str, Any] = {
        "DATE_ORDER": "DMY",
        "REQUIRE_PARTS": ["day", "month", "year"],
        "STRICT_PARSING": True,
        "RELATIVE_BASE": (ref or dt.datetime(2000, 1, 1)).replace(tzinfo=None),
    }
    try:
        parsed = dateparser.parse(stripped, languages=["da"], settings=settings)
    except (ValueError, OverflowError):
        return None
    if parsed is None or str(parsed.year) not in stripped or not (_MIN_YEAR <= parsed.year <= _MAX_YEAR):
        return None
    offset = text.index(stripped)
    start: dt.date | dt.datetime = parsed.date()
    precision = "day"
    if _FALLBACK_TIME.search(stripped):
        start, precision = parsed.replace(second=0, microsecond=0, tzinfo=COPENHAGEN), "minute"
    return DanishDate(start, None, precision, stripped, offset, offset + len(stripped))


def parse_machine_date(value: str) -> DanishDate | None:
    """Read a machine-written stamp from a meta tag or attribute.

    Reads ISO 8601 with or without an offset or ``Z`` (converted to Europe/Copenhagen), the
    dotted-time form ``2026-08-18 06.28`` (06:28, not 06:00:00.28), ``2026-08-14 12:59:14``,
    ``2022-06-22``, ``2022-06``, ``2022`` and RFC 2822 (``Fri, 08 May 2026 09:01:37 GMT``);
    anything else goes to :func:`parse_danish_date` without a reference. Naive stamps are
    Europe/Copenhagen local time.

    Args:
        value: The attribute value.

    Returns:
        The date (precision minute with a time), or None.

    Raises:
        TypeError: If ``value`` is not a str.

    """
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, not {type(value).__name__}")
    m = _MACHINE.fullmatch(value[:200])
    if m is None:
        return _rfc2822(value) or parse_danish_date(value)
    year, month, day = int(m["y"]), int(m["m"] or 1), int(m["d"] or 1)
    precision = "minute" if m["H"] else "day" if m["d"] else "month" if m["m"] else "year"
    start: dt.date | dt.datetime | None = _valid(year, month, day)
    if start is None or (m["m"] and not 1 <= month <= 12):
        return None
    if m["H"]:
        hour, minute = int(m["H"]), int(m["M"])
        if hour > 23 or minute > 59:
            return None
        zone = _tz(m["tz"]) if m["tz"] else None
        if m["tz"] and zone is None:
            return None
        moment = dt.datetime.combine(start, dt.time(hour, minute), zone or COPENHAGEN)
        start = moment.astimezone(COPENHAGEN)
    begin = len(value) - len(value.lstrip())
    stop = len(value.rstrip())
    return DanishDate(start, None, precision, value[begin:stop], begin, stop)


def _rfc2822(value: str) -> DanishDate | None:
    """``Fri, 08 May 2026 09:01:37 GMT`` (HTTP headers, some meta tags), else None."""
    stripped = value.strip()
    if not 16 <= len(stripped) <= 40 or not stripped[:3].isalpha() or "," not in stripped[:5]:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(stripped)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=COPENHAGEN)
    moment = parsed.astimezone(COPENHAGEN).replace(second=0, microsecond=0)
    begin = value.index(stripped)
    return DanishDate(moment, None, "minute", stripped, begin, begin + len(stripped))
