"""Speaking values as word prompts: a value becomes the list of word ids the IVR plays in a row.

Asterisk's Say* applications cannot read Vietnamese, so the IVR reads a number, an amount, a date,
a time, a duration or a digit string by playing short word prompts from ``prompts/words.yaml``.
This module is the pure core: no I/O, no catalogue lookup; it returns ids only.

    >>> say("money", 55_000, "vi")    # năm mươi lăm nghìn đồng
    ['num_5', 'tens', 'num_5_lam', 'thousand', 'dong']
    >>> say("number", 105, "en")      # one hundred and five
    ['num_1', 'hundred', 'and', 'num_5']

Kinds: ``number``, ``money`` (đồng), ``kwh``, ``date``, ``time``, ``duration``, ``digits``,
``ordinal``; languages: ``vi``, ``en``. Anything unreadable raises :class:`SpeechError` (a
``ValueError``) naming the value, the kind and what is accepted.

Vietnamese readings (the standard written-out form, as on invoices and in news reading):

- Digits: 0 không, 1 một, 4 bốn, 5 năm. After *mươi* (tens digit 2-9) 1 is *mốt* and 4 is *tư*
  (21 hai mươi mốt, 24 hai mươi tư); after *mười* they stay (11 mười một, 14 mười bốn). 5 is
  *lăm* after mười and mươi (15 mười lăm, 25 hai mươi lăm). "tư" is chosen over the also-heard
  "hai mươi bốn"; "lăm" over the northern "nhăm".
- An empty tens place inside a hundreds group is *linh* (105 một trăm linh năm, 101 một trăm
  linh một, 104 một trăm linh bốn: plain digits after linh). The southern "lẻ" is a text change
  in the catalogue (``zero_tens``), not a rule change.
- Groups of three: nghìn, triệu, tỷ; a number from 10^12 reads its tỷ count with nghìn, so
  1 000 000 000 000 is "một nghìn tỷ". Range: 0 to 10^15 - 1 (just under a million tỷ).
- Empty groups are skipped (2 000 000 hai triệu). Every group spoken after a higher one is read
  with all three places, so one below 100 gets "không trăm" (1 005 một nghìn không trăm linh
  năm; 1 000 005 một triệu không trăm linh năm, not the strict "một triệu không nghìn không trăm
  linh năm" nor the casual "một triệu lẻ năm"; 2 024 000 000 hai tỷ không trăm hai mươi tư triệu).
- Money: the number, then đồng. kWh: the number, then "ki lô oát giờ" (the catalogue may say "số").
- Dates: "ngày <day> tháng <month> năm <year>", all as cardinals: ngày hai mươi tháng mười một năm
  hai nghìn không trăm hai mươi sáu. April is *tháng tư*. Days 1-10 are read without "mồng".
  Years are read as whole numbers (2026 hai nghìn không trăm hai mươi sáu), not digit by digit.
- Times: 24-hour clock, hours and minutes: 07:30 bảy giờ ba mươi phút, 17:00 mười bảy giờ,
  00:00 không giờ; zero minutes are not spoken; seconds are dropped (not rounded); no "rưỡi".
- Durations: the non-zero parts among days, hours, minutes, seconds, largest first, no
  connecting word: hai giờ mười lăm phút; zero is "không giây". Microseconds are dropped;
  round before calling if fewer parts should be spoken.
- Ordinals: thứ + cardinal, except thứ nhất (1st) and thứ tư (4th): thứ hai mươi mốt.

English readings (British):

- "and" after hundred and before a final group below 100: 105 one hundred and five, 1 005 one
  thousand and five, 1 000 005 one million and five; 2 024 000 000 two billion twenty-four
  million. 21 is ``num_20`` + ``num_1``. Short scale: 10^12 is one trillion.
- Money: the number, then "dong" (invariable). kWh: "kilowatt hour" for 1, else "kilowatt hours".
- Dates: "the twentieth of November twenty twenty-six". Years in pairs (1999 nineteen
  ninety-nine, 2010 twenty ten, 1905 nineteen oh five, 1900 nineteen hundred), except years
  whose last three digits are below 10, read as numbers (2000 two thousand, 2005 two thousand
  and five).
- Times: 12-hour clock: 07:30 seven thirty a.m., 07:05 seven oh five a.m., 07:00 seven a.m.,
  12:30 twelve thirty p.m., 12:00 twelve noon, 00:00 twelve midnight, 23:59 eleven fifty-nine p.m.
- Durations: singular or plural units, "and" before the last part: two hours and fifteen minutes.
- Ordinals: first ... nineteenth, twentieth, twenty first (``num_20`` + ``ord_1``) ...

Digit strings (request numbers, customer codes) are read one digit at a time in both languages,
leading zeros kept. A customer code's "PE" prefix is dropped (callers key only the digits); any
other non-digit is refused.

Numbers, money, kWh and ordinals accept ``int`` and whole ``Decimal`` values (SQL Numeric
columns); ``bool`` and ``float`` are refused (a float amount is a bug upstream). Dates accept a
``date`` or a ``datetime`` (its date); times a ``time`` or a ``datetime`` (its time; the time
zone is not spoken).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

__all__ = [
    "KINDS",
    "LANGUAGES",
    "MAX_NUMBER",
    "MAX_ORDINAL",
    "SpeechError",
    "date",
    "digits",
    "duration",
    "kwh",
    "money",
    "number",
    "ordinal",
    "say",
    "time",
]

LANGUAGES = ("vi", "en")
KINDS = ("number", "money", "kwh", "date", "time", "duration", "digits", "ordinal")
MAX_NUMBER = 10**15 - 1  # 999 999 nghìn tỷ; 999 trillion ...
MAX_ORDINAL = 99
_DIGITS = "0123456789"
_CUSTOMER_CODE_PREFIX = "PE"


class SpeechError(ValueError):
    """A value that cannot be spoken: unknown kind or language, wrong type, out of range."""

    code = "ivr.speech_unreadable"


def say(kind: str, value: object, language: str) -> list[str]:
    """The word ids that speak ``value`` as ``kind`` in ``language``; never empty."""
    if language not in LANGUAGES:
        raise SpeechError(
            f"unsupported language {language!r}: use one of {', '.join(LANGUAGES)}")
    vi = language == "vi"
    if kind in ("number", "money", "kwh"):
        n = _whole(value, kind, 0, MAX_NUMBER)
        words = _vi_number(n) if vi else _en_number(n)
        if kind == "money":
            return words + ["dong"]
        if kind == "kwh":
            return words + ["kilowatt_hour" if vi or n == 1 else "kilowatt_hours"]
        return words
    if kind == "ordinal":
        n = _whole(value, kind, 1, MAX_ORDINAL)
        return _vi_ordinal(n) if vi else _en_ordinal(n)
    if kind == "date":
        if not isinstance(value, dt.date):
            raise _unreadable(value, kind, "give a datetime.date or datetime.datetime")
        return _vi_date(value) if vi else _en_date(value)
    if kind == "time":
        if isinstance(value, dt.datetime):
            value = value.time()
        if not isinstance(value, dt.time):
            raise _unreadable(value, kind, "give a datetime.time or datetime.datetime")
        return _vi_time(value) if vi else _en_time(value)
    if kind == "duration":
        if not isinstance(value, dt.timedelta):
            raise _unreadable(value, kind, "give a datetime.timedelta")
        if value < dt.timedelta(0):
            raise _unreadable(value, kind, "a duration cannot be negative")
        return _duration(value, vi)
    if kind == "digits":
        return [f"num_{digit}" for digit in _digit_string(value)]
    raise SpeechError(f"unsupported kind {kind!r}: use one of {', '.join(KINDS)}")


def number(n: int | Decimal, language: str) -> list[str]:
    """A whole number from 0 to :data:`MAX_NUMBER`: 105 một trăm linh năm."""
    return say("number", n, language)


def money(amount: int | Decimal, language: str) -> list[str]:
    """An amount in đồng: 55 000 năm mươi lăm nghìn đồng."""
    return say("money", amount, language)


def kwh(amount: int | Decimal, language: str) -> list[str]:
    """An energy in kWh: 120 một trăm hai mươi ki lô oát giờ."""
    return say("kwh", amount, language)


def date(day: dt.date, language: str) -> list[str]:
    """A calendar date: ngày hai mươi tháng mười một năm hai nghìn không trăm hai mươi sáu."""
    return say("date", day, language)


def time(moment: dt.time | dt.datetime, language: str) -> list[str]:
    """A clock time to the minute: bảy giờ ba mươi phút; seven thirty a.m."""
    return say("time", moment, language)


def duration(length: dt.timedelta, language: str) -> list[str]:
    """A length of time, zero parts skipped: hai giờ mười lăm phút."""
    return say("duration", length, language)


def digits(text: str, language: str) -> list[str]:
    """A digit string one digit at a time, leading zeros kept; a leading "PE" is dropped."""
    return say("digits", text, language)


def ordinal(n: int | Decimal, language: str) -> list[str]:
    """1 to :data:`MAX_ORDINAL`: thứ nhất, thứ tư; first, twenty first."""
    return say("ordinal", n, language)


# -- validation --------------------------------------------------------------------------------

def _unreadable(value: object, kind: str, why: str) -> SpeechError:
    return SpeechError(f"cannot read {value!r} as {kind}: {why}")


def _whole(value: object, kind: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _unreadable(value, kind, "give an int or a whole Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise _unreadable(value, kind, "only whole numbers can be read")
        value = int(value)
    if not low <= value <= high:
        raise _unreadable(value, kind, f"only {low} to {_spaced(high)} can be read")
    return value


def _spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _digit_string(value: object) -> str:
    if not isinstance(value, str):
        raise _unreadable(value, "digits", "give a str (an int would lose leading zeros)")
    text = value
    if text[:2].upper() == _CUSTOMER_CODE_PREFIX:
        text = text[2:]
    if not text or any(c not in _DIGITS for c in text):
        raise _unreadable(value, "digits", "only the digits 0-9 (after an optional PE) are read")
    return text


# -- Vietnamese --------------------------------------------------------------------------------

def _vi_number(n: int) -> list[str]:
    if n == 0:
        return ["num_0"]
    billions, rest = divmod(n, 10**9)
    words: list[str] = []
    if billions:  # up to 999 999: "một nghìn tỷ"
        words += _vi_groups(billions, padded=False) + ["billion"]
    if rest:
        words += _vi_groups(rest, padded=bool(billions))
    return words


def _vi_groups(n: int, padded: bool) -> list[str]:
    """1 <= n < 10**9 as triệu, nghìn and units groups; empty groups are skipped, and every
    group after the first spoken one (or every group, when ``padded``) says its hundreds."""
    words: list[str] = []
    for group, scale in ((n // 10**6, "million"), (n // 1000 % 1000, "thousand"), (n % 1000, "")):
        if group:
            words += _vi_hundreds(group, padded)
            if scale:
                words.append(scale)
            padded = True
    return words


def _vi_hundreds(n: int, padded: bool) -> list[str]:
    """1 <= n <= 999; ``padded`` reads 5 as "không trăm linh năm"."""
    hundreds, rest = divmod(n, 100)
    words = [f"num_{hundreds}", "hundred"] if hundreds or padded else []
    if rest == 0:
        return words
    tens, unit = divmod(rest, 10)
    if tens == 0:
        return words + (["zero_tens"] if words else []) + [f"num_{unit}"]
    words += ["num_10"] if tens == 1 else [f"num_{tens}", "tens"]
    if unit:
        words.append(_vi_unit_after_tens(tens, unit))
    return words


def _vi_unit_after_tens(tens: int, unit: int) -> str:
    if unit == 5:
        return "num_5_lam"  # mười lăm, hai mươi lăm
    if tens >= 2 and unit == 1:
        return "num_1_mot"  # hai mươi mốt (but mười một)
    if tens >= 2 and unit == 4:
        return "num_4_tu"  # hai mươi tư (but mười bốn)
    return f"num_{unit}"


def _vi_ordinal(n: int) -> list[str]:
    if n == 1:
        return ["ordinal", "num_1_nhat"]
    if n == 4:
        return ["ordinal", "num_4_tu"]
    return ["ordinal"] + _vi_number(n)


def _vi_date(day: dt.date) -> list[str]:
    month = ["num_4_tu"] if day.month == 4 else _vi_number(day.month)
    return (["day"] + _vi_number(day.day) + ["month"] + month
            + ["year"] + _vi_number(day.year))


def _vi_time(moment: dt.time) -> list[str]:
    words = _vi_number(moment.hour) + ["hour"]
    if moment.minute:
        words += _vi_number(moment.minute) + ["minute"]
    return words


# -- English -----------------------------------------------------------------------------------

_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))


def _en_number(n: int) -> list[str]:
    if n == 0:
        return ["num_0"]
    words: list[str] = []
    for size, scale in _EN_SCALES:
        group, n = divmod(n, size)
        if group:
            words += _en_hundreds(group) + [scale]
    if n:
        if words and n < 100:
            words.append("and")  # one thousand and five
        words += _en_hundreds(n)
    return words


def _en_hundreds(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [f"num_{hundreds}", "hundred"] if hundreds else []
    if rest:
        if words:
            words.append("and")  # one hundred and five
        words += _en_below_100(rest)
    return words


def _en_below_100(n: int) -> list[str]:
    if n < 20:
        return [f"num_{n}"]
    tens, unit = divmod(n, 10)
    return [f"num_{tens * 10}"] + ([f"num_{unit}"] if unit else [])


def _en_ordinal(n: int) -> list[str]:
    if n < 20:
        return [f"ord_{n}"]
    tens, unit = divmod(n, 10)
    return [f"num_{tens * 10}", f"ord_{unit}"] if unit else [f"ord_{n}"]


def _en_year(year: int) -> list[str]:
    if year < 1000 or year % 1000 < 10:
        return _en_number(year)  # two thousand and five
    century, rest = divmod(year, 100)
    if rest == 0:
        return _en_below_100(century) + ["hundred"]  # nineteen hundred
    if rest < 10:
        return _en_below_100(century) + ["oh", f"num_{rest}"]  # nineteen oh five
    return _en_below_100(century) + _en_below_100(rest)  # twenty twenty six


def _en_date(day: dt.date) -> list[str]:
    return ["the"] + _en_ordinal(day.day) + ["of", f"month_{day.month}"] + _en_year(day.year)


def _en_time(moment: dt.time) -> list[str]:
    hour, minute = moment.hour, moment.minute
    if minute == 0 and hour in (0, 12):
        return ["num_12", "midnight" if hour == 0 else "noon"]
    words = [f"num_{hour % 12 or 12}"]
    if minute:
        words += ["oh", f"num_{minute}"] if minute < 10 else _en_below_100(minute)
    return words + ["am" if hour < 12 else "pm"]


# -- both --------------------------------------------------------------------------------------

def _duration(length: dt.timedelta, vi: bool) -> list[str]:
    hours, rest = divmod(length.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(count, unit) for count, unit in (
        (length.days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second"),
    ) if count] or [(0, "second")]
    words: list[str] = []
    for index, (count, unit) in enumerate(parts):
        if vi:
            words += _vi_number(count) + [unit]
            continue
        if index and index == len(parts) - 1:
            words.append("and")
        words += _en_number(count) + [unit if count == 1 else unit + "s"]
    return words
