"""Realistic demo and scale data for the customer-care records of hotline 19001122.

    report = generate("sqlite:///var/records.db", 100_000, seed=1)
    print(report)        # rows per table, seconds, rows/s, peak RSS

What it writes (into a database that :func:`records.database.migrate` brings to head first):

* ``district_companies``: the 15 district power companies of EVNHCMC (before the 2025
  reorganisation), code ``PCSG`` ... and full name ``Công ty Điện lực Sài Gòn`` ...; existing rows
  with the same code are reused, never duplicated.
* ``customers``: code ``PE`` + 2-digit company number + 9-digit sequence (13 characters),
  Vietnamese names with the southern frequencies of family names, addresses on real streets of
  the ward and district the customer's company serves (``123/4 Đường Nguyễn Trãi, Phường 2,
  Quận 5``), area = ward code (``Q5-P02``, ``Q1-BEN-NGHE``), feeder = 22 kV feeder of that ward
  (``CL-473``, 30-80 feeders per company, each feeder serving one to three neighbouring wards).
* ``customer_phones``: 0-2 numbers per customer (mobile 10 digits on real prefixes, a few HCMC
  landlines 028 + 8 digits), some numbers shared by several customers (a landlord's meters).
* ``bills``: ``months`` monthly bills per customer, the latest for the last finished month;
  kWh lognormal around 200 with an April-May peak; amount by the six-tier residential tariff plus
  VAT (:func:`residential_amount`); older bills paid, ~20 % of the latest unpaid, ~2 % of
  customers 2-3 months behind.
* ``outage_windows``: planned daytime cuts for the next ``outages_days`` days and the last 3,
  several per company and day, by feeder (mostly) or by area, with Vietnamese reasons.
* ``requests`` / ``request_events``: 4 per thousand customers over the last 30 days, each with a
  Luhn-checked 8-digit number, its type's deadline and priority (as records.rules' built-in
  defaults) and the events of its life so far (``ivr``, ``op07``, ``district:PCSG``).

Deterministic: the same ``seed`` and ``now`` give the same rows, whatever the database. Times
are naive UTC (see records.models); outage windows are planned in Ho Chi Minh City time (UTC+7).

Memory stays flat: customers are made and written 20,000 at a time. SQLite is loaded through
the raw DBAPI connection in large transactions with ``synchronous=OFF`` and an in-memory journal
(restored afterwards); PostgreSQL through ``COPY`` (psycopg 3), sequences moved past the ids.
"""

from __future__ import annotations

import bisect
import itertools
import math
import multiprocessing
import random
import resource
import statistics
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from tqdm import tqdm  # type: ignore[import-untyped]

from .database import migrate
from .errors import RecordsError
from .lookups import luhn_digit

__all__ = [
    "DISTRICT_COMPANIES",
    "LOCAL_OFFSET",
    "REQUEST_KINDS",
    "RESIDENTIAL_TARIFF",
    "DataGenerationError",
    "DistrictCompanySpec",
    "GenerationReport",
    "Tariff",
    "ensure_district_companies",
    "generate",
    "residential_amount",
]

LOCAL_OFFSET = timedelta(hours=7)  # Ho Chi Minh City, no daylight saving
CHUNK_CUSTOMERS = 20_000  # fixed: part of what makes a seed reproducible
REQUESTS_PER_THOUSAND = 4
PAST_OUTAGE_DAYS = 3
PARALLEL_FROM = 500_000  # customers; below, starting a second process costs more than it saves


