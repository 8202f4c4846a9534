"""Tests for pipelines.dates: the Danish date reader (unit, corpus gate, properties, bad input)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipelines.dates as dates
from pipelines.dates import (
    COPENHAGEN,
    DanishDate,
    find_danish_dates,
    parse_danish_date,
    parse_machine_date,
)

CORPUS = Path(__file__).with_name("danish_dates_corpus.tsv")
REF = dt.date(2021, 6, 16)  # a Wednesday

MONTHS = [
    "januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
    "oktober", "november", "december",
]  # fmt: skip
ABBREVIATIONS = [
    "jan.", "febr.", "marts", "apr.", "maj", "juni", "juli", "aug.", "sept.", "okt.", "nov.",
    "dec.",
]  # fmt: skip
WEEKDAYS = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]


def cph(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    """A Europe/Copenhagen datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=COPENHAGEN)


def _end_iso(found: DanishDate) -> str:
    if found.end is None:
        return ""
    if isinstance(found.end, dt.datetime):
        return found.end.strftime("%Y-%m-%dT%H:%M")
    if found.precision == "month":
        return found.end.strftime("%Y-%m")
    if found.precision == "year":
        return f"{found.end.year:04d}"
    return found.end.isoformat()


def _reference(raw: str) -> dt.date | dt.datetime | None:
    if not raw:
        return None
    return dt.datetime.fromisoformat(raw) if "T" in raw else dt.date.fromisoformat(raw)


def load_corpus() -> list[dict[str, str]]:
    """Read the corpus; ``\\n`` and ``\\t`` in the input column stand for a newline and a tab."""
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        row["input"] = row["input"].replace("\\n", "\n").replace("\\t", "\t")
    return rows


# --- the API surface ----------------------------------------------------------------------------


def test_public_names() -> None:
    assert set(dates.__all__) >= {
        "COPENHAGEN", "DanishDate", "find_danish_dates", "parse_danish_date", "parse_machine_date",
    }  # fmt: skip
    assert str(COPENHAGEN) == "Europe/Copenhagen"


def test_result_shape_and_json() -> None:
    found = parse_danish_date("Køge Onsdag - 28. april 2019 kl. 14:05 Af Henrik Førby Jensen")
    assert found is not None
    assert found.start == cph(2019, 4, 28, 14, 5)
    assert isinstance(found.start, dt.datetime)
    assert found.start.utcoffset() == dt.timedelta(hours=2)
    assert found.to_json() == {
        "iso": "2019-04-28T14:05",
        "start": "2019-04-28T14:05:00+02:00",
        "end": None,
        "precision": "minute",
        "text": "28. april 2019 kl. 14:05",
        "start_pos": 14,
        "end_pos": 38,
    }
    with pytest.raises(AttributeError):
        found.precision = "day"  # type: ignore[misc]


# --- first-delivery forms: numeric, textual, times, labels ---------------------------------------


