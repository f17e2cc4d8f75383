"""CSV import of customers, bills and planned outages: all rows or none.

    report = import_csv("sqlite:///var/records.db", "customers", Path("customers.csv"))

The file is checked completely first; if any row is wrong, :class:`CsvImportError` lists every
problem as (file, line, field, why) and nothing is written. Then the rows are written in one
transaction. An import only adds rows: it never changes or deletes existing ones.

File format
-----------
UTF-8 (with or without a byte-order mark; Excel's "CSV UTF-8"), comma-separated, fields with
commas or line breaks in double quotes, CRLF or LF line ends. The first line names the columns,
in any order, each exactly once; an unknown or missing column is a problem. Empty lines are
skipped. Line numbers count physical lines, the header being line 1. Text is stored stripped
and in Unicode NFC. Field lengths must fit the columns of records.models.

``customers``
    ``code``             PE followed by 11 digits (PE01000123456); new: not in the file twice,
                         not in the database
    ``name``             required
    ``address``          required
    ``district_company`` code of a district company in the database (PCSG, PCCL ...)
    ``area``             ward code, required (Q5-P02)
    ``feeder``           feeder, required (CL-473)
    ``phones``           0 or more numbers separated by ``;``: mobile 0 + 9 digits
                         (0901234567) or landline 02 + 9 digits (02838221234); +84, spaces, dots
                         and dashes are accepted and stored as 0xxxxxxxxx

``bills``
    ``customer_code``    a customer in the database
    ``period``           billed month, YYYY-MM (stored as its first day); one bill per
                         customer and month, in the file and in the database
    ``kwh``              whole kWh, 0 or more (no separators)
    ``amount``           whole đồng, VAT included, 0 or more (no separators: 234567)
    ``due_date``         YYYY-MM-DD, not before the period starts
    ``paid``             yes/no, true/false, 1/0 (also có/không)
    ``paid_date``        YYYY-MM-DD, required when paid, empty when not, not before the period

``outages``
    ``district_company`` code of a district company in the database
    ``area``             ward code, and/or
    ``feeder``           feeder: at least one of the two
    ``starts_at``        Ho Chi Minh City time, YYYY-MM-DD HH:MM (seconds and a T allowed);
    ``ends_at``          after starts_at; stored as naive UTC like every time in the records
    ``reason``           required (Bảo trì, sửa chữa lưới điện)
    ``status``           planned, cancelled or done; empty means planned

Encodings other than UTF-8 are refused with the first bad line, its byte offset and a guess
of what the file is (UTF-16, Windows-1258, Windows-1252), so it can be saved again as UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import pickle
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy import Connection, Table, select
from sqlalchemy.exc import IntegrityError
from tqdm import tqdm  # type: ignore[import-untyped]

from .database import make_engine
from .errors import RecordsError
from .lookups import phone_number
from .models import Bill, Customer, CustomerPhone, DistrictCompany, OutageWindow
from .results import Invalid

__all__ = ["KINDS", "CsvImportError", "ImportReport", "Kind", "RowProblem", "import_csv"]

Kind = Literal["customers", "bills", "outages"]
KINDS: tuple[Kind, ...] = ("customers", "bills", "outages")

LOCAL_OFFSET = timedelta(hours=7)  # Ho Chi Minh City
BATCH = 2_000                      # rows per database check and per insert
PROGRESS_FROM_BYTES = 1 << 20      # smaller files import without progress bars
SHOWN_PROBLEMS = 20                # how many problems str(CsvImportError) lists


@dataclass(frozen=True, order=True)
class RowProblem:
    """One thing wrong with a file. ``field`` is a column name, or ``(header)``, ``(row)``,
    ``(encoding)`` or ``(file)`` for what concerns no single column."""

    file: str
    line: int
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.why}"


class CsvImportError(RecordsError):
    """The file cannot be imported; nothing was written. ``problems`` says where and why."""

    code = "records.import_invalid"

    def __init__(self, path: Path | str, problems: Sequence[RowProblem]) -> None:
        self.path = str(path)
        self.problems: list[RowProblem] = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"\n  ... and {more:,} more" if more > 0 else ""
        count = len(self.problems)
        super().__init__(f"{self.path}: {count:,} problem{'s' if count != 1 else ''}, "
                         f"nothing imported:\n{shown}{tail}")


@dataclass(frozen=True)
class ImportReport:
    kind: Kind
    path: Path
    rows: int                     # data rows in the file, all imported
    written: Mapping[str, int]    # table -> rows inserted
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        tables = ", ".join(f"{table} {count:,}" for table, count in self.written.items())
        return (f"{self.path}: {self.rows:,} {self.kind} rows imported in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s): {tables}")


# -- field parsers: value or a reason ------------------------------------------------------------

class _Bad(str):
    """Why a value is wrong (a str subclass, so parsers return ``value | _Bad``)."""


def _length(table: Any, column: str) -> int:
    length = getattr(table.c[column].type, "length", None)
    assert length is not None, f"{table.name}.{column} has no length"
    return int(length)


_CUSTOMER = Customer.__table__
_OUTAGE = OutageWindow.__table__
_LIMITS = {
    "code": _length(_CUSTOMER, "code"), "name": _length(_CUSTOMER, "name"),
    "address": _length(_CUSTOMER, "address"), "area": _length(_CUSTOMER, "area"),
    "feeder": _length(_CUSTOMER, "feeder"), "phone": _length(CustomerPhone.__table__, "phone"),
    "district_company": _length(DistrictCompany.__table__, "code"),
    "outage_area": _length(_OUTAGE, "area"), "outage_feeder": _length(_OUTAGE, "feeder"),
    "reason": _length(_OUTAGE, "reason"), "status": _length(_OUTAGE, "status"),
}
_INT_MAX = {"kwh": 2**31 - 1, "amount": 2**63 - 1}

_CODE = re.compile(r"PE[0-9]{11}")
_DIGITS = re.compile(r"[0-9]+")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")
_TRUE = {"yes", "true", "1", "có", "co", "y"}
_FALSE = {"no", "false", "0", "không", "khong", "n"}
_STATUSES = ("planned", "cancelled", "done")


def _text(raw: str, limit: int, *, required: bool = True) -> str | _Bad:
    value = unicodedata.normalize("NFC", raw.strip())
    if required and not value:
        return _Bad("required, but empty")
    if len(value) > limit:
        return _Bad(f"{len(value)} characters; at most {limit} fit")
    return value


def _customer_code(raw: str) -> str | _Bad:
    value = raw.strip().upper()
    if not value:
        return _Bad("required, but empty")
    if not _CODE.fullmatch(value):
        return _Bad(f"{raw.strip()!r} is not a customer code: PE followed by 11 digits, "
                    "e.g. PE01000123456")
    return value


def _count(raw: str, name: str) -> int | _Bad:
    value = raw.strip()
    if not value:
        return _Bad("required, but empty")
    if not _DIGITS.fullmatch(value):
        if re.fullmatch(r"[0-9]{1,3}([.,][0-9]{3})+", value):
            return _Bad(f"{value!r}: write the whole number without separators, "
                        f"e.g. {value.replace('.', '').replace(',', '')}")
        if value.startswith("-"):
            return _Bad(f"{value!r} is negative")
        return _Bad(f"{value!r} is not a whole number")
    number = int(value)
    if number > _INT_MAX[name]:
        return _Bad(f"{value} is too large")
    return number


def _period(raw: str) -> date | _Bad:
    value = raw.strip()
    if not value:
        return _Bad("required, but empty")
    match = _MONTH.fullmatch(value)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1900:
        return _Bad(f"{value!r} is not a month written YYYY-MM, e.g. 2025-10")
    return date(int(match[1]), int(match[2]), 1)


def _day(raw: str, *, required: bool = True) -> date | None | _Bad:
    value = raw.strip()
    if not value:
        return _Bad("required, but empty") if required else None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        return _Bad(f"{value!r} is not a date written YYYY-MM-DD, e.g. 2025-11-20")


def _moment(raw: str) -> datetime | _Bad:
    """Local Ho Chi Minh City time -> naive UTC."""
    value = raw.strip()
    if not value:
        return _Bad("required, but empty")
    match = _MOMENT.fullmatch(value)
    try:
        if not match:
            raise ValueError
        local = datetime.combine(date.fromisoformat(match[1]), datetime.min.time()).replace(
            hour=int(match[2]), minute=int(match[3]), second=int(match[4] or 0))
    except ValueError:
        return _Bad(f"{value!r} is not a time written YYYY-MM-DD HH:MM, e.g. 2025-12-01 07:30")
    return local - LOCAL_OFFSET


def _flag(raw: str) -> bool | _Bad:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if not value:
        return _Bad("required, but empty (yes or no)")
    return _Bad(f"{raw.strip()!r} is not yes/no, true/false or 1/0")


def _phone(raw: str) -> str | _Bad:
    phone = phone_number(raw)
    if isinstance(phone, Invalid):
        return _Bad(f"{raw.strip()!r} is {phone.reason}")
    if len(phone) > _LIMITS["phone"]:
        return _Bad(f"{raw.strip()!r} is too long")
    return phone


# -- rows of each kind ---------------------------------------------------------------------------

@dataclass
class _Context:
    """What checks of a row need beyond the row: companies, the keys the file had so far.

    Keys are small (ints for customer codes and bills) so a million rows stay cheap. Only in a
    rescan for the first lines of duplicates is ``wanted`` given: then just those are tracked.
    """

    companies: dict[str, int]                                # district company code -> id
    seen: set[Hashable] = field(default_factory=set)
    duplicates: list[tuple[int, Hashable, str]] = field(default_factory=list)  # line, key, field
    wanted: set[Hashable] | None = None
    first_lines: dict[Hashable, int] = field(default_factory=dict)

    def note(self, line: int, key: Hashable, column: str) -> None:
        if self.wanted is not None:
            if key in self.wanted and key not in self.first_lines:
                self.first_lines[key] = line
        elif key in self.seen:
            self.duplicates.append((line, key, column))
        else:
            self.seen.add(key)


class _CustomerRow(NamedTuple):
    line: int
    code: str
    name: str
    address: str
    district_company_id: int
    area: str
    feeder: str
    phones: tuple[str, ...]


class _BillRow(NamedTuple):
    line: int
    customer_code: str
    customer_key: int  # the code's 11 digits as a number
    period: date
    kwh: int
    amount: int
    due_date: date
    paid: bool
    paid_date: date | None


class _OutageRow(NamedTuple):
    line: int
    district_company_id: int
    area: str | None
    feeder: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    status: str


_Row = _CustomerRow | _BillRow | _OutageRow
_Parser = Callable[[Sequence[str], int, _Context, list[tuple[str, str]]], "_Row | None"]


def _take(problems: list[tuple[str, str]], name: str, value: Any) -> Any:
    if isinstance(value, _Bad):
        problems.append((name, str(value)))
        return None
    return value


def _company(raw: str, context: _Context) -> int | _Bad:
    code = _text(raw, _LIMITS["district_company"])
    if isinstance(code, _Bad):
        return code
    company = context.companies.get(code.upper())
    if company is None:
        if not context.companies:
            return _Bad(f"unknown district company {code!r}: the database has no district "
                        "companies yet; add them first (records.datagen."
                        "ensure_district_companies)")
        return _Bad(f"unknown district company {code!r} (known: "
                    f"{', '.join(sorted(context.companies))})")
    return company


def _code_key(code: str) -> int:
    return int(code[2:])


def _parse_customer(values: Sequence[str], line: int, context: _Context,
                    problems: list[tuple[str, str]]) -> _CustomerRow | None:
    raw_code, raw_name, raw_address, raw_company, raw_area, raw_feeder, raw_phones = values
    code = _take(problems, "code", _customer_code(raw_code))
    name = _take(problems, "name", _text(raw_name, _LIMITS["name"]))
    address = _take(problems, "address", _text(raw_address, _LIMITS["address"]))
    company = _take(problems, "district_company", _company(raw_company, context))
    area = _take(problems, "area", _text(raw_area, _LIMITS["area"]))
    feeder = _take(problems, "feeder", _text(raw_feeder, _LIMITS["feeder"]))
    phones: list[str] = []
    for part in raw_phones.split(";"):
        if part.strip():
            phone = _take(problems, "phones", _phone(part))
            if phone is not None and phone not in phones:
                phones.append(phone)
    if code is not None:
        context.note(line, _code_key(code), "code")
    if problems:
        return None
    return _CustomerRow(line, code, name, address, company, area, feeder, tuple(phones))


def _parse_bill(values: Sequence[str], line: int, context: _Context,
                problems: list[tuple[str, str]]) -> _BillRow | None:
    raw_code, raw_period, raw_kwh, raw_amount, raw_due, raw_paid, raw_paid_date = values
    code = _take(problems, "customer_code", _customer_code(raw_code))
    period = _take(problems, "period", _period(raw_period))
    kwh = _take(problems, "kwh", _count(raw_kwh, "kwh"))
    amount = _take(problems, "amount", _count(raw_amount, "amount"))
    due = _take(problems, "due_date", _day(raw_due))
    paid = _take(problems, "paid", _flag(raw_paid))
    paid_date = _take(problems, "paid_date", _day(raw_paid_date, required=False))
    if period is not None and due is not None and due < period:
        problems.append(("due_date", f"{due} is before the billed month {period:%Y-%m} starts"))
    if paid is True and paid_date is None and not raw_paid_date.strip():
        problems.append(("paid_date", "required for a paid bill"))
    if paid is False and paid_date is not None:
        problems.append(("paid_date", "given for a bill that is not paid"))
    if period is not None and paid_date is not None and paid_date < period:
        problems.append(("paid_date",
                         f"{paid_date} is before the billed month {period:%Y-%m} starts"))
    if code is None or period is None:
        return None
    key = _code_key(code)
    context.note(line, key * 100_000 + period.year * 12 + period.month, "period")
    if problems:
        return None
    return _BillRow(line, code, key, period, kwh, amount, due, paid, paid_date)


def _parse_outage(values: Sequence[str], line: int, context: _Context,
                  problems: list[tuple[str, str]]) -> _OutageRow | None:
    raw_company, raw_area, raw_feeder, raw_starts, raw_ends, raw_reason, raw_status = values
    company = _take(problems, "district_company", _company(raw_company, context))
    area = _take(problems, "area", _text(raw_area, _LIMITS["outage_area"], required=False))
    feeder = _take(problems, "feeder", _text(raw_feeder, _LIMITS["outage_feeder"], required=False))
    if area == "" and feeder == "":
        problems.append(("area", "give the area or the feeder (or both); both are empty"))
    starts = _take(problems, "starts_at", _moment(raw_starts))
    ends = _take(problems, "ends_at", _moment(raw_ends))
    if starts is not None and ends is not None and ends <= starts:
        problems.append(("ends_at", f"{raw_ends.strip()} is not after {raw_starts.strip()}"))
    reason = _take(problems, "reason", _text(raw_reason, _LIMITS["reason"]))
    status = raw_status.strip().lower() or "planned"
    if status not in _STATUSES:
        problems.append(("status", (f"{raw_status.strip()!r} is not one of "
                                    f"{', '.join(_STATUSES)}")))
    if problems:
        return None
    context.note(line, (company, area, feeder, starts, ends), "starts_at")
    return _OutageRow(line, company, area or None, feeder or None, starts, ends, reason, status)


_TABLES: dict[str, tuple[str, ...]] = {
    "customers": ("customers", "customer_phones"), "bills": ("bills",),
    "outages": ("outage_windows",),
}


@dataclass(frozen=True)
class _Schema:
    columns: tuple[str, ...]
    parse: _Parser
    duplicate: str  # what a duplicate is, for the problem text


_SCHEMAS: dict[str, _Schema] = {
    "customers": _Schema(("code", "name", "address", "district_company", "area", "feeder",
                          "phones"), _parse_customer, "the same customer code"),
    "bills": _Schema(("customer_code", "period", "kwh", "amount", "due_date", "paid",
                      "paid_date"), _parse_bill, "a bill of the same customer and month"),
    "outages": _Schema(("district_company", "area", "feeder", "starts_at", "ends_at", "reason",
                        "status"), _parse_outage, "the same outage window"),
}


# -- reading the file ----------------------------------------------------------------------------

def _guess_encoding(sample: bytes) -> str:
    """A human guess at what a non-UTF-8 file is, for the hint."""
    text = sample.decode("cp1258", errors="replace")
    # letters and tone marks Windows-1258 has and Windows-1252 has not (â ê ô are in both)
    vietnamese = set("ăđơưĂĐƠƯ\u0300\u0301\u0303\u0309\u0323")
    if any(ch in vietnamese for ch in text):
        return "Windows-1258 (Vietnamese)"
    try:
        sample.decode("cp1252")
        return "Windows-1252 (Western European)"
    except UnicodeDecodeError:
        return "a legacy code page (TCVN3 or VNI fonts?)"


def _encoding_problem(path: Path, name: str, bar: tqdm) -> tuple[RowProblem | None, int]:
    """(the first line that is not UTF-8, with a hint; number of physical lines)."""
    with path.open("rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        for bom, what in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                          (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
            if head.startswith(bom):
                return RowProblem(name, 1, "(encoding)", (
                    f"the file is {what} (byte-order mark {bom.hex(' ').upper()}), not UTF-8; "
                    "save it as 'CSV UTF-8 (comma delimited)'")), 0
        offset = lines = bad_lines = 0
        first: tuple[int, int, int] | None = None  # line, offset, byte
        sample = b""
        for lines, chunk in enumerate(raw, start=1):
            if b"\x00" in chunk:
                at = offset + chunk.index(b"\x00")
                return RowProblem(name, lines, "(encoding)", (
                    f"NUL byte at byte offset {at}: the file looks "
                    "like UTF-16 without a byte-order mark; save it as 'CSV UTF-8'")), lines
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_lines += 1
                if first is None:
                    first = (lines, offset + error.start, chunk[error.start])
                if len(sample) < 65_536:
                    sample += chunk
            offset += len(chunk)
            if lines % 4096 == 0:
                bar.update(offset - bar.n)
        bar.update(offset - bar.n)
    if first is None:
        return None, lines
    line, at, byte = first
    more = bad_lines - 1
    others = (f"; {more:,} more line{'s are' if more > 1 else ' is'} not UTF-8 either"
              if more else "")
    return RowProblem(name, line, "(encoding)", (
        f"not UTF-8: byte 0x{byte:02X} at byte offset {at}{others}. Save the file as "
        f"UTF-8 ('CSV UTF-8' in Excel); it looks like {_guess_encoding(sample)}")), lines


class _Unreadable(Exception):
    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line = line
        self.why = why


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) of every record, header included; raises
    :class:`_Unreadable` where the csv module gives up (e.g. a field over its size limit)."""
    with path.open(encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text, strict=False)
        line = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise _Unreadable(line, f"cannot read the CSV from here on: {error}") from None
            yield line, fields
            line = reader.line_num + 1


