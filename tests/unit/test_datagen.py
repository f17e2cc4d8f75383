"""Demo data for the customer-care records: reproducible for a seed, shaped like the real thing
(codes, phones, tariff, dates in the right order), consistent across tables."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from records.database import migrate
from records.datagen import (
    DISTRICT_COMPANIES,
    LOCAL_OFFSET,
    REQUEST_KINDS,
    DataGenerationError,
    GenerationReport,
    ensure_district_companies,
    generate,
    residential_amount,
)
from records.lookups import luhn_digit

NOW = datetime(2025, 11, 26, 3, 0)  # 10:00 in Ho Chi Minh City
TODAY = date(2025, 11, 26)
TABLES = ("district_companies", "customers", "customer_phones", "bills", "outage_windows",
          "requests", "request_events")
MOBILE = re.compile(r"0(3[2-9]|70|7[6-9]|8[1-6]|8[89]|9[0134678])[0-9]{7}")
LANDLINE = re.compile(r"028[0-9]{8}")


def url_in(folder: Path, name: str = "records.db") -> str:
    return f"sqlite:///{folder / name}"


def rows(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(sql).fetchall()


def dump(url: str) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    return {table: rows(url, f"SELECT * FROM {table} ORDER BY 1, 2") for table in TABLES}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, GenerationReport]:
    url = url_in(tmp_path_factory.mktemp("city"))
    return url, generate(url, 10_000, seed=7, now=NOW, progress=False)


# -- reproducible -------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_rows_and_another_seed_others(tmp_path: Path) -> None:
    first, again, other = (url_in(tmp_path, f"{name}.db") for name in ("a", "b", "c"))
    generate(first, 1_500, seed=3, now=NOW, progress=False)
    generate(again, 1_500, seed=3, now=NOW, progress=False)
    generate(other, 1_500, seed=4, now=NOW, progress=False)
    assert dump(first) == dump(again)
    assert dump(first)["customers"] != dump(other)["customers"]


def test_rows_made_in_a_worker_process_are_the_rows_made_in_process(tmp_path: Path) -> None:
    inline, parallel = url_in(tmp_path, "inline.db"), url_in(tmp_path, "parallel.db")
    generate(inline, 20_500, seed=5, now=NOW, months=2, progress=False, parallel=False)
    generate(parallel, 20_500, seed=5, now=NOW, months=2, progress=False, parallel=True)
    assert dump(inline) == dump(parallel)


def test_the_report_counts_what_is_in_the_tables(city: tuple[str, GenerationReport]) -> None:
    url, report = city
    for table in TABLES:
        assert report.rows[table] == rows(url, f"SELECT COUNT(*) FROM {table}")[0][0], table
    assert report.rows["customers"] == 10_000
    assert report.rows["bills"] == 60_000
    assert report.total_rows == sum(report.rows.values())
    assert report.rows_per_second > 0 and report.peak_rss_mb > 0
    assert "rows/s" in str(report)


# -- shapes -------------------------------------------------------------------------------------

def test_customer_codes_are_pe_company_number_and_sequence(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    numbers = {c.code: c.number for c in DISTRICT_COMPANIES}
    found = rows(url, "SELECT c.code, d.code FROM customers c "
                      "JOIN district_companies d ON d.id = c.district_company_id")
    assert len({code for code, _ in found}) == len(found)
    for code, company in found:
        assert re.fullmatch(r"PE[0-9]{11}", code), code
        assert int(code[2:4]) == numbers[company]


def test_phones_are_vietnamese_numbers_zero_to_two_a_customer(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    phones = rows(url, "SELECT customer_id, phone FROM customer_phones")
    assert all(MOBILE.fullmatch(p) or LANDLINE.fullmatch(p) for _, p in phones)
    per_customer = Counter(customer for customer, _ in phones)
    assert max(per_customer.values()) <= 3  # own two, and a landlord's number at most
    without = 10_000 - len(per_customer)
    assert 300 < without < 1_000  # about 6 % have none
    landlines = sum(1 for _, p in phones if p.startswith("028"))
    assert 0.03 < landlines / len(phones) < 0.12
    shared = rows(url, "SELECT COUNT(*) FROM (SELECT phone FROM customer_phones "
                       "GROUP BY phone HAVING COUNT(*) > 1)")[0][0]
    assert shared > 50  # landlords' numbers on several meters


def test_names_are_vietnamese_with_nguyen_the_most_common(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    names = [name for (name,) in rows(url, "SELECT name FROM customers")]
    families = Counter(name.split()[0] for name in names)
    assert families.most_common(1)[0][0] == "Nguyễn"
    assert 0.25 < families["Nguyễn"] / len(names) < 0.40
    assert {"Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng"} <= set(families)
    assert all(3 <= len(name.split()) <= 4 for name in names)


def test_addresses_areas_and_feeders_belong_to_the_customer_s_company(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    prefixes = {c.code: c.feeder_prefix for c in DISTRICT_COMPANIES}
    found = rows(url, "SELECT c.address, c.area, c.feeder, d.code FROM customers c "
                      "JOIN district_companies d ON d.id = c.district_company_id")
    areas_of: dict[str, set[str]] = {}
    for address, area, feeder, company in found:
        assert feeder.split("-")[0] == prefixes[company]
        assert re.fullmatch(r"[0-9]+", feeder.split("-")[1])
        assert re.fullmatch(r"[A-Z0-9]+-[A-Z0-9-]+", area)
        assert re.search(r", (Phường|Xã|Thị trấn) [^,]+, (Quận|Huyện|Thành phố) [^,]+$", address)
        areas_of.setdefault(area, set()).add(company)
        if area.startswith("Q5-P"):
            assert address.endswith(f"Phường {int(area[4:])}, Quận 5")
    assert all(len(companies) == 1 for companies in areas_of.values())
    assert rows(url, "SELECT COUNT(DISTINCT feeder) FROM customers")[0][0] > 15 * 20


def test_referential_integrity(city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    assert rows(url, "PRAGMA foreign_key_check") == []
    assert rows(url, "SELECT COUNT(*) FROM requests WHERE customer_id IS NOT NULL AND "
                     "district_company_id != (SELECT district_company_id FROM customers c "
                     "WHERE c.id = requests.customer_id)") == [(0,)]


# -- bills ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwh", "amount"), [
    (0, 0),
    (50, 102_222),      # 50 x 1,893 = 94,650 + 8 % VAT
    (51, 104_334),      # + 1 x 1,956
    (100, 207_846),     # 94,650 + 50 x 1,956
    (150, 330_480),     # 192,450 + 50 x 2,271
    (350, 934_632),     # 705,550 + 50 x 3,197
    (401, 1_110_836),   # 1,025,250 + 1 x 3,302
    (500, 1_463_886),   # 1,025,250 + 100 x 3,302
])
def test_residential_tariff_with_vat(kwh: int, amount: int) -> None:
    assert residential_amount(kwh) == amount


def test_bills_are_monthly_priced_by_the_tariff_and_mostly_paid(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    bills = rows(url, "SELECT customer_id, period, kwh, amount, due_date, paid, paid_date "
                      "FROM bills")
    periods = sorted({period for _, period, *_ in bills})
    assert periods == ["2025-05-01", "2025-06-01", "2025-07-01", "2025-08-01", "2025-09-01",
                       "2025-10-01"]  # the six months before November
    assert all(count == 6 for count in Counter(b[0] for b in bills).values())
    for _, period, kwh, amount, due, paid, paid_date in bills:
        assert amount == residential_amount(kwh)
        start = date.fromisoformat(period)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        assert 15 <= (date.fromisoformat(due) - end).days <= 20
        assert (paid_date is not None) == bool(paid)
        if paid_date:
            assert end < date.fromisoformat(paid_date) <= TODAY
    latest = [b for b in bills if b[1] == "2025-10-01"]
    unpaid_latest = sum(1 for b in latest if not b[5]) / len(latest)
    assert 0.15 < unpaid_latest < 0.27
    behind = rows(url, "SELECT COUNT(*) FROM (SELECT customer_id FROM bills WHERE paid = 0 "
                       "GROUP BY customer_id HAVING COUNT(*) >= 2)")[0][0]
    assert 100 < behind < 400  # about 2 % are two or three months behind
    kwh = [b[2] for b in bills if b[2]]
    assert 0.65 < sum(1 for k in kwh if 100 <= k <= 400) / len(kwh) < 0.9
    by_month = {p: sum(b[2] for b in bills if b[1] == p) for p in periods}
    assert by_month["2025-05-01"] > by_month["2025-10-01"] * 1.15  # the hot season


def test_early_in_the_month_nothing_is_paid_after_today(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    generate(url, 2_000, seed=2, now=datetime(2025, 11, 5, 3), months=2, progress=False)
    paid = [date.fromisoformat(d) for (d,) in rows(
        url, "SELECT paid_date FROM bills WHERE period = '2025-10-01' AND paid = 1")]
    assert paid and max(paid) <= date(2025, 11, 5)
    assert len(set(paid)) >= 3  # spread over the days since the bills came out
    unpaid = rows(url, "SELECT COUNT(*) FROM bills WHERE period = '2025-10-01' AND paid = 0")
    assert unpaid[0][0] > 2_000 * 0.15


# -- outages -------------------------------------------------------------------------------------

def test_outage_windows_are_daytime_by_feeder_or_area(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    prefixes = {c.code: c.feeder_prefix for c in DISTRICT_COMPANIES}
    windows = rows(url, "SELECT d.code, o.area, o.feeder, o.starts_at, o.ends_at, o.reason, "
                        "o.status FROM outage_windows o "
                        "JOIN district_companies d ON d.id = o.district_company_id")
    assert len(windows) > 15 * 10
    by_feeder = 0
    for company, area, feeder, starts_at, ends_at, reason, status in windows:
        starts, ends = datetime.fromisoformat(starts_at), datetime.fromisoformat(ends_at)
        local_start, local_end = starts + LOCAL_OFFSET, ends + LOCAL_OFFSET
        assert (area is None) != (feeder is None)
        by_feeder += feeder is not None
        if feeder is not None:
            assert feeder.startswith(prefixes[company] + "-")
        assert starts < ends and local_start.date() == local_end.date()
        assert 5 <= local_start.hour and local_end.hour <= 17
        assert TODAY - timedelta(days=3) <= local_start.date() < TODAY + timedelta(days=14)
        assert status in (("done", "cancelled") if ends <= NOW else ("planned", "cancelled"))
        assert reason[0].isupper() and not reason.isascii()
    assert 0.7 < by_feeder / len(windows) < 0.9
    assert len(set(windows)) == len(windows)


# -- requests ------------------------------------------------------------------------------------

def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_request_numbers_are_eight_digits_with_a_luhn_check_digit(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    numbers = [n for (n,) in rows(url, "SELECT number FROM requests")]
    assert len(numbers) == 40 and len(set(numbers)) == len(numbers)
    for number in numbers:
        assert re.fullmatch(r"[1-9][0-9]{7}", number)
        assert luhn_valid(number)
        assert luhn_digit(number[:-1]) == number[-1]
        wrong = number[:3] + str((int(number[3]) + 1) % 10) + number[4:]
        assert not luhn_valid(wrong)  # one mistyped digit is caught


def test_requests_have_their_deadline_and_a_history_that_ends_in_their_status(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    deadlines = {kind.name: kind.deadline for kind in REQUEST_KINDS}
    requests = rows(url, "SELECT id, type, created_at, deadline_at, status, escalation_level, "
                         "customer_id, caller_number FROM requests")
    events = rows(url, "SELECT request_id, at, status, actor FROM request_events ORDER BY id")
    history: dict[int, list[tuple[str, str, str]]] = {}
    for request_id, at, status, actor in events:
        history.setdefault(request_id, []).append((at, status, actor))
        assert re.fullmatch(r"ivr|op[0-5][0-9]|district:PC[A-Z]+", actor), actor
    for request_id, kind, created, deadline, status, level, customer, caller in requests:
        created_at = datetime.fromisoformat(created)
        assert datetime.fromisoformat(deadline) - created_at == deadlines[kind]
        assert NOW - timedelta(days=31) < created_at <= NOW
        assert level == 0
        assert MOBILE.fullmatch(caller) or LANDLINE.fullmatch(caller)
        if kind == "new_connection":
            assert customer is None
        steps = history[request_id]
        assert steps[0][:2] == (created, "open")
        assert steps[-1][1] == status
        assert [at for at, _, _ in steps] == sorted(at for at, _, _ in steps)
        assert datetime.fromisoformat(steps[-1][0]) <= NOW
    statuses = Counter(request[4] for request in requests)
    assert len(statuses) >= 3 and statuses["closed"] > 0


# -- the database it goes into --------------------------------------------------------------------

def test_a_database_with_customers_is_refused_and_left_alone(
        city: tuple[str, GenerationReport]) -> None:
    url, _ = city
    before = dump(url)
    with pytest.raises(DataGenerationError, match="already has 10,000 customers"):
        generate(url, 100, seed=1, now=NOW, progress=False)
    assert dump(url) == before


def test_district_companies_are_added_once(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    migrate(url)
    first = ensure_district_companies(url)
    assert ensure_district_companies(url) == first
    names = dict(rows(url, "SELECT code, name FROM district_companies"))
    assert len(names) == len(DISTRICT_COMPANIES) == 15
    assert names["PCSG"] == "Công ty Điện lực Sài Gòn"
    assert names["PCCL"] == "Công ty Điện lực Chợ Lớn"


def test_progress_bars_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate(url_in(tmp_path), 200, seed=1, now=NOW, progress=True)
    captured = capsys.readouterr()
    assert "customers, phones, bills" in captured.err and "requests" in captured.err
    assert captured.out == ""