@pytest.mark.parametrize(
    ("text", "iso", "read"),
    [
        ("05.02.18", "2018-02-05", "05.02.18"),
        ("Opdateret af Kirstine Kryger 01.05.18", "2018-05-01", "01.05.18"),
        ("Opdateret af Plan Byg og Miljø 16.06.21", "2021-06-16", "16.06.21"),
        ("Opdateret: 14 august 2026", "2026-08-14", "14 august 2026"),
        ("Dato: 05. November 2019", "2019-11-05", "05. November 2019"),
        ("Senest opdateret:\n\n05. November 2019", "2019-11-05", "05. November 2019"),
        ("Siden er sidst ændret: 07-04-2021 Til top", "2021-04-07", "07-04-2021"),
        ("Publiceret 08.05.2026 09:01", "2026-05-08T09:01", "08.05.2026 09:01"),
        ("Pressemeddelelse den 16. september 2020", "2020-09-16", "den 16. september 2020"),
        ("Byrådet vedtog den 14. marts 2023 planen", "2023-03-14", "den 14. marts 2023"),
        ("3. marts 2024 kl. 14.05", "2024-03-03T14:05", "3. marts 2024 kl. 14.05"),
        ("03.03.2024", "2024-03-03", "03.03.2024"),
        ("18-11-2021", "2021-11-18", "18-11-2021"),
        ("7.2.2019", "2019-02-07", "7.2.2019"),
        ("5/6 2020", "2020-06-05", "5/6 2020"),
        ("5/6-2020", "2020-06-05", "5/6-2020"),
        ("Onsdag d. 1 december 2021", "2021-12-01", "Onsdag d. 1 december 2021"),
        ("Den 27.10.2020 kl. 17:00 i Byrådssalen", "2020-10-27T17:00", "Den 27.10.2020 kl. 17:00"),
        ("24.januar 2020", "2020-01-24", "24.januar 2020"),
        ("fra 2. jan. 2018 for alle", "2018-01-02", "2. jan. 2018"),
        ("5. maj 2020 kl.19.30", "2020-05-05T19:30", "5. maj 2020 kl.19.30"),
        ("5. maj 2020 kl 18", "2020-05-05T18:00", "5. maj 2020 kl 18"),
        ("5. maj 2020 klokken 10.30", "2020-05-05T10:30", "5. maj 2020 klokken 10.30"),
        ("7. JANUAR 2021", "2021-01-07", "7. JANUAR 2021"),
        (
            "19.8.2024 13:36:03 CEST | Vejdirektoratet",
            "2024-08-19T13:36",
            "19.8.2024 13:36:03 CEST",
        ),
        ("Udgivet 2026-05-08T09:01:37Z", "2026-05-08T11:01", "2026-05-08T09:01:37Z"),
    ],
)
def test_first_delivery_forms(text: str, iso: str, read: str) -> None:
    found = parse_danish_date(text)
    assert found is not None
    assert (found.iso(), found.text) == (iso, read)
    assert text[found.start_pos : found.end_pos] == found.text


@pytest.mark.parametrize(
    ("value", "iso", "start"),
    [
        ("2026-05-08T09:01:37Z", "2026-05-08T11:01", cph(2026, 5, 8, 11, 1)),
        ("2026-08-18 06.28", "2026-08-18T06:28", cph(2026, 8, 18, 6, 28)),
        ("2026-08-14 12:59:14", "2026-08-14T12:59", cph(2026, 8, 14, 12, 59)),
        ("2026-01-14T12:59:14+00:00", "2026-01-14T13:59", cph(2026, 1, 14, 13, 59)),
        ("2026-08-14T12:59:14.123+0200", "2026-08-14T12:59", cph(2026, 8, 14, 12, 59)),
        ("2022-06-22", "2022-06-22", dt.date(2022, 6, 22)),
        (" 2022-06-22 ", "2022-06-22", dt.date(2022, 6, 22)),
        ("2022-06", "2022-06", dt.date(2022, 6, 1)),
        ("2022", "2022", dt.date(2022, 1, 1)),
        ("Fri, 08 May 2026 09:01:37 GMT", "2026-05-08T11:01", cph(2026, 5, 8, 11, 1)),
        ("16.06.21", "2021-06-16", dt.date(2021, 6, 16)),
        ("5. maj 2020", "2020-05-05", dt.date(2020, 5, 5)),
    ],
)  # fmt: skip
def test_parse_machine_date(value: str, iso: str, start: dt.date) -> None:
    found = parse_machine_date(value)
    assert found is not None
    assert found.iso() == iso
    assert found.start == start
    assert type(found.start) is type(start)


def test_machine_dotted_time_is_not_fractional_seconds() -> None:
    # datetime.fromisoformat("2026-08-18 06.28") would read 06:00:00.28.
    found = parse_machine_date("2026-08-18 06.28")
    assert found is not None
    assert isinstance(found.start, dt.datetime)
    assert (found.start.hour, found.start.minute, found.precision) == (6, 28, "minute")


@pytest.mark.parametrize("value", ["", "   ", "garbage", "2026-13-01", "2026-02-30", "2026-08-18 25:00", "9999999"])
def test_parse_machine_date_rejects(value: str) -> None:
    assert parse_machine_date(value) is None


def test_machine_date_summer_and_winter_offsets() -> None:
    summer = parse_machine_date("2026-08-14 12:59:14")
    winter = parse_machine_date("2026-01-14 12:59:14")
    assert summer is not None
    assert winter is not None
    assert summer.start.utcoffset() == dt.timedelta(hours=2)  # type: ignore[union-attr]
    assert winter.start.utcoffset() == dt.timedelta(hours=1)  # type: ignore[union-attr]