def _header(fields: list[str], name: str, schema: _Schema) -> tuple[list[int], list[RowProblem]]:
    """Index of each schema column in the file's rows, or the header's problems."""
    names = [unicodedata.normalize("NFC", f.strip()).lower() for f in fields]
    expected = ", ".join(schema.columns)
    if not any(names):
        return [], [RowProblem(name, 1, "(header)",
                               f"the first line must name the columns: {expected}")]
    if len(names) == 1 and ";" in names[0]:
        return [], [RowProblem(name, 1, "(header)", (
            "the columns are separated by ';'; save the file with commas (CSV UTF-8)"))]
    problems = []
    for index, column in enumerate(names):
        if column not in schema.columns:
            problems.append(RowProblem(name, 1, column or f"(column {index + 1})",
                                       f"unknown column; the columns are: {expected}"))
        elif names.index(column) != index:
            problems.append(RowProblem(name, 1, column, "this column is named twice"))
    for column in schema.columns:
        if column not in names:
            problems.append(RowProblem(name, 1, column, "missing column"))
    return [names.index(c) if c in names else -1 for c in schema.columns], problems


def _rows(path: Path, name: str, schema: _Schema, context: _Context, problems: list[RowProblem],
          bar: tqdm) -> Iterator[_Row]:
    """Parsed rows; problems of bad rows go to ``problems``. Stops after a bad header."""
    try:
        yield from _parsed_rows(path, name, schema, context, problems, bar)
    except _Unreadable as error:
        problems.append(RowProblem(name, error.line, "(row)", error.why))