class DataGenerationError(RecordsError):
    """The database is not one demo data can be generated into (say why and what to do)."""

    code = "records.datagen"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _slug(text: str) -> str:
    """ASCII upper-case slug of Vietnamese text: ``Bến Nghé`` -> ``BEN-NGHE``."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return "-".join(plain.upper().split())


# -- tariff ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tariff:
    """A tiered tariff: ``tiers`` are (upper kWh bound or None, đồng per kWh before VAT)."""

    tiers: tuple[tuple[int | None, int], ...]
    vat_percent: int

    def amount(self, kwh: int) -> int:
        """Whole đồng, VAT included (VAT rounded half up on the whole bill)."""
        if kwh < 0:
            raise ValueError("kWh cannot be negative")
        before_vat, lower = 0, 0
        for upper, price in self.tiers:
            if upper is None or kwh <= upper:
                before_vat += (kwh - lower) * price
                break
            before_vat += (upper - lower) * price
            lower = upper
        return (before_vat * (100 + self.vat_percent) + 50) // 100


#: EVN household tariff of 11 October 2024 (Quyết định 2699/QĐ-BCT), with the 8 % VAT rate
#: in force for electricity in 2024-2025.
RESIDENTIAL_TARIFF = Tariff(
    tiers=((50, 1_893), (100, 1_956), (200, 2_271), (300, 2_860), (400, 3_197), (None, 3_302)),
    vat_percent=8,
)


def residential_amount(kwh: int, tariff: Tariff = RESIDENTIAL_TARIFF) -> int:
    """What a household pays for ``kwh`` in a month, in whole đồng with VAT."""
    return tariff.amount(kwh)


# -- Ho Chi Minh City: companies, districts, wards, streets ---------------------------------------

@dataclass(frozen=True)
class DistrictCompanySpec:
    number: int       # the two digits after PE in customer codes
    code: str         # PCSG
    name: str         # Công ty Điện lực Sài Gòn
    feeder_prefix: str  # SG -> feeder SG-471
    districts: tuple[str, ...]  # keys of _DISTRICTS


@dataclass(frozen=True)
class _District:
    name: str                  # "Quận 5", "Huyện Củ Chi", "Thành phố Thủ Đức"
    abbr: str                  # area code prefix: Q5, CC, TD
    households_k: int          # rough thousands of household meters: the customer weight
    wards: tuple[str, ...]     # "P02" for Phường 2, "Bến Nghé", "Xã Tân Thạnh Đông", "TT Củ Chi"
    streets: tuple[str, ...]
    key: str = ""              # when two entries share a district (Thủ Đức city): TD2

    @property
    def ident(self) -> str:
        return self.key or self.abbr


def _numbered(*numbers: int) -> tuple[str, ...]:
    return tuple(f"P{n:02d}" for n in numbers)


# Ward lists follow the 2021-2025 administrative map (before the July 2025 reform), street names
# are real streets of each district. Who serves which district is simplified to whole districts.
_DISTRICTS: dict[str, _District] = {d.ident: d for d in (
    _District("Quận 1", "Q1", 70, (
        "Bến Nghé", "Bến Thành", "Cầu Kho", "Cầu Ông Lãnh", "Cô Giang", "Đa Kao",
        "Nguyễn Cư Trinh", "Nguyễn Thái Bình", "Phạm Ngũ Lão", "Tân Định"), (
        "Nguyễn Huệ", "Lê Lợi", "Đồng Khởi", "Hai Bà Trưng", "Lê Thánh Tôn", "Pasteur",
        "Nguyễn Thị Minh Khai", "Trần Hưng Đạo", "Nguyễn Trãi", "Cống Quỳnh", "Bùi Viện",
        "Đề Thám", "Nguyễn Đình Chiểu", "Điện Biên Phủ", "Trần Quang Khải", "Mạc Đĩnh Chi",
        "Nguyễn Văn Cừ", "Calmette", "Ký Con", "Đinh Tiên Hoàng")),
    _District("Quận 3", "Q3", 65, ("Võ Thị Sáu",) + _numbered(1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14), (
        "Võ Văn Tần", "Cách Mạng Tháng Tám", "Nam Kỳ Khởi Nghĩa", "Lý Chính Thắng",
        "Trần Quốc Thảo", "Nguyễn Đình Chiểu", "Điện Biên Phủ", "Võ Thị Sáu", "Kỳ Đồng",
        "Trần Quang Diệu", "Bà Huyện Thanh Quan", "Lê Văn Sỹ", "Trần Văn Đang", "Rạch Bùng Binh",
        "Nguyễn Thiện Thuật", "Cao Thắng")),
    _District("Quận 4", "Q4", 50, _numbered(1, 2, 3, 4, 6, 8, 9, 10, 13, 14, 15, 16, 18), (
        "Hoàng Diệu", "Khánh Hội", "Tôn Đản", "Nguyễn Tất Thành", "Bến Vân Đồn", "Đoàn Văn Bơ",
        "Vĩnh Khánh", "Nguyễn Khoái", "Xóm Chiếu", "Lê Văn Linh", "Tôn Thất Thuyết",
        "Ngô Văn Sở")),
    _District("Quận 5", "Q5", 55, _numbered(*range(1, 16)), (
        "Nguyễn Trãi", "Trần Hưng Đạo", "An Dương Vương", "Hùng Vương", "Châu Văn Liêm",
        "Nguyễn Tri Phương", "Trần Phú", "Hải Thượng Lãn Ông", "Lương Nhữ Học", "Ngô Quyền",
        "Trần Bình Trọng", "Nguyễn Chí Thanh", "Học Lạc", "Phùng Hưng", "Lão Tử", "Tản Đà")),
    _District("Quận 6", "Q6", 70, _numbered(*range(1, 15)), (
        "Hậu Giang", "Hồng Bàng", "Kinh Dương Vương", "Minh Phụng", "Bình Phú", "Phạm Văn Chí",
        "Tháp Mười", "Bà Hom", "Lý Chiêu Hoàng", "Cao Văn Lầu", "Nguyễn Văn Luông",
        "Bình Tây", "Chợ Lớn", "Văn Thân")),
    _District("Quận 7", "Q7", 110, (
        "Bình Thuận", "Phú Mỹ", "Phú Thuận", "Tân Hưng", "Tân Kiểng", "Tân Phong", "Tân Phú",
        "Tân Quy", "Tân Thuận Đông", "Tân Thuận Tây"), (
        "Nguyễn Thị Thập", "Huỳnh Tấn Phát", "Nguyễn Hữu Thọ", "Nguyễn Văn Linh",
        "Lê Văn Lương", "Trần Xuân Soạn", "Lâm Văn Bền", "Nguyễn Lương Bằng", "Tân Mỹ",
        "Phạm Hữu Lầu", "Gò Ô Môi", "Lý Phục Man", "Hoàng Quốc Việt", "Nguyễn Thị Định")),
    _District("Quận 8", "Q8", 110, _numbered(*range(1, 17)), (
        "Phạm Thế Hiển", "Dương Bá Trạc", "Tạ Quang Bửu", "Âu Dương Lân", "Hưng Phú",
        "Bến Bình Đông", "Phạm Hùng", "Cao Lỗ", "Tùng Thiện Vương", "Ba Đình", "Dạ Nam",
        "Mễ Cốc", "Lưu Hữu Phước", "Bông Sao", "Phú Định", "Bình Đông")),
    _District("Quận 10", "Q10", 75, _numbered(*range(1, 16)), (
        "Ba Tháng Hai", "Sư Vạn Hạnh", "Lý Thường Kiệt", "Thành Thái", "Tô Hiến Thành",
        "Ngô Gia Tự", "Nguyễn Tri Phương", "Hòa Hảo", "Vĩnh Viễn", "Lê Hồng Phong", "Cao Thắng",
        "Nguyễn Kim", "Ngô Quyền", "Bà Hạt", "Nguyễn Duy Dương", "Hồ Thị Kỷ")),
    _District("Quận 11", "Q11", 70, _numbered(*range(1, 17)), (
        "Lạc Long Quân", "Lãnh Binh Thăng", "Minh Phụng", "Hàn Hải Nguyên", "Âu Cơ",
        "Bình Thới", "Lê Đại Hành", "Tôn Thất Hiệp", "Ông Ích Khiêm", "Thái Phiên", "Đội Cung",
        "Hồng Bàng", "Nguyễn Chí Thanh", "Lò Siêu", "Phó Cơ Điều")),
    _District("Quận 12", "Q12", 180, (
        "An Phú Đông", "Đông Hưng Thuận", "Hiệp Thành", "Tân Chánh Hiệp", "Tân Hưng Thuận",
        "Tân Thới Hiệp", "Tân Thới Nhất", "Thạnh Lộc", "Thạnh Xuân", "Thới An",
        "Trung Mỹ Tây"), (
        "Tô Ký", "Hà Huy Giáp", "Nguyễn Ảnh Thủ", "Lê Văn Khương", "Trường Chinh",
        "Quốc lộ 1A", "Nguyễn Văn Quá", "Lê Thị Riêng", "Vườn Lài", "Tân Chánh Hiệp 10",
        "Đông Hưng Thuận 2", "Thạnh Xuân 25", "Phan Văn Hớn", "Nguyễn Thị Kiểu")),
    _District("Quận Bình Thạnh", "BTH", 140, _numbered(
        1, 2, 3, 5, 6, 7, 11, 12, 13, 14, 15, 17, 19, 21, 22, 24, 25, 26, 27, 28), (
        "Xô Viết Nghệ Tĩnh", "Điện Biên Phủ", "Bạch Đằng", "Phan Đăng Lưu", "Nơ Trang Long",
        "Đinh Bộ Lĩnh", "Bùi Đình Túy", "Chu Văn An", "Nguyễn Xí", "Ung Văn Khiêm",
        "Nguyễn Hữu Cảnh", "Lê Quang Định", "Phan Văn Trị", "Vạn Kiếp", "Bình Lợi",
        "Nguyễn Văn Đậu", "D2", "Phạm Viết Chánh")),
    _District("Quận Phú Nhuận", "PN", 55, _numbered(1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 13, 15, 17), (
        "Phan Xích Long", "Phan Đình Phùng", "Nguyễn Văn Trỗi", "Hoàng Văn Thụ",
        "Huỳnh Văn Bánh", "Lê Văn Sỹ", "Trần Huy Liệu", "Nguyễn Kiệm", "Hồ Văn Huê", "Cô Bắc",
        "Đào Duy Anh", "Nguyễn Trọng Tuyển", "Thích Quảng Đức", "Phan Tây Hồ")),
    _District("Quận Gò Vấp", "GV", 200, _numbered(
        1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17), (
        "Quang Trung", "Nguyễn Oanh", "Phan Văn Trị", "Lê Đức Thọ", "Nguyễn Văn Lượng",
        "Thống Nhất", "Phạm Văn Đồng", "Nguyễn Thái Sơn", "Dương Quảng Hàm", "Lê Văn Thọ",
        "Nguyễn Văn Nghi", "Phạm Văn Chiêu", "Cây Trâm", "Lê Lợi", "Nguyễn Kiệm")),
    _District("Quận Tân Bình", "TB", 130, _numbered(*range(1, 16)), (
        "Cộng Hòa", "Trường Chinh", "Hoàng Văn Thụ", "Lý Thường Kiệt", "Âu Cơ",
        "Hoàng Hoa Thám", "Bàu Cát", "Phạm Văn Hai", "Lạc Long Quân", "Nguyễn Hồng Đào",
        "Bạch Đằng", "Út Tịch", "Trường Sơn", "Ni Sư Huỳnh Liên", "Cách Mạng Tháng Tám",
        "Tân Kỳ Tân Quý", "Bành Văn Trân")),
    _District("Quận Tân Phú", "TPH", 140, (
        "Hiệp Tân", "Hòa Thạnh", "Phú Thạnh", "Phú Thọ Hòa", "Phú Trung", "Sơn Kỳ", "Tân Quý",
        "Tân Sơn Nhì", "Tân Thành", "Tân Thới Hòa", "Tây Thạnh"), (
        "Lũy Bán Bích", "Tân Kỳ Tân Quý", "Âu Cơ", "Thoại Ngọc Hầu", "Tân Sơn Nhì", "Độc Lập",
        "Hòa Bình", "Lê Trọng Tấn", "Gò Dầu", "Vườn Lài", "Tân Hương", "Trương Vĩnh Ký",
        "Nguyễn Sơn", "Lê Thúc Hoạch")),
    _District("Quận Bình Tân", "BTN", 220, (
        "An Lạc", "An Lạc A", "Bình Hưng Hòa", "Bình Hưng Hòa A", "Bình Hưng Hòa B",
        "Bình Trị Đông", "Bình Trị Đông A", "Bình Trị Đông B", "Tân Tạo", "Tân Tạo A"), (
        "Kinh Dương Vương", "Tên Lửa", "Lê Văn Quới", "Mã Lò", "Tân Hòa Đông", "Hương lộ 2",
        "An Dương Vương", "Tỉnh lộ 10", "Quốc lộ 1A", "Bình Long", "Lê Trọng Tấn",
        "Hồ Học Lãm", "Đất Mới", "Bình Thành")),
    _District("Thành phố Thủ Đức", "TD", 170, (
        "Bình Chiểu", "Bình Thọ", "Hiệp Bình Chánh", "Hiệp Bình Phước", "Linh Chiểu",
        "Linh Đông", "Linh Tây", "Linh Trung", "Linh Xuân", "Tam Bình", "Tam Phú",
        "Trường Thọ"), (
        "Võ Văn Ngân", "Kha Vạn Cân", "Đặng Văn Bi", "Phạm Văn Đồng", "Tô Ngọc Vân",
        "Hoàng Diệu 2", "Linh Trung", "Quốc lộ 13", "Tam Bình", "Hiệp Bình", "Dương Văn Cam",
        "Lê Văn Chí", "Cây Keo", "Gò Dưa", "Đường số 8")),
    _District("Thành phố Thủ Đức", "TD", 170, (
        "An Khánh", "An Lợi Đông", "An Phú", "Bình Trưng Đông", "Bình Trưng Tây", "Cát Lái",
        "Thạnh Mỹ Lợi", "Thảo Điền", "Thủ Thiêm", "Hiệp Phú", "Long Bình", "Long Phước",
        "Long Thạnh Mỹ", "Long Trường", "Phú Hữu", "Phước Bình", "Phước Long A",
        "Phước Long B", "Tăng Nhơn Phú A", "Tăng Nhơn Phú B", "Trường Thạnh"), (
        "Trần Não", "Lương Định Của", "Nguyễn Duy Trinh", "Mai Chí Thọ", "Song Hành",
        "Quốc Hương", "Nguyễn Văn Hưởng", "Xuân Thủy", "Đồng Văn Cống", "Lê Văn Việt",
        "Đỗ Xuân Hợp", "Nguyễn Xiển", "Lò Lu", "Man Thiện", "Lã Xuân Oai", "Hoàng Hữu Nam",
        "Bưng Ông Thoàn", "Nguyễn Thị Định"), key="TD2"),
    _District("Huyện Bình Chánh", "BC", 200, (
        "TT Tân Túc", "Xã An Phú Tây", "Xã Bình Chánh", "Xã Bình Hưng", "Xã Bình Lợi",
        "Xã Đa Phước", "Xã Hưng Long", "Xã Lê Minh Xuân", "Xã Phạm Văn Hai", "Xã Phong Phú",
        "Xã Quy Đức", "Xã Tân Kiên", "Xã Tân Nhựt", "Xã Tân Quý Tây", "Xã Vĩnh Lộc A",
        "Xã Vĩnh Lộc B"), (
        "Quốc lộ 50", "Nguyễn Hữu Trí", "Tỉnh lộ 10", "Vĩnh Lộc", "Trần Đại Nghĩa",
        "Quách Điêu", "Đinh Đức Thiện", "Nguyễn Văn Linh", "Láng Le Bàu Cò", "An Hạ",
        "Quốc lộ 1A", "Thới Hòa", "Vườn Thơm", "Dương Đình Cúc")),
    _District("Huyện Hóc Môn", "HM", 140, (
        "TT Hóc Môn", "Xã Bà Điểm", "Xã Đông Thạnh", "Xã Nhị Bình", "Xã Tân Hiệp",
        "Xã Tân Thới Nhì", "Xã Tân Xuân", "Xã Thới Tam Thôn", "Xã Trung Chánh",
        "Xã Xuân Thới Đông", "Xã Xuân Thới Sơn", "Xã Xuân Thới Thượng"), (
        "Quang Trung", "Lê Thị Hà", "Nguyễn Ảnh Thủ", "Phan Văn Hớn", "Bùi Công Trừng",
        "Đặng Thúc Vịnh", "Tô Ký", "Trần Văn Mười", "Nguyễn Văn Bứa", "Song Hành",
        "Lê Văn Khương", "Trịnh Thị Miếng", "Dương Công Khi")),
    _District("Huyện Củ Chi", "CC", 130, (
        "TT Củ Chi", "Xã An Nhơn Tây", "Xã An Phú", "Xã Bình Mỹ", "Xã Hòa Phú",
        "Xã Nhuận Đức", "Xã Phạm Văn Cội", "Xã Phú Hòa Đông", "Xã Phú Mỹ Hưng", "Xã Phước Hiệp",
        "Xã Phước Thạnh", "Xã Phước Vĩnh An", "Xã Tân An Hội", "Xã Tân Phú Trung",
        "Xã Tân Thạnh Đông", "Xã Tân Thạnh Tây", "Xã Tân Thông Hội", "Xã Thái Mỹ",
        "Xã Trung An", "Xã Trung Lập Hạ", "Xã Trung Lập Thượng"), (
        "Tỉnh lộ 8", "Tỉnh lộ 15", "Quốc lộ 22", "Nguyễn Thị Rành", "Hồ Văn Tắng", "Tỉnh lộ 2",
        "Tỉnh lộ 7", "Nguyễn Văn Khạ", "Lê Minh Nhựt", "Bến Súc", "Cây Bài", "Suối Lội",
        "Bàu Tre", "Trung Lập")),
    _District("Huyện Nhà Bè", "NB", 60, (
        "TT Nhà Bè", "Xã Hiệp Phước", "Xã Long Thới", "Xã Nhơn Đức", "Xã Phú Xuân",
        "Xã Phước Kiển", "Xã Phước Lộc"), (
        "Huỳnh Tấn Phát", "Nguyễn Hữu Thọ", "Lê Văn Lương", "Nguyễn Bình", "Đào Sư Tích",
        "Nguyễn Văn Tạo", "Phạm Hữu Lầu", "Dương Cát Lợi", "Lê Thị Kim")),
    _District("Huyện Cần Giờ", "CG", 25, (
        "TT Cần Thạnh", "Xã An Thới Đông", "Xã Bình Khánh", "Xã Long Hòa", "Xã Lý Nhơn",
        "Xã Tam Thôn Hiệp", "Xã Thạnh An"), (
        "Rừng Sác", "Duyên Hải", "Lương Văn Nho", "Đào Cử", "Thạnh Thới", "Tắc Xuất",
        "Bà Xán", "An Thới Đông")),
)}

#: The district power companies of EVNHCMC (15 before the August 2025 reorganisation).
DISTRICT_COMPANIES: tuple[DistrictCompanySpec, ...] = (
    DistrictCompanySpec(1, "PCSG", "Công ty Điện lực Sài Gòn", "SG", ("Q1", "Q3")),
    DistrictCompanySpec(2, "PCCL", "Công ty Điện lực Chợ Lớn", "CL", ("Q5", "Q8")),
    DistrictCompanySpec(3, "PCGD", "Công ty Điện lực Gia Định", "GD", ("BTH", "PN")),
    DistrictCompanySpec(4, "PCTT", "Công ty Điện lực Tân Thuận", "TT", ("Q4", "Q7")),
    DistrictCompanySpec(5, "PCPT", "Công ty Điện lực Phú Thọ", "PT", ("Q10", "Q11")),
    DistrictCompanySpec(6, "PCTB", "Công ty Điện lực Tân Bình", "TB", ("TB",)),
    DistrictCompanySpec(7, "PCTD", "Công ty Điện lực Thủ Đức", "TD", ("TD",)),
    DistrictCompanySpec(8, "PCBC", "Công ty Điện lực Bình Chánh", "BC", ("BC",)),
    DistrictCompanySpec(9, "PCHM", "Công ty Điện lực Hóc Môn", "HM", ("HM",)),
    DistrictCompanySpec(10, "PCCC", "Công ty Điện lực Củ Chi", "CC", ("CC",)),
    DistrictCompanySpec(11, "PCBP", "Công ty Điện lực Bình Phú", "BP", ("Q6", "BTN")),
    DistrictCompanySpec(12, "PCTTH", "Công ty Điện lực Thủ Thiêm", "TTH", ("TD2",)),
    DistrictCompanySpec(13, "PCAPD", "Công ty Điện lực An Phú Đông", "APD", ("Q12", "GV")),
    DistrictCompanySpec(14, "PCDH", "Công ty Điện lực Duyên Hải", "DH", ("NB", "CG")),
    DistrictCompanySpec(15, "PCTP", "Công ty Điện lực Tân Phú", "TP", ("TPH",)),
)

# -- names ----------------------------------------------------------------------------------------

# Family names with rough frequencies in the south (per mille); Huỳnh and Võ are the southern
# spellings of Hoàng and Vũ and far more common here.
_FAMILY = (
    ("Nguyễn", 315), ("Trần", 109), ("Lê", 93), ("Phạm", 60), ("Huỳnh", 45), ("Hoàng", 15),
    ("Phan", 42), ("Võ", 40), ("Vũ", 10), ("Đặng", 20), ("Bùi", 18), ("Đỗ", 14), ("Hồ", 16),
    ("Ngô", 14), ("Dương", 12), ("Lý", 10), ("Trương", 15), ("Đinh", 8), ("Lâm", 10),
    ("Mai", 8), ("Đoàn", 8), ("Cao", 6), ("Châu", 6), ("Lương", 6), ("Tô", 5), ("Lưu", 5),
    ("Hà", 5), ("Thái", 4), ("Tạ", 3), ("La", 3), ("Quách", 3), ("Triệu", 3), ("Hứa", 3),
    ("Diệp", 2), ("Tăng", 2), ("Kiều", 2), ("Từ", 2), ("Giang", 2),
)
_MIDDLE_MALE = (("Văn", 40), ("Minh", 10), ("Hoàng", 6), ("Thanh", 7), ("Quốc", 6), ("Hữu", 7),
                ("Đức", 5), ("Công", 4), ("Gia", 3), ("Tấn", 5), ("Trọng", 3), ("Anh", 3),
                ("Ngọc", 3), ("Duy", 3), ("Thành", 3))
_MIDDLE_FEMALE = (("Thị", 52), ("Ngọc", 10), ("Thanh", 6), ("Thu", 6), ("Kim", 6), ("Mỹ", 4),
                  ("Bích", 3), ("Thùy", 3), ("Hoài", 2), ("Phương", 3), ("Minh", 2),
                  ("Diễm", 2), ("Tuyết", 2), ("Hồng", 3))
_GIVEN_MALE = (
    "Hùng", "Dũng", "Tuấn", "Minh", "Hải", "Nam", "Phong", "Long", "Sơn", "Thắng", "Hiếu",
    "Trung", "Khoa", "Bảo", "Phúc", "Tài", "Lộc", "Hòa", "Quang", "Huy", "Khang", "Thành", "Tâm",
    "Nghĩa", "Vinh", "Đạt", "Cường", "Tùng", "Toàn", "Hậu", "Tín", "Nhân", "Thịnh", "Việt", "Duy",
    "An", "Kiệt", "Trí", "Phát", "Lâm", "Quân", "Thái", "Hưng", "Tú", "Thiện", "Danh", "Đông",
)
_GIVEN_FEMALE = (
    "Lan", "Hương", "Hoa", "Mai", "Linh", "Trang", "Thảo", "Hằng", "Nga", "Hạnh", "Phương",
    "Thủy", "Dung", "Yến", "Vy", "Ngân", "Nhung", "Loan", "Hà", "Tuyết", "Hồng", "Liên", "Oanh",
    "Diệp", "Trinh", "Châu", "Uyên", "Nhi", "Hiền", "Quyên", "Thư", "Ánh", "Vân", "Xuân", "Anh",
    "Tâm", "Giang", "My", "Trâm", "Thanh", "Phượng", "Nguyệt", "Huyền", "Duyên", "Hân",
)

# Mobile prefixes (Viettel, VinaPhone, MobiFone) with rough shares of subscribers (per mille).
_MOBILE_PREFIXES = (
    ("096", 55), ("097", 60), ("098", 60), ("086", 30), ("032", 25), ("033", 25), ("034", 25),
    ("035", 25), ("036", 25), ("037", 25), ("038", 25), ("039", 25),
    ("091", 45), ("094", 40), ("088", 20), ("081", 12), ("082", 12), ("083", 12), ("084", 12),
    ("085", 12),
    ("090", 65), ("093", 50), ("089", 20), ("070", 25), ("076", 20), ("077", 20), ("078", 15),
    ("079", 20),
)


def _cumulative(weights: Iterable[float]) -> list[float]:
    return list(itertools.accumulate(weights))


class _Picker:
    """Weighted choice by bisecting a cumulative table: one random() per pick."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [_nfc(item) if isinstance(item, str) else item for item, _ in pairs]
        self.cumulative = _cumulative(w for _, w in pairs)
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