# --- two-digit years ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "relative_to", "year"),
    [
        ("05.02.18", None, 2018),
        ("12.05.69", None, 2069),
        ("12.05.70", None, 1970),
        ("12.05.98", None, 1998),
        ("05.02.18", dt.date(2026, 11, 27), 2018),
        ("01.01.27", dt.date(2026, 1, 1), 2027),
        ("01.01.28", dt.date(2026, 1, 1), 1928),
        ("01.01.98", dt.date(2026, 1, 1), 1998),
        ("01.01.00", dt.date(1999, 6, 1), 2000),
        ("01.01.01", dt.date(1999, 6, 1), 1901),
    ],
)
def test_two_digit_year_window(text: str, relative_to: dt.date | None, year: int) -> None:
    found = parse_danish_date(text, relative_to=relative_to)
    assert found is not None
    assert found.start.year == year


# --- ranges, year-less, relative ----------------------------------------------------------------


def test_range_shares_the_year() -> None:
    found = parse_danish_date("Høringen forløber i perioden 1. juni – 16. august 2021.")
    assert found is not None
    assert (found.start, found.end) == (dt.date(2021, 6, 1), dt.date(2021, 8, 16))
    assert found.text == "1. juni – 16. august 2021"


def test_range_across_new_year() -> None:
    found = parse_danish_date("28. december - 3. januar 2021")
    assert found is not None
    assert (found.start, found.end) == (dt.date(2020, 12, 28), dt.date(2021, 1, 3))


def test_backwards_range_is_two_dates() -> None:
    found = find_danish_dates("5. maj 2020 - 3. april 2019")
    assert [f.iso() for f in found] == ["2020-05-05", "2019-04-03"]
    assert all(f.end is None for f in found)


def test_year_less_without_reference_is_none() -> None:
    assert parse_danish_date("13. marts") is None
    assert parse_danish_date("fra og med fredag den 13. marts") is None
    listed = find_danish_dates("Mødet er den 13. marts og den 14. marts 2020")
    assert [f.iso() for f in listed] == ["2020-03-13", "2020-03-14"]  # the year is shared


def test_year_less_weekday_must_agree() -> None:
    assert parse_danish_date("torsdag den 13. marts", relative_to=dt.date(2020, 6, 1)) is None
    found = parse_danish_date("fredag den 13. marts", relative_to=dt.date(2020, 6, 1))
    assert found is not None
    assert found.start == dt.date(2020, 3, 13)


def test_year_less_nearest_year() -> None:
    found = parse_danish_date("den 5. januar", relative_to=dt.date(2020, 12, 20))
    assert found is not None
    assert found.start == dt.date(2021, 1, 5)


@pytest.mark.parametrize(
    ("text", "iso", "end"),
    [
        ("i dag", "2021-06-16", None),
        ("i går", "2021-06-15", None),
        ("i forgårs", "2021-06-14", None),
        ("for 3 dage siden", "2021-06-13", None),
        ("for tre dage siden", "2021-06-13", None),
        ("i sidste uge", "2021-06-07", dt.date(2021, 6, 13)),
        ("i mandags", "2021-06-14", None),
        ("i onsdags", "2021-06-09", None),
        ("på onsdag", "2021-06-23", None),
        ("i dag kl. 14.30", "2021-06-16T14:30", None),
        ("for 2 måneder siden", "2021-04", None),
        ("i fjor", "2020", None),
    ],
)
def test_relative(text: str, iso: str, end: dt.date | None) -> None:
    found = parse_danish_date(text, relative_to=REF)
    assert found is not None
    assert (found.iso(), found.end) == (iso, end)
    assert parse_danish_date(text) is None  # never the wall clock


def test_relative_hours_need_a_clock_time() -> None:
    assert parse_danish_date("for 2 timer siden", relative_to=REF) is None
    found = parse_danish_date("for 2 timer siden", relative_to=dt.datetime(2021, 6, 16, 10, 0))
    assert found is not None
    assert found.iso() == "2021-06-16T08:00"


def test_aware_relative_to_is_converted() -> None:
    late_utc = dt.datetime(2021, 6, 15, 23, 30, tzinfo=dt.UTC)  # 01:30 on the 16th in Copenhagen
    found = parse_danish_date("i dag", relative_to=late_utc)
    assert found is not None
    assert found.start == dt.date(2021, 6, 16)


