"""CSV import of customers, bills and outages: a good file goes in whole; a bad one is refused
with every problem located (file, line, field) and the database is left exactly as it was."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from records.database import make_engine, migrate
from records.datagen import ensure_district_companies
from records.importer import CsvImportError, Kind, RowProblem, import_csv
from records.models import Bill, Customer, CustomerPhone, OutageWindow

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"
TABLES = ("customers", "customer_phones", "bills", "outage_windows")
CUSTOMERS_HEADER = "code,name,address,district_company,area,feeder,phones\n"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Database files made once per module (migrating is the slow part); tests get copies."""
    folder = tmp_path_factory.mktemp("templates")
    empty, loaded = folder / "empty.db", folder / "loaded.db"
    migrate(f"sqlite:///{empty}")
    ensure_district_companies(f"sqlite:///{empty}")
    shutil.copy(empty, loaded)
    for kind in ("customers", "bills", "outages"):
        import_csv(f"sqlite:///{loaded}", kind, FIXTURES / f"{kind}-good.csv", progress=False)
    return {"empty": empty, "loaded": loaded}


@pytest.fixture
def url(templates: dict[str, Path], tmp_path: Path) -> str:
    """A migrated database with the 15 district companies and nothing else."""
    return f"sqlite:///{shutil.copy(templates['empty'], tmp_path / 'records.db')}"


@pytest.fixture
def loaded(templates: dict[str, Path], tmp_path: Path) -> str:
    """The good fixture files imported: 5 customers, their bills, 3 outage windows."""
    return f"sqlite:///{shutil.copy(templates['loaded'], tmp_path / 'records.db')}"


@pytest.fixture
def session(loaded: str) -> Iterator[Session]:
    engine = make_engine(loaded)
    with Session(engine) as s:
        yield s
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def refused(url: str, kind: Kind, path: Path) -> list[RowProblem]:
    """The problems of a file that must not import, checking that nothing was written."""
    before = counts(url)
    with pytest.raises(CsvImportError) as refusal:
        import_csv(url, kind, path, progress=False)
    assert counts(url) == before
    assert all(problem.file == str(path) for problem in refusal.value.problems)
    return refusal.value.problems


# -- good files ---------------------------------------------------------------------------------

def test_good_files_of_each_kind_import(url: str) -> None:
    reports = [import_csv(url, kind, FIXTURES / f"{kind}-good.csv", progress=False)
               for kind in ("customers", "bills", "outages")]
    assert [r.rows for r in reports] == [5, 5, 3]
    assert dict(reports[0].written) == {"customers": 5, "customer_phones": 5}
    assert dict(reports[1].written) == {"bills": 5}
    assert dict(reports[2].written) == {"outage_windows": 3}
    assert counts(url) == {"customers": 5, "customer_phones": 5, "bills": 5,
                           "outage_windows": 3}
    assert "5 customers rows imported" in str(reports[0])


def test_phones_are_stored_as_digits_with_a_leading_zero(session: Session) -> None:
    phones = {code: sorted(session.scalars(
        select(CustomerPhone.phone).join(Customer, Customer.id == CustomerPhone.customer_id)
        .where(Customer.code == code))) for code in (
        "PE02000000102", "PE01000000201", "PE10000000301", "PE13000000401")}
    assert phones == {
        "PE02000000102": ["02838551234", "0912345678"],  # +84 28 3855 1234: a landline
        "PE01000000201": ["0909876543"],                 # +84 90 987 6543
        "PE10000000301": [],
        "PE13000000401": ["0387654321"],                 # 0387 654 321
    }
    customer = session.scalars(select(Customer).where(Customer.code == "PE02000000101")).one()
    assert customer.name == "Nguyễn Văn An"
    assert customer.address == "123/4 Đường Nguyễn Trãi, Phường 2, Quận 5"
    assert (customer.area, customer.feeder) == ("Q5-P02", "CL-473")


def test_bills_read_back_as_dates_money_and_flags(session: Session) -> None:
    bill = session.scalars(select(Bill).join(Customer, Customer.id == Bill.customer_id)
                           .where(Customer.code == "PE02000000101",
                                  Bill.period == date(2025, 9, 1))).one()
    assert (bill.kwh, bill.amount, bill.due_date, bill.paid, bill.paid_date) == (
        150, 330_480, date(2025, 10, 18), True, date(2025, 10, 5))
    unpaid = session.scalars(select(Bill).where(Bill.paid.is_(False))).all()
    assert sorted(b.amount for b in unpaid) == [0, 934_632]
    assert all(b.paid_date is None for b in unpaid)