_FAMILY_PICK = _Picker(_FAMILY)
_MIDDLE_MALE_PICK = _Picker(_MIDDLE_MALE)
_MIDDLE_FEMALE_PICK = _Picker(_MIDDLE_FEMALE)
_SECOND_MIDDLE_MALE = tuple(_nfc(n) for n in ("Minh", "Bảo", "Gia", "Anh", "Đăng", "Nhật",
                                               "Thiên", "Tuấn", "Hoàng"))
_GIVEN_MALE_N = tuple(_nfc(n) for n in _GIVEN_MALE)
_GIVEN_FEMALE_N = tuple(_nfc(n) for n in _GIVEN_FEMALE)
_MOBILE_PICK = _Picker(_MOBILE_PREFIXES)


def _person_name(rng: random.Random) -> str:
    r = rng.random
    family = _FAMILY_PICK.pick(rng)
    if r() < 0.5:
        middle = _MIDDLE_MALE_PICK.pick(rng)
        given = _GIVEN_MALE_N[int(r() * len(_GIVEN_MALE_N))]
        if r() < 0.08 and middle != "Văn":  # younger men: Nguyễn Hoàng Minh Khang
            extra = _SECOND_MIDDLE_MALE[int(r() * len(_SECOND_MIDDLE_MALE))]
            if extra != middle:
                middle = f"{middle} {extra}"
    else:
        middle = _MIDDLE_FEMALE_PICK.pick(rng)
        given = _GIVEN_FEMALE_N[int(r() * len(_GIVEN_FEMALE_N))]
        if r() < 0.15:  # Nguyễn Thị Ngọc Hân, Trần Ngọc Bảo Anh
            extra = _MIDDLE_FEMALE_PICK.pick(rng)
            if extra not in ("Thị", middle):
                middle = f"{middle} {extra}"
    return f"{family} {middle} {given}"