def test_full_date_outranks_bare_weekday() -> None:
    found = parse_danish_date("Vi ses på onsdag, dvs. 23. juni 2021", relative_to=REF)
    assert found is not None
    assert found.iso() == "2021-06-23"
    assert found.text == "23. juni 2021"


# --- find_danish_dates ----------------------------------------------------------------------------


ARTICLE_2018 = """Køge Kommune sætter spot på grøn vækst med international workshop

Køge Kommune deltager i et internationalt udviklingsprojekt med det formål at skabe stærkere \
relationer. Som led i projektet fik Køge Kommune i sidste uge besøg af projektdeltagere fra alle \
tre lande.

05.02.18

Projektet løber frem til december 2018 og skal munde ud i tre konkrete handlingsplaner.

Køge Kommune indgik i juni 2016 i ansøgningen om SBPIN. Projektansøgningen blev godkendt i \
oktober 2016. Den 1. workshop indenfor Green Growth blev afholdt i september 17, og den 2. \
workshop blev afholdt i slutning af januar. Projektet kører fra januar 2017 til december 2018.

Kontakt Mette Lerdorf
Opdateret af Kirstine Kryger 01.05.18"""


def test_find_in_the_2018_article() -> None:
    # Excerpt of /work/shared/examples/koege_2018_article.txt (KOEGE_SITE.md section 0).
    found = find_danish_dates(ARTICLE_2018, relative_to=dt.date(2018, 2, 5))
    assert [(f.iso(), _end_iso(f), f.text) for f in found] == [
        ("2018-01-29", "2018-02-04", "i sidste uge"),
        ("2018-02-05", "", "05.02.18"),
        ("2018-12", "", "december 2018"),
        ("2016-06", "", "juni 2016"),
        ("2016-10", "", "oktober 2016"),
        ("2017-09", "", "september 17"),
        ("2017-01", "2018-12", "januar 2017 til december 2018"),
        ("2018-05-01", "", "01.05.18"),
    ]
    for item in found:
        assert ARTICLE_2018[item.start_pos : item.end_pos] == item.text


def test_find_is_ordered_and_non_overlapping() -> None:
    text = (
        "Dato: 05. November 2019\n\nSenest opdateret:\n\n12. December 2019\n"
        "Mødet den 3. marts 2022 kl. 16.00 – 18.00 og fra 1. juni – 16. august 2021."
    )
    found = find_danish_dates(text)
    assert [f.iso() for f in found] == [
        "2019-11-05",
        "2019-12-12",
        "2022-03-03T16:00",
        "2021-06-01",
    ]
    assert all(a.end_pos <= b.start_pos for a, b in zip(found, found[1:], strict=False))


# --- property tests: format a random value the Danish way, read it back -------------------------

DayFormat = Callable[[dt.date], str]
TimeFormat = Callable[[int, int], str]
PROPERTY = settings(max_examples=150, deadline=None, database=None)
days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
clock = st.tuples(st.integers(0, 23), st.integers(0, 59))
DAY_FORMATS: list[DayFormat] = [
    lambda d: f"{d:%d.%m.%Y}",
    lambda d: f"{d.day}.{d.month}.{d.year}",
    lambda d: f"{d:%d-%m-%Y}",
    lambda d: f"{d.day}/{d.month} {d.year}",
    lambda d: f"{d.day}/{d.month}-{d.year}",
    lambda d: f"{d.day}. {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.day}.{MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{d:%d}. {MONTHS[d.month - 1].capitalize()} {d.year}",
    lambda d: f"{d.day}. {ABBREVIATIONS[d.month - 1]} {d.year}",
    lambda d: f"{d.day}. {MONTHS[d.month - 1]} {d.year}".upper(),
    lambda d: f"{WEEKDAYS[d.weekday()]} den {d.day}. {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"{WEEKDAYS[d.weekday()].capitalize()} d. {d.day} {MONTHS[d.month - 1]} {d.year}",
    lambda d: f"den {d:%d.%m.%Y}",
    lambda d: d.isoformat(),
]
TIME_FORMATS: list[TimeFormat] = [
    lambda h, m: f"kl. {h:02d}.{m:02d}",
    lambda h, m: f"kl.{h}.{m:02d}",
    lambda h, m: f"kl {h}:{m:02d}",
    lambda h, m: f"klokken {h}.{m:02d}",
    lambda h, m: f"{h:02d}:{m:02d}",
    lambda h, m: f"kl. {h}.{m:02d}-{(h + 1) % 24}",
]