def test_outage_times_are_local_in_the_file_and_utc_in_the_records(session: Session) -> None:
    windows = session.scalars(select(OutageWindow).order_by(OutageWindow.starts_at)).all()
    first, second, third = windows
    assert (first.starts_at, first.ends_at) == (datetime(2025, 12, 1, 0, 30),
                                                datetime(2025, 12, 1, 9, 0))
    assert (first.area, first.feeder, first.status) == (None, "CL-473", "planned")
    assert (second.area, second.feeder, second.status) == ("Q1-BEN-THANH", None, "planned")
    assert (third.starts_at, third.status) == (datetime(2025, 12, 3, 6, 0), "cancelled")
    assert first.reason == "Bảo trì, sửa chữa lưới điện"
    # stored the way SQLAlchemy stores times, so range queries on them work
    later = session.scalars(select(OutageWindow.feeder).where(
        OutageWindow.starts_at >= datetime(2025, 12, 3))).all()
    assert later == ["CC-478"]


def test_a_byte_order_mark_and_crlf_line_ends_are_fine(url: str) -> None:
    report = import_csv(url, "customers", FIXTURES / "customers-bom-crlf.csv", progress=False)
    assert report.rows == 2
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        stored = db.execute("SELECT code, name, address FROM customers ORDER BY code").fetchall()
    assert stored == [
        ("PE05000000501", "Võ Thị Thu Hà", "7 Đường Sư Vạn Hạnh, Phường 12, Quận 10"),
        ("PE05000000502", "Đặng Văn Hùng", "9 Đường Lạc Long Quân, Phường 3, Quận 11"),
    ]


def test_columns_may_come_in_any_order(url: str, tmp_path: Path) -> None:
    path = tmp_path / "outages.csv"
    path.write_text("reason,status,ends_at,starts_at,feeder,area,district_company\n"
                    "Thay máy biến áp,,2025-12-09 11:00,2025-12-09 07:00,TB-472,,PCTB\n",
                    encoding="utf-8")
    assert import_csv(url, "outages", path, progress=False).rows == 1


# -- bad files: every problem located, nothing written --------------------------------------------

CORPUS: list[tuple[str, Kind, list[tuple[int, str]]]] = [
    ("customers-bad-code.csv", "customers", [(2, "code"), (3, "code"), (4, "code"),
                                             (5, "code")]),
    ("customers-duplicate-code.csv", "customers", [(4, "code"), (5, "code")]),
    ("customers-unknown-company.csv", "customers", [(3, "district_company"),
                                                    (4, "district_company")]),
    ("customers-bad-phones.csv", "customers", [(2, "phones"), (3, "phones"), (4, "phones"),
                                               (6, "phones")]),
    ("customers-too-long.csv", "customers", [(2, "name"), (3, "feeder"), (4, "area"),
                                             (5, "address")]),
    ("customers-empty-fields.csv", "customers", [(2, "name"), (3, "address"), (4, "area"),
                                                 (4, "feeder")]),
    ("customers-header.csv", "customers", [(1, "ma_kh"), (1, "email"), (1, "code")]),
    ("customers-wrong-width.csv", "customers", [(3, "(row)"), (4, "(row)")]),
    ("customers-semicolon.csv", "customers", [(1, "(header)")]),
    ("customers-empty.csv", "customers", [(1, "(header)")]),
    ("customers-multiline.csv", "customers", [(4, "code")]),  # a quoted line break
    ("customers-cp1258.csv", "customers", [(2, "(encoding)")]),
    ("customers-cp1252.csv", "customers", [(2, "(encoding)")]),
    ("customers-utf16.csv", "customers", [(1, "(encoding)")]),
    ("customers-utf16-no-bom.csv", "customers", [(1, "(encoding)")]),
    ("bills-bad-numbers.csv", "bills", [(2, "kwh"), (3, "amount"), (4, "kwh"), (5, "amount"),
                                        (6, "kwh"), (6, "amount")]),
    ("bills-bad-dates.csv", "bills", [(2, "period"), (3, "period"), (4, "due_date"),
                                      (5, "paid"), (6, "paid_date"), (7, "paid_date"),
                                      (8, "due_date"), (9, "paid_date"), (10, "paid_date")]),
    ("bills-unknown-customer.csv", "bills", [(2, "customer_code")]),
    ("bills-duplicate.csv", "bills", [(3, "period"), (4, "period")]),
    ("outages-bad.csv", "outages", [(2, "ends_at"), (3, "area"), (4, "starts_at"),
                                    (5, "status"), (6, "district_company"), (7, "reason"),
                                    (8, "ends_at"), (10, "starts_at")]),
]