def _mobile(rng: random.Random) -> str:
    return f"{_MOBILE_PICK.pick(rng)}{int(rng.random() * 10_000_000):07d}"


def _landline(rng: random.Random) -> str:
    first = "3" if rng.random() < 0.7 else "6" if rng.random() < 0.6 else "2"
    return f"028{first}{int(rng.random() * 10_000_000):07d}"


# -- the plan: wards, feeders and weights (fixed, whatever the seed) -----------------------------

@dataclass(frozen=True)
class _Ward:
    company_index: int      # index into DISTRICT_COMPANIES
    district: _District
    label: str              # "Phường 2", "Phường Bến Nghé", "Xã Tân Thạnh Đông", "Thị trấn Củ Chi"
    area: str               # "Q5-P02"
    rural: bool
    feeders: tuple[str, ...]
    streets: tuple[str, ...]  # with the "Đường " prefix where one is said


def _ward_label(ward: str) -> tuple[str, str, bool]:
    """(label, area suffix, rural) of a ward entry."""
    if ward.startswith("P") and ward[1:].isdigit():
        return f"Phường {int(ward[1:])}", ward, False
    if ward.startswith("Xã "):
        return ward, _slug(ward[3:]), True
    if ward.startswith("TT "):
        return f"Thị trấn {ward[3:]}", "TT-" + _slug(ward[3:]), False
    return f"Phường {ward}", _slug(ward), False