@PROPERTY
@given(day=days, form=st.sampled_from(DAY_FORMATS))
def test_round_trip_day(day: dt.date, form: DayFormat) -> None:
    found = parse_danish_date(form(day))
    assert found is not None
    assert (found.start, found.precision, found.end) == (day, "day", None)


@PROPERTY
@given(day=days, at=clock, form=st.sampled_from(DAY_FORMATS[:13]), tform=st.sampled_from(TIME_FORMATS))
def test_round_trip_datetime(day: dt.date, at: tuple[int, int], form: DayFormat, tform: TimeFormat) -> None:
    text = f"{form(day)} {tform(*at)}"
    found = parse_danish_date(text)
    assert found is not None
    assert found.start == dt.datetime.combine(day, dt.time(*at), COPENHAGEN)
    assert found.precision == "minute"
    assert found.iso() == f"{day.isoformat()}T{at[0]:02d}:{at[1]:02d}"


@PROPERTY
@given(day=days)
def test_round_trip_two_digit_year(day: dt.date) -> None:
    found = parse_danish_date(f"Opdateret af Kirstine Kryger {day:%d.%m.%y}", relative_to=day)
    assert found is not None
    assert found.start == day


@PROPERTY
@given(day=days, shift=st.integers(-150, 150), with_weekday=st.booleans())
def test_round_trip_year_less(day: dt.date, shift: int, with_weekday: bool) -> None:
    text = f"den {day.day}. {MONTHS[day.month - 1]}"
    if with_weekday:
        text = f"{WEEKDAYS[day.weekday()]} {text}"
    found = parse_danish_date(text, relative_to=day + dt.timedelta(days=shift))
    assert found is not None
    assert found.start == day


@PROPERTY
@given(day=days, months=st.integers(1, 12))
def test_round_trip_month_year(day: dt.date, months: int) -> None:
    found = parse_danish_date(f"i {MONTHS[months - 1]} {day.year}")
    assert found is not None
    assert (found.start, found.precision) == (dt.date(day.year, months, 1), "month")


@PROPERTY
@given(day=days, length=st.integers(0, 60), form=st.sampled_from(DAY_FORMATS))
def test_round_trip_range(day: dt.date, length: int, form: DayFormat) -> None:
    last = day + dt.timedelta(days=length)
    found = parse_danish_date(f"i perioden fra {form(day)} til og med {form(last)}.")
    assert found is not None
    assert (found.start, found.end) == (day, last)


@PROPERTY
@given(ref=days, count=st.integers(0, 400))
def test_round_trip_relative_days(ref: dt.date, count: int) -> None:
    found = parse_danish_date(f"for {count} dage siden", relative_to=ref)
    assert found is not None
    assert found.start == ref - dt.timedelta(days=count)


@PROPERTY
@given(
    moment=st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2099, 1, 1)),
    offset=st.integers(-12 * 60, 14 * 60),
)
def test_round_trip_machine_iso(moment: dt.datetime, offset: int) -> None:
    aware = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
    found = parse_machine_date(aware.isoformat())
    assert found is not None
    assert found.start == aware.astimezone(COPENHAGEN).replace(second=0, microsecond=0)
    dotted = parse_machine_date(f"{moment:%Y-%m-%d %H.%M}")
    assert dotted is not None
    assert dotted.iso() == f"{moment:%Y-%m-%dT%H:%M}"


@PROPERTY
@given(
    before=st.text(alphabet="abcæøå ,;\n", max_size=40),
    after=st.text(alphabet="abcæøå ,;\n", max_size=40),
    day=days,
    form=st.sampled_from(DAY_FORMATS),
)
def test_find_positions_in_filler(before: str, after: str, day: dt.date, form: DayFormat) -> None:
    written = form(day)
    text = f"{before} {written} {after}"
    found = find_danish_dates(text)
    assert [f.start for f in found] == [day]
    assert found[0].text == written
    assert text[found[0].start_pos : found[0].end_pos] == written