@pytest.mark.parametrize(("name", "kind", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_a_bad_file_is_refused_with_every_problem_located(
        loaded: str, name: str, kind: Kind, expected: list[tuple[int, str]]) -> None:
    problems = refused(loaded, kind, FIXTURES / name)
    assert sorted((p.line, p.field) for p in problems) == sorted(expected)


def test_the_message_names_file_line_field_and_what_is_wrong(loaded: str) -> None:
    path = FIXTURES / "bills-bad-numbers.csv"
    with pytest.raises(CsvImportError) as refusal:
        import_csv(loaded, "bills", path, progress=False)
    message = str(refusal.value)
    assert message.startswith(f"{path}: 6 problems, nothing imported:")
    assert f"{path}:3: amount: '1.234.567': write the whole number without separators, " \
           "e.g. 1234567" in message
    assert refusal.value.code == "records.import_invalid"


def test_duplicates_point_at_the_first_occurrence(loaded: str) -> None:
    problems = refused(loaded, "customers", FIXTURES / "customers-duplicate-code.csv")
    assert [p.why for p in problems] == ["the same customer code is already on line 2",
                                         "the same customer code is already on line 3"]
    problems = refused(loaded, "bills", FIXTURES / "bills-duplicate.csv")
    assert [p.why for p in problems] == [
        "a bill of the same customer and month is already on line 2",
        "PE02000000101 already has a bill for 2025-10 in the database"]


def test_customers_already_in_the_database_are_refused(loaded: str) -> None:
    problems = refused(loaded, "customers", FIXTURES / "customers-good.csv")
    assert [(p.line, p.field) for p in problems] == [(n, "code") for n in range(2, 7)]
    assert problems[0].why == "PE02000000101 is already in the database"


def test_encodings_other_than_utf8_get_a_hint(loaded: str) -> None:
    cp1258 = refused(loaded, "customers", FIXTURES / "customers-cp1258.csv")[0]
    assert "byte 0xEA at byte offset 73" in cp1258.why  # the ê of Nguyễn
    assert "1 more line is not UTF-8 either" in cp1258.why
    assert "Windows-1258 (Vietnamese)" in cp1258.why and "UTF-8" in cp1258.why
    cp1252 = refused(loaded, "customers", FIXTURES / "customers-cp1252.csv")[0]
    assert "Windows-1252" in cp1252.why
    utf16 = refused(loaded, "customers", FIXTURES / "customers-utf16.csv")[0]
    assert "UTF-16 (byte-order mark FF FE)" in utf16.why
    no_bom = refused(loaded, "customers", FIXTURES / "customers-utf16-no-bom.csv")[0]
    assert "UTF-16" in no_bom.why


def test_one_bad_row_after_thousands_of_good_ones_writes_nothing(url: str,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    good = "".join(f"PE01{n:09d},Khách hàng {n},{n} Đường Lê Lợi,PCSG,Q1-BEN-THANH,SG-471,\n"
                   for n in range(1, 5_001))
    path.write_text(CUSTOMERS_HEADER + good + "PE1,Sai mã,1 Lê Lợi,PCSG,Q1,SG-471,\n",
                    encoding="utf-8")
    problems = refused(url, "customers", path)
    assert [(p.line, p.field) for p in problems] == [(5_002, "code")]
    assert counts(url)["customers"] == 0


def test_a_field_too_large_for_csv_is_a_located_problem(url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS_HEADER + "PE01000000001,An,1 Lê Lợi,PCSG,Q1,SG-471,\n"
                    + 'PE01000000002,"' + "x" * 200_000 + '",1 Lê Lợi,PCSG,Q1,SG-471,\n',
                    encoding="utf-8")
    problems = refused(url, "customers", path)
    assert [(p.line, p.field) for p in problems] == [(3, "(row)")]


def test_a_missing_file_or_an_unknown_kind(url: str, tmp_path: Path) -> None:
    problems = refused(url, "customers", tmp_path / "nowhere.csv")
    assert [(p.line, p.field) for p in problems] == [(0, "(file)")]
    with pytest.raises(ValueError, match="kind must be one of customers, bills, outages"):
        import_csv(url, "meters", FIXTURES / "customers-good.csv")  # type: ignore[arg-type]


def test_without_district_companies_the_problem_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate(url)
    problems = refused(url, "customers", FIXTURES / "customers-good.csv")
    assert {p.field for p in problems} == {"district_company"}
    assert "no district companies yet" in problems[0].why


# -- a large generated file ---------------------------------------------------------------------

def test_a_50000_row_file_imports(url: str, tmp_path: Path) -> None:
    path = tmp_path / "customers-50k.csv"
    companies = ("PCSG", "PCCL", "PCGD", "PCTT", "PCPT")
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(CUSTOMERS_HEADER)
        for n in range(50_000):
            out.write(f"PE{n % 5 + 1:02d}{n:09d},Nguyễn Văn Khách {n},\"{n % 500 + 1} Đường "
                      f"Nguyễn Trãi, Phường {n % 15 + 1}, Quận 5\",{companies[n % 5]},"
                      f"Q5-P{n % 15 + 1:02d},CL-{471 + n % 30},09{n % 10}{n:07d}\n")
    report = import_csv(url, "customers", path, progress=False)
    assert report.rows == 50_000
    assert counts(url)["customers"] == counts(url)["customer_phones"] == 50_000
