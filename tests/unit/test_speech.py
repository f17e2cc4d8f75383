"""Speaking values as word prompts: each table row is a value and the words a caller hears,
written out by hand, compared on the joined catalogue texts so a failure reads as speech.
Property tests check every id against ``prompts/words.yaml`` and re-parse Vietnamese readings
with a parser written here, independently of ``speech.values``, so a wrong rule cannot hide."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from speech import values as speech
from speech.values import MAX_NUMBER, MAX_ORDINAL, SpeechError, say

ROOT = Path(__file__).parent.parent.parent
WORDS: dict[str, dict[str, str]] = YAML(typ="safe").load(
    (ROOT / "prompts" / "words.yaml").read_text(encoding="utf-8"))


def spoken(kind: str, value: object, language: str) -> str:
    return " ".join(WORDS[language][word] for word in say(kind, value, language))


def D(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def T(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# -- Vietnamese numbers --------------------------------------------------------------------------

VI_NUMBERS = [
    (0, "không"),
    (1, "một"),
    (2, "hai"),
    (3, "ba"),
    (4, "bốn"),
    (5, "năm"),
    (6, "sáu"),
    (7, "bảy"),
    (8, "tám"),
    (9, "chín"),
    # 10-19: mười; 1 stays một and 4 stays bốn after mười, 5 becomes lăm
    (10, "mười"),
    (11, "mười một"),
    (12, "mười hai"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (16, "mười sáu"),
    (19, "mười chín"),
    # 20-99: mươi; 1 becomes mốt, 4 becomes tư, 5 becomes lăm
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (22, "hai mươi hai"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (27, "hai mươi bảy"),
    (30, "ba mươi"),
    (31, "ba mươi mốt"),
    (34, "ba mươi tư"),
    (35, "ba mươi lăm"),
    (41, "bốn mươi mốt"),
    (44, "bốn mươi tư"),
    (45, "bốn mươi lăm"),
    (50, "năm mươi"),
    (51, "năm mươi mốt"),
    (55, "năm mươi lăm"),
    (64, "sáu mươi tư"),
    (71, "bảy mươi mốt"),
    (88, "tám mươi tám"),
    (90, "chín mươi"),
    (99, "chín mươi chín"),
    # hundreds: linh for an empty tens place, and plain digits after it
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (102, "một trăm linh hai"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (109, "một trăm linh chín"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (120, "một trăm hai mươi"),
    (121, "một trăm hai mươi mốt"),
    (124, "một trăm hai mươi tư"),
    (125, "một trăm hai mươi lăm"),
    (200, "hai trăm"),
    (205, "hai trăm linh năm"),
    (250, "hai trăm năm mươi"),
    (305, "ba trăm linh năm"),
    (411, "bốn trăm mười một"),
    (444, "bốn trăm bốn mươi tư"),
    (505, "năm trăm linh năm"),
    (515, "năm trăm mười lăm"),
    (555, "năm trăm năm mươi lăm"),
    (901, "chín trăm linh một"),
    (999, "chín trăm chín mươi chín"),
    # thousands: a group after a higher one says its hundreds, "không trăm" when there are none
    (1_000, "một nghìn"),
    (1_001, "một nghìn không trăm linh một"),
    (1_004, "một nghìn không trăm linh bốn"),
    (1_005, "một nghìn không trăm linh năm"),
    (1_010, "một nghìn không trăm mười"),
    (1_011, "một nghìn không trăm mười một"),
    (1_015, "một nghìn không trăm mười lăm"),
    (1_021, "một nghìn không trăm hai mươi mốt"),
    (1_024, "một nghìn không trăm hai mươi tư"),
    (1_100, "một nghìn một trăm"),
    (1_105, "một nghìn một trăm linh năm"),
    (1_234, "một nghìn hai trăm ba mươi tư"),
    (1_999, "một nghìn chín trăm chín mươi chín"),
    (2_000, "hai nghìn"),
    (2_005, "hai nghìn không trăm linh năm"),
    (2_024, "hai nghìn không trăm hai mươi tư"),
    (5_555, "năm nghìn năm trăm năm mươi lăm"),
    (10_000, "mười nghìn"),
    (10_005, "mười nghìn không trăm linh năm"),
    (11_000, "mười một nghìn"),
    (14_000, "mười bốn nghìn"),
    (15_000, "mười lăm nghìn"),
    (21_000, "hai mươi mốt nghìn"),
    (24_000, "hai mươi tư nghìn"),
    (25_000, "hai mươi lăm nghìn"),
    (55_000, "năm mươi lăm nghìn"),
    (100_000, "một trăm nghìn"),
    (101_000, "một trăm linh một nghìn"),
    (105_000, "một trăm linh năm nghìn"),
    (110_000, "một trăm mười nghìn"),
    (125_500, "một trăm hai mươi lăm nghìn năm trăm"),
    (999_999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
    # millions: empty groups are skipped, not read as "không nghìn"
    (1_000_000, "một triệu"),
    (1_000_001, "một triệu không trăm linh một"),
    (1_000_005, "một triệu không trăm linh năm"),
    (1_000_010, "một triệu không trăm mười"),
    (1_000_100, "một triệu một trăm"),
    (1_001_000, "một triệu không trăm linh một nghìn"),
    (1_005_000, "một triệu không trăm linh năm nghìn"),
    (1_015_000, "một triệu không trăm mười lăm nghìn"),
    (1_100_000, "một triệu một trăm nghìn"),
    (1_250_000, "một triệu hai trăm năm mươi nghìn"),
    (2_000_000, "hai triệu"),
    (2_000_500, "hai triệu năm trăm"),
    (15_000_000, "mười lăm triệu"),
    (21_000_021, "hai mươi mốt triệu không trăm hai mươi mốt"),
    (105_105_105, "một trăm linh năm triệu một trăm linh năm nghìn một trăm linh năm"),
    (190_234_500, "một trăm chín mươi triệu hai trăm ba mươi tư nghìn năm trăm"),
    (999_999_999, ("chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn "
                   "chín trăm chín mươi chín")),
    # tỷ, and nghìn tỷ
    (1_000_000_000, "một tỷ"),
    (1_000_000_001, "một tỷ không trăm linh một"),
    (1_000_005_000, "một tỷ không trăm linh năm nghìn"),
    (1_500_000_000, "một tỷ năm trăm triệu"),
    (2_024_000_000, "hai tỷ không trăm hai mươi tư triệu"),
    (2_024_000_005, "hai tỷ không trăm hai mươi tư triệu không trăm linh năm"),
    (10_000_000_000, "mười tỷ"),
    (15_000_000_000, "mười lăm tỷ"),
    (100_000_000_000, "một trăm tỷ"),
    (999_999_999_999, ("chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu "
                       "chín trăm chín mươi chín nghìn chín trăm chín mươi chín")),
    (1_000_000_000_000, "một nghìn tỷ"),
    (1_000_000_000_005, "một nghìn tỷ không trăm linh năm"),
    (1_005_000_000_000, "một nghìn không trăm linh năm tỷ"),
    (1_500_000_000_000, "một nghìn năm trăm tỷ"),
    (21_000_000_000_000, "hai mươi mốt nghìn tỷ"),
    (MAX_NUMBER, ("chín trăm chín mươi chín nghìn chín trăm chín mươi chín tỷ "
                  "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn "
                  "chín trăm chín mươi chín")),
]


def test_the_vietnamese_table_is_large() -> None:
    assert len(VI_NUMBERS) >= 80
    assert len({n for n, _ in VI_NUMBERS}) == len(VI_NUMBERS)


@pytest.mark.parametrize(("n", "heard"), VI_NUMBERS)
def test_vietnamese_number(n: int, heard: str) -> None:
    assert spoken("number", n, "vi") == heard


# -- English numbers (British) -------------------------------------------------------------------

EN_NUMBERS = [
    (0, "zero"),
    (1, "one"),
    (5, "five"),
    (10, "ten"),
    (11, "eleven"),
    (13, "thirteen"),
    (15, "fifteen"),
    (19, "nineteen"),
    (20, "twenty"),
    (21, "twenty one"),
    (45, "forty five"),
    (99, "ninety nine"),
    (100, "one hundred"),
    (101, "one hundred and one"),
    (105, "one hundred and five"),
    (110, "one hundred and ten"),
    (115, "one hundred and fifteen"),
    (121, "one hundred and twenty one"),
    (999, "nine hundred and ninety nine"),
    (1_000, "one thousand"),
    (1_001, "one thousand and one"),
    (1_005, "one thousand and five"),
    (1_010, "one thousand and ten"),
    (1_100, "one thousand one hundred"),
    (1_105, "one thousand one hundred and five"),
    (1_234, "one thousand two hundred and thirty four"),
    (10_000, "ten thousand"),
    (15_000, "fifteen thousand"),
    (21_000, "twenty one thousand"),
    (100_000, "one hundred thousand"),
    (105_000, "one hundred and five thousand"),
    (1_000_000, "one million"),
    (1_000_005, "one million and five"),
    (1_000_100, "one million one hundred"),
    (1_250_000, "one million two hundred and fifty thousand"),
    (1_000_000_000, "one billion"),
    (2_024_000_000, "two billion twenty four million"),
    (2_024_000_099, "two billion twenty four million and ninety nine"),
    (1_000_000_000_000, "one trillion"),
    (MAX_NUMBER, ("nine hundred and ninety nine trillion nine hundred and ninety nine billion "
                  "nine hundred and ninety nine million nine hundred and ninety nine thousand "
                  "nine hundred and ninety nine")),
]


@pytest.mark.parametrize(("n", "heard"), EN_NUMBERS)
def test_english_number(n: int, heard: str) -> None:
    assert spoken("number", n, "en") == heard


# -- money and energy ----------------------------------------------------------------------------

MONEY = [
    ("vi", 0, "không đồng"),
    ("vi", 500, "năm trăm đồng"),
    ("vi", 1_000, "một nghìn đồng"),
    ("vi", 55_000, "năm mươi lăm nghìn đồng"),
    ("vi", 105_000, "một trăm linh năm nghìn đồng"),
    ("vi", 1_250_000, "một triệu hai trăm năm mươi nghìn đồng"),
    ("vi", 1_000_005, "một triệu không trăm linh năm đồng"),
    ("vi", 2_024_000_000, "hai tỷ không trăm hai mươi tư triệu đồng"),
    ("vi", Decimal(55000), "năm mươi lăm nghìn đồng"),
    ("vi", Decimal("1250000.00"), "một triệu hai trăm năm mươi nghìn đồng"),
    ("en", 0, "zero dong"),
    ("en", 1, "one dong"),
    ("en", 55_000, "fifty five thousand dong"),
    ("en", 1_250_000, "one million two hundred and fifty thousand dong"),
]


@pytest.mark.parametrize(("language", "amount", "heard"), MONEY)
def test_money(language: str, amount: int | Decimal, heard: str) -> None:
    assert spoken("money", amount, language) == heard


KWH = [
    ("vi", 0, "không ki lô oát giờ"),
    ("vi", 1, "một ki lô oát giờ"),
    ("vi", 125, "một trăm hai mươi lăm ki lô oát giờ"),
    ("vi", 1_005, "một nghìn không trăm linh năm ki lô oát giờ"),
    ("en", 0, "zero kilowatt hours"),
    ("en", 1, "one kilowatt hour"),
    ("en", 2, "two kilowatt hours"),
    ("en", 105, "one hundred and five kilowatt hours"),
]


@pytest.mark.parametrize(("language", "amount", "heard"), KWH)
def test_kwh(language: str, amount: int, heard: str) -> None:
    assert spoken("kwh", amount, language) == heard


# -- dates ---------------------------------------------------------------------------------------

DATES = [
    ("vi", D("2026-11-20"),
     "ngày hai mươi tháng mười một năm hai nghìn không trăm hai mươi sáu"),
    ("vi", D("2026-01-01"), "ngày một tháng một năm hai nghìn không trăm hai mươi sáu"),
    ("vi", D("2024-04-10"), "ngày mười tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("2024-04-04"), "ngày bốn tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("2024-04-14"), "ngày mười bốn tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("2024-04-24"), "ngày hai mươi tư tháng tư năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("2000-10-21"), "ngày hai mươi mốt tháng mười năm hai nghìn"),
    ("vi", D("2005-12-31"), "ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm linh năm"),
    ("vi", D("2024-05-15"), "ngày mười lăm tháng năm năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("2024-02-25"), "ngày hai mươi lăm tháng hai năm hai nghìn không trăm hai mươi tư"),
    ("vi", D("1999-09-02"), "ngày hai tháng chín năm một nghìn chín trăm chín mươi chín"),
    ("vi", D("2010-07-05"), "ngày năm tháng bảy năm hai nghìn không trăm mười"),
    ("vi", dt.datetime(2026, 11, 20, 7, 30),
     "ngày hai mươi tháng mười một năm hai nghìn không trăm hai mươi sáu"),
    ("en", D("2026-11-20"), "the twentieth of November twenty twenty six"),
    ("en", D("2026-01-01"), "the first of January twenty twenty six"),
    ("en", D("2024-04-10"), "the tenth of April twenty twenty four"),
    ("en", D("2000-10-21"), "the twenty first of October two thousand"),
    ("en", D("2005-12-31"), "the thirty first of December two thousand and five"),
    ("en", D("2024-02-02"), "the second of February twenty twenty four"),
    ("en", D("2024-03-03"), "the third of March twenty twenty four"),
    ("en", D("2024-05-22"), "the twenty second of May twenty twenty four"),
    ("en", D("2010-06-30"), "the thirtieth of June twenty ten"),
    ("en", D("1999-09-11"), "the eleventh of September nineteen ninety nine"),
    ("en", D("1905-08-12"), "the twelfth of August nineteen oh five"),
    ("en", D("1900-07-23"), "the twenty third of July nineteen hundred"),
]


@pytest.mark.parametrize(("language", "day", "heard"), DATES)
def test_date(language: str, day: dt.date, heard: str) -> None:
    assert spoken("date", day, language) == heard


# -- times ---------------------------------------------------------------------------------------

TIMES = [
    ("vi", T("00:00"), "không giờ"),
    ("vi", T("00:05"), "không giờ năm phút"),
    ("vi", T("07:00"), "bảy giờ"),
    ("vi", T("07:05"), "bảy giờ năm phút"),
    ("vi", T("07:15"), "bảy giờ mười lăm phút"),
    ("vi", T("07:30"), "bảy giờ ba mươi phút"),
    ("vi", T("12:30"), "mười hai giờ ba mươi phút"),
    ("vi", T("14:45"), "mười bốn giờ bốn mươi lăm phút"),
    ("vi", T("17:00"), "mười bảy giờ"),
    ("vi", T("21:21"), "hai mươi mốt giờ hai mươi mốt phút"),
    ("vi", T("23:59"), "hai mươi ba giờ năm mươi chín phút"),
    ("vi", T("07:30:59"), "bảy giờ ba mươi phút"),
    ("vi", dt.datetime(2026, 11, 20, 7, 30), "bảy giờ ba mươi phút"),
    ("en", T("00:00"), "twelve midnight"),
    ("en", T("00:30"), "twelve thirty a.m."),
    ("en", T("07:00"), "seven a.m."),
    ("en", T("07:05"), "seven oh five a.m."),
    ("en", T("07:30"), "seven thirty a.m."),
    ("en", T("10:10"), "ten ten a.m."),
    ("en", T("11:59"), "eleven fifty nine a.m."),
    ("en", T("12:00"), "twelve noon"),
    ("en", T("12:30"), "twelve thirty p.m."),
    ("en", T("13:15"), "one fifteen p.m."),
    ("en", T("17:00"), "five p.m."),
    ("en", T("23:59"), "eleven fifty nine p.m."),
    ("en", dt.datetime(2026, 11, 20, 19, 45), "seven forty five p.m."),
]


@pytest.mark.parametrize(("language", "moment", "heard"), TIMES)
def test_time(language: str, moment: dt.time, heard: str) -> None:
    assert spoken("time", moment, language) == heard


# -- durations -----------------------------------------------------------------------------------

def span(days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> dt.timedelta:
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


DURATIONS = [
    ("vi", span(), "không giây"),
    ("vi", span(seconds=30), "ba mươi giây"),
    ("vi", span(minutes=15), "mười lăm phút"),
    ("vi", span(hours=2), "hai giờ"),
    ("vi", span(hours=2, minutes=15), "hai giờ mười lăm phút"),
    ("vi", span(minutes=90), "một giờ ba mươi phút"),
    ("vi", span(hours=3, seconds=5), "ba giờ năm giây"),
    ("vi", span(days=1), "một ngày"),
    ("vi", span(days=1, minutes=5), "một ngày năm phút"),
    ("vi", span(days=1, hours=2, minutes=15), "một ngày hai giờ mười lăm phút"),
    ("vi", span(days=21), "hai mươi mốt ngày"),
    ("vi", dt.timedelta(minutes=5, microseconds=999_999), "năm phút"),
    ("en", span(), "zero seconds"),
    ("en", span(seconds=1), "one second"),
    ("en", span(seconds=45), "forty five seconds"),
    ("en", span(minutes=1), "one minute"),
    ("en", span(minutes=15), "fifteen minutes"),
    ("en", span(hours=2, minutes=15), "two hours and fifteen minutes"),
    ("en", span(hours=1, minutes=1), "one hour and one minute"),
    ("en", span(days=2), "two days"),
    ("en", span(days=1, minutes=5), "one day and five minutes"),
    ("en", span(days=1, hours=2, minutes=15), "one day two hours and fifteen minutes"),
]


@pytest.mark.parametrize(("language", "length", "heard"), DURATIONS)
def test_duration(language: str, length: dt.timedelta, heard: str) -> None:
    assert spoken("duration", length, language) == heard


# -- digit strings and ordinals ------------------------------------------------------------------

DIGITS = [
    ("vi", "0", "không"),
    ("vi", "5", "năm"),
    ("vi", "15", "một năm"),
    ("vi", "007", "không không bảy"),
    ("vi", "19001122", "một chín không không một một hai hai"),
    ("vi", "PE01234567890", "không một hai ba bốn năm sáu bảy tám chín không"),
    ("vi", "pe0411", "không bốn một một"),
    ("en", "0145", "zero one four five"),
    ("en", "PE00000000001", "zero zero zero zero zero zero zero zero zero zero one"),
]


@pytest.mark.parametrize(("language", "text", "heard"), DIGITS)
def test_digits(language: str, text: str, heard: str) -> None:
    assert spoken("digits", text, language) == heard


ORDINALS = [
    ("vi", 1, "thứ nhất"),
    ("vi", 2, "thứ hai"),
    ("vi", 4, "thứ tư"),
    ("vi", 5, "thứ năm"),
    ("vi", 10, "thứ mười"),
    ("vi", 11, "thứ mười một"),
    ("vi", 14, "thứ mười bốn"),
    ("vi", 15, "thứ mười lăm"),
    ("vi", 21, "thứ hai mươi mốt"),
    ("vi", 24, "thứ hai mươi tư"),
    ("vi", 99, "thứ chín mươi chín"),
    ("en", 1, "first"),
    ("en", 2, "second"),
    ("en", 3, "third"),
    ("en", 11, "eleventh"),
    ("en", 12, "twelfth"),
    ("en", 20, "twentieth"),
    ("en", 21, "twenty first"),
    ("en", 30, "thirtieth"),
    ("en", 31, "thirty first"),
    ("en", 42, "forty second"),
    ("en", 99, "ninety ninth"),
]


@pytest.mark.parametrize(("language", "n", "heard"), ORDINALS)
def test_ordinal(language: str, n: int, heard: str) -> None:
    assert spoken("ordinal", n, language) == heard


def test_the_named_functions_are_say_for_their_kind() -> None:
    for language in ("vi", "en"):
        assert speech.number(105, language) == say("number", 105, language)
        assert speech.money(55_000, language) == say("money", 55_000, language)
        assert speech.kwh(1, language) == say("kwh", 1, language)
        assert speech.date(D("2026-04-21"), language) == say("date", D("2026-04-21"), language)
        assert speech.time(T("07:05"), language) == say("time", T("07:05"), language)
        assert speech.duration(span(hours=2), language) == say("duration", span(hours=2),
                                                               language)
        assert speech.digits("0411", language) == say("digits", "0411", language)
        assert speech.ordinal(21, language) == say("ordinal", 21, language)


# -- what cannot be read -------------------------------------------------------------------------

UNREADABLE = [
    ("colour", 1, "vi", "unsupported kind 'colour'"),
    ("number", 1, "fr", "unsupported language 'fr'"),
    ("number", -1, "vi", "only 0 to 999 999 999 999 999"),
    ("money", -5_000, "vi", "only 0 to"),
    ("kwh", -1, "en", "only 0 to"),
    ("number", MAX_NUMBER + 1, "vi", "only 0 to 999 999 999 999 999"),
    ("number", 1.5, "vi", "give an int or a whole Decimal"),
    ("money", 55000.0, "vi", "give an int or a whole Decimal"),
    ("number", True, "vi", "give an int or a whole Decimal"),
    ("number", "12", "vi", "give an int or a whole Decimal"),
    ("number", None, "en", "give an int or a whole Decimal"),
    ("money", Decimal("1.5"), "vi", "only whole numbers"),
    ("money", Decimal("NaN"), "vi", "only whole numbers"),
    ("money", Decimal("Infinity"), "vi", "only whole numbers"),
    ("ordinal", 0, "vi", "only 1 to 99"),
    ("ordinal", 100, "en", "only 1 to 99"),
    ("date", "2026-11-20", "vi", "give a datetime.date"),
    ("date", T("07:30"), "en", "give a datetime.date"),
    ("time", D("2026-11-20"), "vi", "give a datetime.time"),
    ("time", "07:30", "en", "give a datetime.time"),
    ("duration", dt.timedelta(seconds=-1), "vi", "cannot be negative"),
    ("duration", 90, "en", "give a datetime.timedelta"),
    ("digits", "", "vi", "only the digits 0-9"),
    ("digits", "PE", "vi", "only the digits 0-9"),
    ("digits", "12a3", "vi", "only the digits 0-9"),
    ("digits", "12 34", "en", "only the digits 0-9"),
    ("digits", "\u0661\u0662", "en", "only the digits 0-9"),  # Arabic-Indic digits
    ("digits", 411, "vi", "would lose leading zeros"),
]


@pytest.mark.parametrize(("kind", "value", "language", "phrase"), UNREADABLE)
def test_what_cannot_be_read_is_refused_clearly(kind: str, value: object, language: str,
                                               phrase: str) -> None:
    with pytest.raises(SpeechError) as caught:
        say(kind, value, language)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "ivr.speech_unreadable"
    assert phrase in str(caught.value)
    if not phrase.startswith("unsupported"):
        assert f"as {kind}" in str(caught.value) and repr(value) in str(caught.value)


# -- the catalogue -------------------------------------------------------------------------------

def test_the_catalogue_has_a_mapping_per_language_of_snake_case_ids_to_texts() -> None:
    assert set(WORDS) == {"vi", "en"}
    for words in WORDS.values():
        for word, text in words.items():
            assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", word), word
            assert isinstance(text, str) and text == text.strip() and text, word


def every_reading(language: str) -> set[str]:
    """The ids of a sweep of readings that between them use every rule."""
    used: set[str] = set()
    for n in [*range(1200), 10**3, 10**6, 10**9, 10**12]:
        used.update(say("number", n, language))
    for n in (1, 2):
        used.update(say("money", n, language))
        used.update(say("kwh", n, language))
        for unit in ("days", "hours", "minutes", "seconds"):
            used.update(say("duration", dt.timedelta(**{unit: n}), language))
    for n in range(1, MAX_ORDINAL + 1):
        used.update(say("ordinal", n, language))
    for offset in range(366):
        used.update(say("date", D("2024-01-01") + dt.timedelta(days=offset), language))
    for minute in range(24 * 60):
        used.update(say("time", dt.time(minute // 60, minute % 60), language))
    used.update(say("digits", "0123456789", language))
    return used


@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_language_lists_exactly_the_words_it_needs(language: str) -> None:
    used = every_reading(language)
    assert sorted(used - set(WORDS[language])) == [], "ids missing from prompts/words.yaml"
    assert sorted(set(WORDS[language]) - used) == [], "ids in prompts/words.yaml never spoken"


# -- properties ----------------------------------------------------------------------------------

# Numbers with many zero digits reach the skipped-group and "không trăm linh" rules far more often
# than uniform integers do.
sparse_numbers = st.lists(st.sampled_from("0000000123456789"), min_size=1, max_size=15).map(
    lambda digits: int("".join(digits)))
numbers = st.one_of(st.integers(0, MAX_NUMBER), sparse_numbers, st.integers(0, 2_000))
languages = st.sampled_from(["vi", "en"])
readings = st.one_of(
    st.tuples(st.sampled_from(["number", "money", "kwh"]), numbers),
    st.tuples(st.just("ordinal"), st.integers(1, MAX_ORDINAL)),
    st.tuples(st.just("date"), st.dates()),
    st.tuples(st.just("time"), st.times() | st.datetimes()),
    st.tuples(st.just("duration"), st.timedeltas(min_value=dt.timedelta(0))),
    st.tuples(st.just("digits"), st.builds(
        str.__add__, st.sampled_from(["", "PE"]),
        st.text(alphabet="0123456789", min_size=1, max_size=20))),
)


@settings(max_examples=500)
@given(readings, languages)
def test_every_reading_is_spoken_with_catalogue_words(reading: tuple[str, object],
                                                      language: str) -> None:
    kind, value = reading
    words = say(kind, value, language)
    assert words
    assert all(word in WORDS[language] for word in words), words


VI_DIGIT = {"không": 0, "một": 1, "hai": 2, "ba": 3, "bốn": 4,
            "năm": 5, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
AFTER_MUOI = {"một": 1, "hai": 2, "ba": 3, "bốn": 4, "lăm": 5,  # mười: no "năm", "mốt", "tư"
              "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
AFTER_MUOIS = {"mốt": 1, "hai": 2, "ba": 3, "tư": 4, "lăm": 5,  # mươi: no "một", "bốn", "năm"
               "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
GROUP_SCALES = {"triệu": 10**6, "nghìn": 10**3}


class VietnameseNumber:
    """A strict reader of written-out Vietnamese numbers: refuses a wrong variant (hai mươi một,
    mười năm), a missing linh (một trăm năm is 150 in speech, so it is refused), a missing
    "không trăm" after a higher group, and scales out of order."""

    def __init__(self, text: str) -> None:
        self.tokens = text.split()
        self.at = 0

    def peek(self, ahead: int = 0) -> str | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        assert token is not None, "the reading ends too early"
        self.at += 1
        return token

    def value(self) -> int:
        if self.tokens == ["không"]:
            return 0
        total = self.below_billion(padded=False)
        if self.peek() == "tỷ":
            self.take()
            total *= 10**9
            if self.peek() is not None:
                total += self.below_billion(padded=True)
        assert self.peek() is None, f"unexpected {self.peek()!r} at word {self.at}"
        return total

    def below_billion(self, padded: bool) -> int:
        total, last_scale = 0, 10**9
        while self.peek() not in (None, "tỷ"):
            group = self.group(padded)
            padded = True
            scale = GROUP_SCALES[self.take()] if self.peek() in GROUP_SCALES else 1
            assert scale < last_scale, "scales must fall"
            total, last_scale = total + group * scale, scale
            if scale == 1:
                break
        return total

    def group(self, padded: bool) -> int:
        hundreds: int | None = None
        if self.peek(1) == "trăm":
            hundreds = VI_DIGIT[self.take()]
            self.take()
            assert hundreds or padded, "only a group after a higher one says không trăm"
        else:
            assert not padded, "a group after a higher one must say its hundreds"
        word = self.peek()
        if word == "linh":
            assert hundreds is not None, "linh follows trăm"
            self.take()
            rest = VI_DIGIT[self.take()]
            assert rest > 0
        elif word == "mười":
            self.take()
            rest = 10 + (AFTER_MUOI[self.take()] if self.peek() in AFTER_MUOI else 0)
        elif word in VI_DIGIT and self.peek(1) == "mươi":
            tens = VI_DIGIT[self.take()]
            self.take()
            assert tens >= 2, f"{tens} mươi"
            rest = 10 * tens + (AFTER_MUOIS[self.take()] if self.peek() in AFTER_MUOIS else 0)
        elif word in VI_DIGIT and hundreds is None:
            rest = VI_DIGIT[self.take()]
            assert rest > 0, "không is only the whole number zero"
        else:
            rest = 0
        value = (hundreds or 0) * 100 + rest
        assert value > 0, "an empty group is not spoken"
        return value


@pytest.mark.parametrize(("n", "heard"), VI_NUMBERS)
def test_the_reader_reads_the_table(n: int, heard: str) -> None:
    assert VietnameseNumber(heard).value() == n


@pytest.mark.parametrize("wrong", [
    "hai mươi một", "hai mươi bốn", "hai mươi năm", "mười năm", "mười mốt", "mười tư",
    "một trăm năm", "một trăm linh lăm", "một nghìn năm", "không trăm linh năm", "một mươi",
    "một nghìn triệu", "một triệu không nghìn không trăm linh năm", "hai mươi không",
])
def test_the_reader_refuses_wrong_readings(wrong: str) -> None:
    with pytest.raises((AssertionError, KeyError)):
        VietnameseNumber(wrong).value()


@settings(max_examples=1000)
@given(numbers)
def test_vietnamese_numbers_read_back_to_the_same_number(n: int) -> None:
    heard = spoken("number", n, "vi")
    assert VietnameseNumber(heard).value() == n, heard


EN_VALUES = {text: int(word[4:]) for word, text in WORDS["en"].items()
             if re.fullmatch(r"num_\d+", word)}
EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def english_value(text: str) -> int:
    total = group = 0
    for token in text.split():
        if token in EN_VALUES:
            group += EN_VALUES[token]
        elif token == "hundred":
            group *= 100
        elif token in EN_SCALES:
            total, group = total + group * EN_SCALES[token], 0
        else:
            assert token == "and", token
    return total + group


@settings(max_examples=500)
@given(numbers)
def test_english_numbers_read_back_to_the_same_number(n: int) -> None:
    assert english_value(spoken("number", n, "en")) == n


@given(numbers, languages)
def test_money_is_the_number_then_dong(n: int, language: str) -> None:
    assert say("money", n, language) == say("number", n, language) + ["dong"]