def _street_label(street: str) -> str:
    if street.split()[0] in ("Quốc", "Tỉnh", "Hương") or street.startswith("Đường"):
        return street
    return f"Đường {street}"


def _feeder_numbers(rng: random.Random, count: int) -> list[int]:
    candidates = [bank * 100 + tens * 10 + unit for bank in range(4, 8) for tens in (7, 8, 9)
                  for unit in range(1, 10)]
    return sorted(rng.sample(candidates, count))


@dataclass(frozen=True)
class _Plan:
    wards: tuple[_Ward, ...]
    ward_pick: _Picker
    feeders_by_company: tuple[tuple[str, ...], ...]
    wards_by_company: tuple[tuple[_Ward, ...], ...]


def _build_plan() -> _Plan:
    rng = random.Random("hcmc-grid-plan-v1")
    wards: list[_Ward] = []
    weights: list[float] = []
    feeders_by_company: list[tuple[str, ...]] = []
    wards_by_company: list[tuple[_Ward, ...]] = []
    for index, company in enumerate(DISTRICT_COMPANIES):
        districts = [_DISTRICTS[key] for key in company.districts]
        entries = [(d, w) for d in districts for w in d.wards]
        households = sum(d.households_k for d in districts)
        count = max(30, min(80, round(households / 5)))
        feeders = tuple(f"{company.feeder_prefix}-{n}" for n in _feeder_numbers(rng, count))
        feeders_by_company.append(feeders)
        company_wards = []
        for j, (district, ward) in enumerate(entries):
            lo = j * count // len(entries)
            hi = min(count, (j + 1) * count // len(entries) + 1)  # one feeder shared with the next
            label, suffix, rural = _ward_label(_nfc(ward))
            built = _Ward(index, district, label, f"{district.abbr}-{suffix}", rural,
                          feeders[lo:hi], tuple(_nfc(_street_label(s)) for s in district.streets))
            company_wards.append(built)
            wards.append(built)
            weights.append(district.households_k / len(district.wards) * rng.uniform(0.6, 1.4))
        wards_by_company.append(tuple(company_wards))
    return _Plan(tuple(wards), _Picker(list(zip(range(len(wards)), weights))),
                 tuple(feeders_by_company), tuple(wards_by_company))


_PLAN = _build_plan()


def _address(rng: random.Random, ward: _Ward) -> str:
    r = rng.random
    number = str(int(r() ** 1.7 * 600) + 1)
    shape = r()
    if shape < 0.30:
        number = f"{number}/{int(r() * 90) + 1}"
    elif shape < 0.38:
        number = f"{number}/{int(r() * 60) + 1}/{int(r() * 30) + 1}"
    elif shape < 0.43:
        number = f"{number}{'ABC'[int(r() * 3)]}"
    street = ward.streets[int(r() * len(ward.streets))]
    hamlet = f", Ấp {int(r() * 8) + 1}" if ward.rural and r() < 0.6 else ""
    return f"{number} {street}{hamlet}, {ward.label}, {ward.district.name}"


# -- requests: kinds, texts -----------------------------------------------------------------------

@dataclass(frozen=True)
class _RequestKind:
    name: str
    share: int                 # per mille of requests
    deadline: timedelta        # as records.rules.BUILT_IN
    priority: int              # as records.rules.BUILT_IN
    forward: bool
    descriptions: tuple[str, ...]


REQUEST_KINDS: tuple[_RequestKind, ...] = (
    _RequestKind("outage_report", 340, timedelta(hours=4), 5, True, (
        "Mất điện cả khu vực, hàng xóm cũng bị", "Mất điện một pha, đèn chập chờn",
        "Nhà bị mất điện từ sáng, không có lịch cắt điện", "Điện chập chờn, lúc có lúc mất",
        "Mất điện sau cơn mưa lớn", "Aptomat tổng không nhảy nhưng vẫn mất điện")),
    _RequestKind("billing_complaint", 200, timedelta(days=5), 2, True, (
        "Hóa đơn tháng này tăng gấp đôi bất thường", "Đã thanh toán nhưng vẫn báo nợ tiền điện",
        "Chỉ số công tơ trên hóa đơn không đúng thực tế", "Bị tính tiền điện khi nhà bỏ trống",
        "Chưa nhận được hóa đơn điện tử tháng này")),
    _RequestKind("meter_check", 100, timedelta(days=3), 0, True, (
        "Đề nghị kiểm tra công tơ chạy nhanh", "Công tơ không hiển thị chỉ số",
        "Niêm chì công tơ bị đứt", "Công tơ kêu và nóng bất thường")),
    _RequestKind("new_connection", 80, timedelta(days=7), 0, True, (
        "Đăng ký lắp đặt công tơ cho nhà mới xây", "Xin cấp điện sinh hoạt cho nhà trọ",
        "Đề nghị tách công tơ cho căn hộ cho thuê", "Đăng ký nâng công suất lên 3 pha")),
    _RequestKind("advice", 230, timedelta(hours=24), 0, False, (
        "Tư vấn sử dụng điện tiết kiệm mùa nắng nóng", "Hỏi cách đọc chỉ số công tơ điện tử",
        "Hỏi về biểu giá điện bậc thang", "Tư vấn lắp điện mặt trời mái nhà",
        "Hỏi cách thanh toán tiền điện qua ứng dụng")),
    _RequestKind("hazard", 50, timedelta(hours=2), 10, True, (
        "Dây điện bị đứt rơi xuống đường", "Trụ điện bị nghiêng sau mưa bão",
        "Tủ điện bốc khói, có tia lửa", "Cây ngã đè lên đường dây điện",
        "Dây điện võng thấp chạm mái tôn")),
)
_KIND_PICK = _Picker([(k, k.share) for k in REQUEST_KINDS])

_OUTAGE_REASONS = tuple(_nfc(r) for r in (
    "Bảo trì, sửa chữa lưới điện", "Thi công công trình", "Cải tạo đường dây",
    "Di dời lưới điện phục vụ thi công đường", "Thay máy biến áp", "Bảo dưỡng trạm biến áp",
    "Xử lý điểm tiếp xúc phát nhiệt", "Chặt tỉa cây xanh gần đường dây",
    "Lắp đặt thiết bị đóng cắt trên lưới", "Ngầm hóa lưới điện", "Đấu nối công trình khách hàng",
    "Thí nghiệm định kỳ thiết bị",
))
_OUTAGE_REASON_PICK = _Picker(list(zip(_OUTAGE_REASONS, (30, 14, 12, 8, 8, 8, 5, 5, 4, 3, 2, 1))))
_OUTAGE_SLOTS = (  # (start, end) local time, with weights
    (((7, 30), (16, 0)), 20), (((7, 0), (11, 30)), 10), (((8, 0), (12, 0)), 12),
    (((8, 30), (15, 30)), 10), (((7, 30), (12, 0)), 12), (((13, 0), (17, 0)), 12),
    (((13, 30), (16, 30)), 8), (((9, 0), (14, 0)), 8), (((5, 0), (7, 0)), 4),
    (((8, 0), (17, 0)), 6),
)
_OUTAGE_SLOT_PICK = _Picker(_OUTAGE_SLOTS)

# -- generation of rows ---------------------------------------------------------------------------

# month-to-month variation of a household's use: 1024 quantiles of lognormal(0, 0.12), so a bill
# costs one random() instead of a normalvariate()
_MONTHLY_NOISE = tuple(math.exp(0.12 * statistics.NormalDist().inv_cdf((i + 0.5) / 1024))
                       for i in range(1024))
_SEASON = (0.92, 0.88, 1.05, 1.22, 1.25, 1.12, 1.05, 1.02, 1.00, 0.98, 0.95, 0.93)  # Jan..Dec


def _ts(moment: datetime) -> str:
    """A naive datetime the way SQLAlchemy stores DateTime on SQLite (and PostgreSQL reads)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


@dataclass(frozen=True)
class _BillingMonth:
    period: str
    season: float
    due_dates: tuple[str, ...]   # period end + 15..20 days
    issue_offset: int            # days from the first paid-date candidate to issue date
    due_offsets: tuple[int, ...]


class _BillingCalendar:
    """Periods, due dates and paid dates as strings, made once: bills only pick among them."""

    def __init__(self, today: date, months: int) -> None:
        self.today = today
        self.first = _month_start(today, months)
        self.months: list[_BillingMonth] = []
        for back in range(months, 0, -1):
            period = _month_start(today, back)
            end = _month_start(today, back - 1) - timedelta(days=1)
            dues = [end + timedelta(days=d) for d in range(15, 21)]
            self.months.append(_BillingMonth(
                period.isoformat(), _SEASON[period.month - 1],
                tuple(d.isoformat() for d in dues), (end - self.first).days + 2,
                tuple((d - self.first).days for d in dues)))
        self.today_offset = (today - self.first).days
        span = max(self.today_offset, max((m.due_offsets[-1] for m in self.months), default=0))
        self.days = [(self.first + timedelta(days=i)).isoformat() for i in range(span + 60)]
        self.amounts = [RESIDENTIAL_TARIFF.amount(k) for k in range(3001)]

    def amount(self, kwh: int) -> int:
        return self.amounts[kwh] if kwh <= 3000 else RESIDENTIAL_TARIFF.amount(kwh)


@dataclass
class _CustomerBatch:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    phones: list[tuple[Any, ...]] = field(default_factory=list)
    bills: list[tuple[Any, ...]] = field(default_factory=list)


def _customer_batch(seed: int, chunk: int, first_id: int, count: int,
                    company_ids: Sequence[int], calendar: _BillingCalendar) -> _CustomerBatch:
    """Customers ``first_id`` .. ``first_id + count - 1`` with their phones and bills.

    Depends on its arguments only (so chunks can be made in another process, in any order):
    the code's 9-digit sequence comes from the customer id, unique whatever the company.
    """
    rng = random.Random(f"{seed}/customers/{chunk}")
    r = rng.random
    lognorm = rng.lognormvariate
    batch = _CustomerBatch()
    customers, phones, bills = batch.customers, batch.phones, batch.bills
    wards, ward_pick = _PLAN.wards, _PLAN.ward_pick
    months = calendar.months
    latest = len(months) - 1
    days, today_offset = calendar.days, calendar.today_offset
    noise = _MONTHLY_NOISE
    recent_phones: list[str] = []
    for customer_id in range(first_id, first_id + count):
        ward = wards[ward_pick.pick(rng)]
        company = ward.company_index
        sequence = 100_000 + customer_id * 4 + int(r() * 4)
        code = f"PE{DISTRICT_COMPANIES[company].number:02d}{sequence:09d}"
        feeder = ward.feeders[int(r() * len(ward.feeders))]
        customers.append((customer_id, code, _person_name(rng), _address(rng, ward),
                          company_ids[company], ward.area, feeder))
        # phones: none, one or two; a few share a number with a recent customer (a landlord)
        p = r()
        own = 0 if p < 0.06 else 1 if p < 0.78 else 2
        numbers: list[str] = []
        if recent_phones and r() < 0.02:
            numbers.append(recent_phones[int(r() * len(recent_phones))])
        for _ in range(own):
            number = _landline(rng) if r() < 0.07 else _mobile(rng)
            if number not in numbers:
                numbers.append(number)
        for number in numbers:
            phones.append((customer_id, number))
        if numbers:
            recent_phones.append(numbers[0])
            if len(recent_phones) > 50:
                recent_phones.pop(0)
        # bills
        vacant = r() < 0.01
        base = 0.0 if vacant else lognorm(5.3, 0.5)
        behind = (2 + int(r() * 2)) if r() < 0.02 else 0
        for index, month in enumerate(months):
            kwh = int(base * month.season * noise[int(r() * 1024)] + 0.5) if base else 0
            months_back = latest - index
            if behind and months_back < behind:
                paid = False
            elif months_back == 0:
                paid = r() >= 0.2
            else:
                paid = r() >= 0.004
            due = int(r() * len(month.due_dates))
            paid_date = None
            if paid:  # between the issue date and the due date, a few up to 20 days late
                issued = month.issue_offset
                late = 20 if r() < 0.06 else 0
                day = issued + int(r() * (month.due_offsets[due] - issued + late + 1))
                if day > today_offset:  # not yet: some time between issue and today, if any
                    day = issued + int(r() * (today_offset - issued + 1))
                if issued <= day <= today_offset:
                    paid_date = days[day]
                else:
                    paid = False
            bills.append((customer_id, month.period, kwh, calendar.amount(kwh),
                          month.due_dates[due], 1 if paid else 0, paid_date))
    return batch


def _outage_rows(seed: int, today: date, now: datetime, days: int,
                 company_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(f"{seed}/outages")
    r = rng.random
    for offset in range(-PAST_OUTAGE_DAYS, days):
        day = today + timedelta(days=offset)
        for index, company in enumerate(DISTRICT_COMPANIES):
            size = len(_PLAN.feeders_by_company[index])
            per_day = size / 12 if day.weekday() < 5 else size / 40 if day.weekday() == 5 else 0.5
            count = int(per_day * (0.5 + r()) + r())
            taken: set[str] = set()  # one window per feeder or area and day
            for _ in range(count):
                (start, end) = _OUTAGE_SLOT_PICK.pick(rng)
                starts = datetime.combine(day, datetime.min.time()).replace(
                    hour=start[0], minute=start[1]) - LOCAL_OFFSET
                ends = datetime.combine(day, datetime.min.time()).replace(
                    hour=end[0], minute=end[1]) - LOCAL_OFFSET
                if r() < 0.8:
                    feeders = _PLAN.feeders_by_company[index]
                    area, feeder = None, feeders[int(r() * len(feeders))]
                else:
                    wards = _PLAN.wards_by_company[index]
                    area, feeder = wards[int(r() * len(wards))].area, None
                target = area or feeder or ""
                if target in taken:
                    continue
                taken.add(target)
                if ends <= now:
                    status = "cancelled" if r() < 0.08 else "done"
                else:
                    status = "cancelled" if r() < 0.05 else "planned"
                yield (company_ids[index], area, feeder, _ts(starts), _ts(ends),
                       _OUTAGE_REASON_PICK.pick(rng), status)


@dataclass(frozen=True)
class _RequestTarget:
    customer_id: int | None
    district_company_id: int
    company_code: str
    caller_number: str


def _request_rows(rng: random.Random, request_id: int, number: str, kind: _RequestKind,
                  target: _RequestTarget, now: datetime
                  ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    r = rng.random
    # created in the last 30 days, mostly in daytime Ho Chi Minh City hours
    day = now - timedelta(days=int(r() * 30))
    local_hour = 6 + r() * 16 if r() < 0.9 else r() * 24
    created = (datetime.combine((day + LOCAL_OFFSET).date(), datetime.min.time())
               + timedelta(hours=local_hour) - LOCAL_OFFSET).replace(microsecond=0)
    if created >= now:
        created = now - timedelta(minutes=1 + int(r() * 120))
    operator = f"op{1 + int(r() * 50):02d}"
    created_by = "ivr" if kind.name in ("outage_report", "hazard") and r() < 0.6 else operator
    district = f"district:{target.company_code}"
    deadline = created + kind.deadline
    seconds = kind.deadline.total_seconds()
    description = kind.descriptions[int(r() * len(kind.descriptions))]
    timeline: list[tuple[datetime, str, str, str]] = [
        (created, "open", created_by, description)]
    at = created
    if kind.forward:
        if created_by == "ivr":
            pass  # the IVR forwards at once
        elif r() < 0.7:
            at += timedelta(seconds=60 + r() * 600)
        else:  # the operator checks first (documents, a site visit to book)
            at += timedelta(hours=1 + r() * 23)
        timeline.append((at, "forwarded", created_by, "Chuyển Công ty Điện lực xử lý"))
        stuck = r() < 0.08  # left waiting: the escalation job will find these
        if not stuck:
            at += timedelta(seconds=seconds * (0.05 + 0.3 * r()))
            timeline.append((at, "in_progress", district,
                             "Điện lực đã tiếp nhận, cử nhân viên kiểm tra"))
            at += timedelta(seconds=seconds * (0.2 + 0.9 * r()))
            timeline.append((at, "resolved", district, "Đã xử lý xong, báo khách hàng"))
    else:
        at += (timedelta(seconds=120 + r() * 1800) if r() < 0.7  # answered in the call
               else timedelta(hours=1 + r() * 20))  # an expert calls back
        timeline.append((at, "resolved", operator, "Đã tư vấn cho khách hàng qua điện thoại"))
    if timeline[-1][1] == "resolved":
        at += timedelta(hours=1 + r() * 47)
        timeline.append((at, "closed", f"op{1 + int(r() * 50):02d}",
                         "Khách hàng xác nhận, đóng yêu cầu"))
    happened = [event for event in timeline if event[0] <= now]
    status = happened[-1][1]
    request = (request_id, number, kind.name, target.customer_id, target.district_company_id,
               target.caller_number, description, _ts(created), _ts(deadline), status, 0,
               kind.priority)
    events = [(request_id, _ts(moment.replace(microsecond=0)), event_status, actor, note, 0)
              for moment, event_status, actor, note in happened]
    return request, events


# -- sinks: SQLite executemany, PostgreSQL COPY ---------------------------------------------------

_COLUMNS = {
    "customers": ("id", "code", "name", "address", "district_company_id", "area", "feeder"),
    "customer_phones": ("customer_id", "phone"),
    "bills": ("customer_id", "period", "kwh", "amount", "due_date", "paid", "paid_date"),
    "outage_windows": ("district_company_id", "area", "feeder", "starts_at", "ends_at", "reason",
                       "status"),
    "requests": ("id", "number", "type", "customer_id", "district_company_id", "caller_number",
                 "description", "created_at", "deadline_at", "status", "escalation_level",
                 "priority"),
    "request_events": ("request_id", "at", "status", "actor", "note", "escalation_level"),
}


class _Sink:
    """Where rows go: one raw DBAPI connection, committed by the caller at chunk ends."""

    def __init__(self, dbapi: Any, placeholder: str) -> None:
        self.dbapi = dbapi
        self.placeholder = placeholder

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql.replace("?", self.placeholder), tuple(params))
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    def write(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        columns = _COLUMNS[table]
        marks = ", ".join([self.placeholder] * len(columns))
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               rows)
        finally:
            cursor.close()

    def commit(self) -> None:
        self.dbapi.commit()

    def rollback(self) -> None:
        self.dbapi.rollback()

    def prepare(self) -> None:
        """Session settings for a bulk load."""

    def secondary_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        """(name, exact CREATE INDEX statement) of the non-unique indexes of ``tables``."""
        return []

    def suspend_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        """Drop the non-unique indexes of ``tables`` (unique ones keep guarding the load);
        :meth:`restore_indexes` recreates them from their own definitions."""
        saved = self.secondary_indexes(tables)
        for name, _ in saved:
            self.query(f'DROP INDEX "{name}"')
        self.commit()
        return saved

    def restore_indexes(self, saved: Sequence[tuple[str, str]]) -> None:
        for _, create in saved:
            self.query(create)
        self.commit()

    def finish(self) -> None:
        """Undo :meth:`prepare`, refresh statistics."""


class _SqliteSink(_Sink):
    def secondary_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        marks = ", ".join("?" * len(tables))
        return [(name, create) for name, create in self.query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name", tables)
            if not create.upper().startswith("CREATE UNIQUE")]

    def prepare(self) -> None:
        self.commit()
        self.saved = {name: self.query(f"PRAGMA {name}")[0][0]
                      for name in ("journal_mode", "synchronous", "cache_size")}
        self.query("PRAGMA journal_mode=MEMORY")
        self.query("PRAGMA synchronous=OFF")
        self.query("PRAGMA cache_size=-262144")  # 256 MiB of page cache for the random indexes
        self.query("PRAGMA foreign_keys=OFF")  # the rows are consistent by construction

    def finish(self) -> None:
        self.commit()
        self.query("ANALYZE")
        self.commit()
        self.query(f"PRAGMA synchronous={self.saved['synchronous']}")
        self.query(f"PRAGMA cache_size={self.saved['cache_size']}")
        self.query(f"PRAGMA journal_mode={self.saved['journal_mode']}")


class _PostgresSink(_Sink):
    """COPY through psycopg 3; ids we chose ourselves move the sequences past them at the end."""

    def prepare(self) -> None:
        self.query("SET synchronous_commit TO off")
        self.query("SET maintenance_work_mem TO '256MB'")

    def secondary_indexes(self, tables: Sequence[str]) -> list[tuple[str, str]]:
        return [(name, create) for name, create in self.query(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT i.indisunique AND t.relname = ANY(?) "
            "ORDER BY c.relname", (list(tables),))]

    def write(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        statement = f"COPY {table} ({', '.join(_COLUMNS[table])}) FROM STDIN"
        with self.dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        for table in ("district_companies", "customers", "requests"):
            self.query(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
        self.commit()
        for table in ("customers", "customer_phones", "bills", "outage_windows", "requests",
                      "request_events"):
            self.query(f"ANALYZE {table}")
        self.commit()


def _open_sink(url: str) -> tuple[_Sink, Callable[[], None]]:
    parsed = make_url(url)
    engine = create_engine(parsed, poolclass=NullPool)
    connection = engine.raw_connection()
    dbapi = connection.driver_connection

    def close() -> None:
        connection.close()
        engine.dispose()

    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _SqliteSink(dbapi, "?"), close
    if backend == "postgresql" and hasattr(dbapi, "cursor") and parsed.get_driver_name() == "psycopg":
        return _PostgresSink(dbapi, "%s"), close
    style = engine.dialect.paramstyle
    return _Sink(dbapi, "?" if style == "qmark" else "%s"), close


# -- public surface -------------------------------------------------------------------------------

@dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate` wrote and how fast."""

    rows: Mapping[str, int]       # table -> rows written
    seconds: float
    rows_per_second: float
    peak_rss_mb: float            # peak RSS of this process + its worker so far (MiB)
    seed: int
    customers: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        tables = ", ".join(f"{table} {count:,}" for table, count in self.rows.items())
        return (f"{self.total_rows:,} rows in {self.seconds:.1f} s "
                f"({self.rows_per_second:,.0f} rows/s, peak RSS {self.peak_rss_mb:,.0f} MB): "
                f"{tables}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process plus that of its largest finished child (the
    worker of a parallel run): an upper bound of what a run needed at once, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def _ensure_companies(sink: _Sink) -> list[int]:
    """Ids of DISTRICT_COMPANIES in order, inserting the ones the database lacks."""
    ids = []
    for company in DISTRICT_COMPANIES:
        found = sink.query("SELECT id FROM district_companies WHERE code = ?", (company.code,))
        if not found:
            found = sink.query("INSERT INTO district_companies (code, name) VALUES (?, ?) "
                               "RETURNING id", (company.code, company.name))
        ids.append(int(found[0][0]))
    sink.commit()
    return ids


def ensure_district_companies(url: str) -> dict[str, int]:
    """Insert the 15 district companies where missing (by code); return code -> id.

    Use it before importing customers into a fresh database. The schema must be migrated.
    """
    sink, close = _open_sink(url)
    try:
        ids = _ensure_companies(sink)
    finally:
        close()
    return {company.code: ids[i] for i, company in enumerate(DISTRICT_COMPANIES)}


def generate(url: str, customers: int, *, seed: int = 1, months: int = 6,
             outages_days: int = 14, progress: bool = True,
             now: datetime | None = None, parallel: bool | None = None) -> GenerationReport:
    """Fill the customer-care tables of ``url`` with ``customers`` realistic customers.

    The schema is migrated first (idempotent). The customers table must be empty (codes and
    ids start fresh); district companies are reused by code. ``now`` (naive UTC) fixes "today"
    for bills, outages and requests: pass it for a reproducible run; the default is the clock.
    ``parallel`` makes rows in a second process while this one writes (default: from
    ``PARALLEL_FROM`` customers on); the rows are the same either way. The worker is started
    with ``spawn``, so a calling script needs the usual ``if __name__ == "__main__":`` guard.

    Raises :class:`DataGenerationError` when the database already holds customers. Chunks are
    committed as they go: a run that fails or is interrupted leaves the customers written so
    far (the indexes dropped for the load are recreated in any case); start again on an empty
    database.
    """
    if customers < 0 or months < 1 or outages_days < 0:
        raise ValueError("customers >= 0, months >= 1 and outages_days >= 0 are required")
    started = time.perf_counter()
    now = (now or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0)
    today = (now + LOCAL_OFFSET).date()
    migrate(url)
    sink, close = _open_sink(url)
    rows = {table: 0 for table in ("district_companies", *_COLUMNS)}
    bar_options: dict[str, Any] = {"file": sys.stderr, "disable": not progress,
                                   "dynamic_ncols": True}
    try:
        existing = sink.query("SELECT COUNT(*) FROM customers")[0][0]
        if existing:
            raise DataGenerationError(
                f"the database already has {existing:,} customers; generate into an empty "
                "database (a new SQLite file, or drop and migrate again)")
        before = len(sink.query("SELECT id FROM district_companies"))
        company_ids = _ensure_companies(sink)
        rows["district_companies"] = len(sink.query("SELECT id FROM district_companies")) - before
        sink.prepare()
        calendar = _BillingCalendar(today, months)
        # the random-order indexes (feeder, phone, unpaid) are built once at the end: faster
        suspended = sink.suspend_indexes(("customers", "customer_phones", "bills"))
        try:
            with tqdm(total=customers, desc="customers, phones, bills", unit=" customers",
                      unit_scale=True, **bar_options) as bar:
                for batch in _customer_batches(seed, customers, company_ids, calendar,
                                               parallel):
                    for table, table_rows in (("customers", batch.customers),
                                              ("customer_phones", batch.phones),
                                              ("bills", batch.bills)):
                        sink.write(table, table_rows)
                        rows[table] += len(table_rows)
                    sink.commit()
                    bar.update(len(batch.customers))
        finally:
            with tqdm(total=len(suspended), desc="indexes", unit=" indexes",
                      **bar_options) as bar:
                sink.rollback()  # a failed chunk leaves no half-written transaction behind
                for index in suspended:
                    sink.restore_indexes([index])
                    bar.update(1)
        outages = list(_outage_rows(seed, today, now, outages_days, company_ids))
        with tqdm(total=len(outages), desc="outage windows", unit=" windows",
                  **bar_options) as bar:
            sink.write("outage_windows", outages)
            sink.commit()
            rows["outage_windows"] = len(outages)
            bar.update(len(outages))
        requests, events = _generate_requests(sink, seed, customers, company_ids, now,
                                              bar_options)
        rows["requests"], rows["request_events"] = requests, events
        with tqdm(total=1, desc="statistics", unit=" step", **bar_options) as bar:
            sink.finish()
            bar.update(1)
    finally:
        close()
    seconds = time.perf_counter() - started
    total = sum(rows.values())
    return GenerationReport(rows=rows, seconds=seconds,
                            rows_per_second=total / seconds if seconds else 0.0,
                            peak_rss_mb=peak_rss_mb(), seed=seed, customers=customers)


def _customer_batches(seed: int, customers: int, company_ids: Sequence[int],
                      calendar: _BillingCalendar, parallel: bool | None
                      ) -> Iterator[_CustomerBatch]:
    """The customer chunks in order. In parallel, one worker process makes chunks ahead (at
    most two waiting) while this process writes: row making and writing each keep a core busy.
    """
    jobs = [(seed, chunk, first + 1, min(CHUNK_CUSTOMERS, customers - first), tuple(company_ids),
             calendar) for chunk, first in enumerate(range(0, customers, CHUNK_CUSTOMERS))]
    if parallel is None:
        parallel = customers >= PARALLEL_FROM
    if not parallel or len(jobs) < 2:
        for job in jobs:
            yield _customer_batch(*job)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding connections
    with ProcessPoolExecutor(1, mp_context=context) as maker:
        ahead: deque[Future[_CustomerBatch]] = deque()
        try:
            for job in jobs:
                ahead.append(maker.submit(_customer_batch, *job))
                if len(ahead) > 2:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            for future in ahead:
                future.cancel()


def _generate_requests(sink: _Sink, seed: int, customers: int, company_ids: Sequence[int],
                       now: datetime, bar_options: dict[str, Any]) -> tuple[int, int]:
    rng = random.Random(f"{seed}/requests")
    r = rng.random
    total = math.ceil(customers * REQUESTS_PER_THOUSAND / 1000)
    used = {row[0] for row in sink.query("SELECT number FROM requests")}
    next_id = int(sink.query("SELECT COALESCE(MAX(id), 0) FROM requests")[0][0]) + 1
    code_of = {company_ids[i]: c.code for i, c in enumerate(DISTRICT_COMPANIES)}
    written_requests = written_events = 0
    with tqdm(total=total, desc="requests", unit=" requests", **bar_options) as bar:
        for first in range(0, total, 2_000):
            count = min(2_000, total - first)
            plans = []
            for _ in range(count):
                kind = _KIND_PICK.pick(rng)
                known = customers > 0 and not (
                    kind.name == "new_connection" or (kind.name == "hazard" and r() < 0.3))
                plans.append((kind, 1 + int(r() * customers) if known else None))
            wanted = sorted({cid for _, cid in plans if cid is not None})
            found: dict[int, tuple[int, str, str | None]] = {}
            for start in range(0, len(wanted), 500):
                ids = wanted[start:start + 500]
                marks = ", ".join("?" * len(ids))
                for cid, dc_id, area, phone in sink.query(
                        "SELECT c.id, c.district_company_id, c.area, (SELECT MIN(p.phone) FROM "
                        "customer_phones p WHERE p.customer_id = c.id) FROM customers c "
                        f"WHERE c.id IN ({marks})", ids):
                    found[int(cid)] = (int(dc_id), area, phone)
            request_rows, event_rows = [], []
            for kind, customer_id in plans:
                if customer_id is not None:
                    dc_id, _area, phone = found[customer_id]
                    caller = phone or _mobile(rng)
                else:
                    dc_id = company_ids[_PLAN.wards[_PLAN.ward_pick.pick(rng)].company_index]
                    caller = _mobile(rng)
                while True:
                    body = str(1_000_000 + int(r() * 9_000_000))
                    number = body + luhn_digit(body)
                    if number not in used:
                        used.add(number)
                        break
                target = _RequestTarget(customer_id, dc_id, code_of.get(dc_id, str(dc_id)),
                                        caller)
                request, events = _request_rows(rng, next_id, number, kind, target, now)
                next_id += 1
                request_rows.append(request)
                event_rows.extend(events)
            sink.write("requests", request_rows)
            sink.write("request_events", event_rows)
            sink.commit()
            written_requests += len(request_rows)
            written_events += len(event_rows)
            bar.update(count)
    return written_requests, written_events