def _parsed_rows(path: Path, name: str, schema: _Schema, context: _Context,
                 problems: list[RowProblem], bar: tqdm) -> Iterator[_Row]:
    records = _records(path)
    first = next(records, None)
    if first is None:
        problems.append(RowProblem(name, 1, "(header)", "the file is empty; the first line "
                                   f"must name the columns: {', '.join(schema.columns)}"))
        return
    positions, header_problems = _header(first[1], name, schema)
    if header_problems:
        problems.extend(header_problems)
        return
    width = len(first[1])
    in_order = positions == list(range(width))  # columns as documented: no reordering
    last_line = 1
    for line, fields in records:
        bar.update(line - last_line)
        last_line = line
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # an empty line
        if len(fields) != width:
            problems.append(RowProblem(name, line, "(row)", (
                f"{len(fields)} fields, but the header has {width} (a comma inside a value "
                "needs double quotes around the value)")))
            continue
        values = fields if in_order else [fields[index] for index in positions]
        row_problems: list[tuple[str, str]] = []
        row = schema.parse(values, line, context, row_problems)
        problems.extend(RowProblem(name, line, column, why) for column, why in row_problems)
        if row is not None:
            yield row


# -- checks against the database, then writing ---------------------------------------------------

def _batches(rows: Iterator[_Row], size: int = BATCH) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_customers(connection: Connection, batch: Sequence[_Row], name: str,
                     problems: list[RowProblem]) -> None:
    codes = [row.code for row in batch if isinstance(row, _CustomerRow)]
    existing = set(connection.scalars(select(Customer.code).where(Customer.code.in_(codes))))
    problems.extend(RowProblem(name, row.line, "code", f"{row.code} is already in the database")
                    for row in batch if isinstance(row, _CustomerRow) and row.code in existing)