@PROPERTY
@given(text=st.text(max_size=300), ref=st.one_of(st.none(), days))
def test_any_text_is_safe(text: str, ref: dt.date | None) -> None:
    found = find_danish_dates(text, relative_to=ref)
    for item in found:
        assert text[item.start_pos : item.end_pos] == item.text
        assert item.precision in {"minute", "day", "month", "year"}
    assert all(a.end_pos <= b.start_pos for a, b in zip(found, found[1:], strict=False))
    first = parse_danish_date(text, relative_to=ref)
    if found and first is not None:
        assert first in found
    parse_machine_date(text)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n",
        "31.02.2020",
        "30.02.2021",
        "29.02.2021",
        "00.00.00",
        "32.13.2020",
        "5. maj 99999",
        "1.1.99999",
        "99999",
        "99999-01-01",
        "0000-01-01",
        "9999-12-31",
        "5. maj 0999",
        "kl. 25.61",
        "5. maj 2020 kl. 24.00 og 10.-8. juni 2020",
        "\x00\x01\x02",
        "🙂" * 50,
        "1" * 10_000,
        ".-/:" * 2_500,
    ],
)
def test_bad_input_gives_none(text: str) -> None:
    found = parse_danish_date(text, relative_to=REF)
    if text.startswith("5. maj 2020 kl. 24"):  # the impossible time is dropped, the date kept
        assert found is not None
        assert found.iso() == "2020-05-05"
        return
    assert found is None
    assert parse_machine_date(text) is None


def test_ten_kilobytes_of_garbage() -> None:
    rng = __import__("random").Random(3)
    alphabet = "0123456789.-/: abcdefghijklmnopqrstuvwxyzæøå\n"
    garbage = "".join(rng.choice(alphabet) for _ in range(10_000))
    for item in find_danish_dates(garbage, relative_to=REF):
        assert garbage[item.start_pos : item.end_pos] == item.text
    parse_danish_date(garbage)


@pytest.mark.parametrize("unit", ["1.", "den ", "i ", "kl. 1", "onsdag ", "1-", "5. ", "12:00 ", " "])
def test_pathological_repetition_is_bounded(unit: str) -> None:
    text = unit * (200_000 // len(unit))
    assert find_danish_dates(text) == []
    assert parse_danish_date(text) is None


def test_input_is_capped() -> None:
    text = " " * dates.MAX_INPUT_CHARS + "05.02.18"
    assert find_danish_dates(text) == []
    assert parse_danish_date("05.02.18" + " " * (2 * dates.MAX_INPUT_CHARS)) is not None


def test_extreme_references_do_not_crash() -> None:
    for ref in [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(9999, 12, 31, 23, 59)]:
        assert parse_danish_date("i morgen", relative_to=ref) is None
        assert parse_danish_date("13. marts", relative_to=ref) is None
    with pytest.raises(ValueError, match="out of range"):
        parse_danish_date("i dag", relative_to=dt.datetime.max.replace(tzinfo=dt.UTC))


@pytest.mark.parametrize("value", [None, b"05.02.18", 20180205])
def test_wrong_types_are_a_clear_error(value: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        parse_danish_date(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        find_danish_dates(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        parse_machine_date(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="relative_to"):
        parse_danish_date("i dag", relative_to="2021-06-16")  # type: ignore[arg-type]


# --- the corpus gate ----------------------------------------------------------------------------


def test_corpus_accuracy() -> None:
    rows = load_corpus()
    assert len(rows) >= 170
    misses = []
    for row in rows:
        found = parse_danish_date(row["input"], relative_to=_reference(row["relative_to"]))
        got = ("", "") if found is None else (found.iso(), _end_iso(found))
        if got != (row["expected"], row["expected_end"]):
            misses.append(f"{row['input']!r} → {got}, expected {row['expected'], row['expected_end']}")
    accuracy = 1 - len(misses) / len(rows)
    assert accuracy >= 0.99, f"{accuracy:.1%} right; misses:\n" + "\n".join(misses)


def test_corpus_covers_the_issue_forms() -> None:
    notes = " ".join(row["note"] for row in load_corpus())
    for form in [
        "DD.MM.YY",
        "DD.MM.YYYY",
        "D/M YYYY",
        "D/M-YYYY",
        "DD-MM-YYYY",
        "D.M.YYYY",
        "abbreviated",
        "upper case",
        "missing space",
        "weekday",
        "kl.",
        "klokken",
        "time range",
        "date range",
        "month-year",
        "year-less",
        "relative",
        "label",
        "negative",
        "sn.dk",
        "kk.dk",
        "roskilde",
        "odense",
        "stevns",
        "agenda",
    ]:
        assert form.lower() in notes.lower(), form