def _check_bills(connection: Connection, batch: Sequence[_Row], name: str,
                 problems: list[RowProblem], customer_ids: dict[int, int]) -> None:
    bills = [row for row in batch if isinstance(row, _BillRow)]
    wanted = sorted({row.customer_code for row in bills if row.customer_key not in customer_ids})
    for code, found_id in connection.execute(
            select(Customer.code, Customer.id).where(Customer.code.in_(wanted))):
        customer_ids[_code_key(code)] = found_id
    ids = {customer_ids[row.customer_key] for row in bills if row.customer_key in customer_ids}
    existing = set(connection.execute(
        select(Bill.customer_id, Bill.period).where(Bill.customer_id.in_(ids))))
    for row in bills:
        customer_id = customer_ids.get(row.customer_key)
        if customer_id is None:
            problems.append(RowProblem(name, row.line, "customer_code",
                                       f"no customer {row.customer_code} in the database"))
        elif (customer_id, row.period) in existing:
            problems.append(RowProblem(name, row.line, "period", (
                f"{row.customer_code} already has a bill for {row.period:%Y-%m} in the "
                "database")))


def _iso(value: date) -> str:
    return value.isoformat(" ") if isinstance(value, datetime) else value.isoformat()


class _Table:
    """Rows for one table as plain tuples of what the driver stores (each value through its
    column type's dialect bind processor, as SQLAlchemy would), written by executemany."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = connection.dialect
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
        if mark is None:
            raise NotImplementedError(f"paramstyle {dialect.paramstyle} (use SQLite or "
                                      "PostgreSQL)")
        quote = dialect.identifier_preparer
        self.statement = (f"INSERT INTO {quote.format_table(table)} "
                          f"({', '.join(quote.quote(c) for c in columns)}) "
                          f"VALUES ({', '.join([mark] * len(columns))})")
        self.processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, processor) for i, column in enumerate(columns)
            if (processor := table.c[column].type.dialect_impl(dialect).bind_processor(dialect))]
        self.copy = (f"COPY {quote.format_table(table)} "
                     f"({', '.join(quote.quote(c) for c in columns)}) FROM STDIN"
                     if dialect.name == "postgresql" and dialect.driver == "psycopg" else None)
        if self.copy is not None:  # COPY reads ISO text: cheaper to spool and to send
            self.processors = [(i, _iso) for i, column in enumerate(columns)
                               if table.c[column].type.python_type in (date, datetime)]

    def bind(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.processors:
            return row
        values = list(row)
        for i, processor in self.processors:
            if values[i] is not None:
                values[i] = processor(values[i])
        return tuple(values)

    def insert(self, connection: Connection, rows: list[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        if self.copy is None:
            connection.exec_driver_sql(self.statement, rows)
            return len(rows)
        # PostgreSQL through psycopg 3: COPY on the same connection, in the same transaction
        driver_connection: Any = connection.connection.driver_connection
        with driver_connection.cursor() as cursor, cursor.copy(self.copy) as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)


class _Writer:
    """Turns checked rows into write-ready tuples (in the checking pass, for the spool) and
    writes them (in the writing pass)."""

    def __init__(self, connection: Connection, kind: str) -> None:
        self.kind = kind
        tables: dict[str, tuple[Any, tuple[str, ...]]] = {
            "customers": (Customer.__table__, ("code", "name", "address", "district_company_id",
                                               "area", "feeder")),
            "customer_phones": (CustomerPhone.__table__, ("customer_id", "phone")),
            "bills": (Bill.__table__, ("customer_id", "period", "kwh", "amount", "due_date",
                                       "paid", "paid_date")),
            "outage_windows": (OutageWindow.__table__, (
                "district_company_id", "area", "feeder", "starts_at", "ends_at", "reason",
                "status")),
        }
        self.tables = {name: _Table(connection, table, columns)
                       for name, (table, columns) in tables.items() if name in _TABLES[kind]}

    def prepare(self, batch: Sequence[_Row], customer_ids: Mapping[int, int]
                ) -> list[tuple[Any, ...]]:
        if self.kind == "customers":
            customers = self.tables["customers"]
            return [(customers.bind(tuple(row[1:7])), row.phones) for row in batch
                    if isinstance(row, _CustomerRow)]
        if self.kind == "bills":
            bills = self.tables["bills"]
            return [bills.bind((customer_ids[r.customer_key], r.period, r.kwh, r.amount,
                                r.due_date, r.paid, r.paid_date))
                    for r in batch if isinstance(r, _BillRow)]
        outages = self.tables["outage_windows"]
        return [outages.bind(tuple(row[1:])) for row in batch if isinstance(row, _OutageRow)]

    def write(self, connection: Connection, rows: list[tuple[Any, ...]],
              written: dict[str, int]) -> None:
        if self.kind != "customers":
            table = _TABLES[self.kind][0]
            written[table] += self.tables[table].insert(connection, rows)
            return
        written["customers"] += self.tables["customers"].insert(
            connection, [customer for customer, _phones in rows])
        with_phones = [customer[0] for customer, phones in rows if phones]
        ids = {code: customer_id for code, customer_id in connection.execute(
            select(Customer.code, Customer.id).where(Customer.code.in_(with_phones)))}
        written["customer_phones"] += self.tables["customer_phones"].insert(connection, [
            (ids[customer[0]], phone) for customer, phones in rows for phone in phones])


class _Spool:
    """Validated rows, pickled batch by batch to a temporary file: written later exactly as
    checked (the CSV is not read a second time, so it cannot change in between)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="hotline-import-")  # noqa: SIM115 (close())
        self.batches = 0

    def add(self, batch: list[tuple[Any, ...]]) -> None:
        pickle.dump(batch, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.batches += 1

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        self.file.seek(0)
        for _ in range(self.batches):
            yield pickle.load(self.file)

    def close(self) -> None:
        self.file.close()


def _first_lines(path: Path, name: str, schema: _Schema, companies: dict[str, int],
                 keys: set[Hashable]) -> dict[Hashable, int]:
    """Line of the first row with each of ``keys``: a rescan, only when there are duplicates."""
    context = _Context(companies, wanted=keys)
    for _row in _rows(path, name, schema, context, [], tqdm(disable=True)):
        pass
    return context.first_lines


def _open_bar(progress: bool, total: int, desc: str, unit: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=not progress,
                file=sys.stderr, dynamic_ncols=True, leave=False)


def import_csv(url: str, kind: Kind, path: Path, *, progress: bool = True) -> ImportReport:
    """Import ``path`` as ``kind`` rows into the database at ``url`` (migrated already).

    All or nothing: raises :class:`CsvImportError` listing every problem (nothing written),
    or writes every row in one transaction and reports. Progress bars (stderr) are shown for
    files of 1 MiB and more when ``progress``.
    """
    if kind not in _SCHEMAS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    started = time.perf_counter()
    path = Path(path)
    name = str(path)
    schema = _SCHEMAS[kind]
    try:
        stat = path.stat()
        if not path.is_file():
            raise IsADirectoryError(f"{path} is not a file")
    except OSError as error:
        raise CsvImportError(path, [RowProblem(name, 0, "(file)", f"cannot read it: {error}")])
    show = progress and stat.st_size >= PROGRESS_FROM_BYTES
    with _open_bar(show, stat.st_size, f"{path.name}: encoding", "B") as bar:
        encoding, lines = _encoding_problem(path, name, bar)
    if encoding is not None:
        raise CsvImportError(path, [encoding])

    engine = make_engine(url)
    spool = _Spool()
    try:
        with engine.connect() as connection:
            writer = _Writer(connection, kind)
            companies = {code.upper(): company_id for code, company_id in connection.execute(
                select(DistrictCompany.code, DistrictCompany.id))}
            problems: list[RowProblem] = []
            context = _Context(companies)
            customer_ids: dict[int, int] = {}  # customer code key -> id, for bills
            count = 0
            with _open_bar(show, lines, f"{path.name}: checking", " lines") as bar:
                for batch in _batches(_rows(path, name, schema, context, problems, bar)):
                    count += len(batch)
                    if kind == "customers":
                        _check_customers(connection, batch, name, problems)
                    elif kind == "bills":
                        _check_bills(connection, batch, name, problems, customer_ids)
                    if not problems:
                        spool.add(writer.prepare(batch, customer_ids))
            connection.rollback()
        if context.duplicates:
            first = _first_lines(path, name, schema, companies,
                                 {key for _, key, _ in context.duplicates})
            problems.extend(RowProblem(name, line, column, (
                f"{schema.duplicate} is already on line {first.get(key, '?')}"))
                for line, key, column in context.duplicates)
        if problems:
            order = {column: i for i, column in enumerate(schema.columns)}
            problems.sort(key=lambda p: (p.line, order.get(p.field, -1), p.why))
            raise CsvImportError(path, problems)

        written = {table: 0 for table in _TABLES[kind]}
        try:
            with engine.begin() as connection, \
                    _open_bar(show, count, f"{path.name}: writing", " rows") as bar:
                for rows in spool:
                    writer.write(connection, rows, written)
                    bar.update(len(rows))
        except IntegrityError as error:
            raise CsvImportError(path, [RowProblem(name, 0, "(file)", (
                "the database changed while the file was imported (a row it adds appeared "
                f"meanwhile); nothing was written, import it again: {error.orig}"))]) from None
    finally:
        spool.close()
        engine.dispose()
    return ImportReport(kind=kind, path=path, rows=count, written=written,
                        seconds=time.perf_counter() - started)


