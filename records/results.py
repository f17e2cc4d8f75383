"""Typed lookup results the IVR can speak and the operator screen can show.

A lookup answers with exactly one of:

* :class:`Found` - the value;
* :class:`NotFound` - nothing matches (an unknown customer code, a number with no customer);
* :class:`Invalid` - the input cannot be right (a customer code of the wrong shape, a request
  number whose check digit fails), so the caller can be asked again without a database trip;
* :class:`Unavailable` - the database did not answer in time; the IVR offers an operator.

Nothing here raises in a call path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Found(Generic[T]):
    value: T


@dataclass(frozen=True)
class NotFound:
    what: str
    key: str

    def __str__(self) -> str:  # for people: "no request 20260015"
        return f"no {self.what} {self.key}"


@dataclass(frozen=True)
class Invalid:
    what: str
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Unavailable:
    reason: str

    def __str__(self) -> str:
        return f"the records did not answer ({self.reason})"


Result = Found[T] | NotFound | Invalid | Unavailable


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    code: str
    name: str
    address: str
    district_company_code: str
    district_company_name: str
    area: str
    feeder: str
    tariff: str = "residential"


@dataclass(frozen=True)
class BillInfo:
    period: date
    kwh: int
    amount: int
    due_date: date
    paid: bool
    paid_date: date | None


@dataclass(frozen=True)
class BillStatus:
    latest: BillInfo | None
    unpaid_total: int
    unpaid_count: int


@dataclass(frozen=True)
class OutageInfo:
    starts_at: datetime
    ends_at: datetime
    reason: str
    area: str | None
    feeder: str | None
    status: str


@dataclass(frozen=True)
class RequestInfo:
    number: str
    type: str
    status: str
    created_at: datetime
    deadline_at: datetime
    escalation_level: int
    customer_code: str | None
    district_company_name: str | None
    overdue_by_s: float  # negative: time left before the deadline


@dataclass(frozen=True)
class CallSummary:
    started_at: datetime
    outcome: str
    operator: str | None
    wrap_up_code: str | None


@dataclass(frozen=True)
class ScreenPop:
    caller_number: str
    calls: tuple[CallSummary, ...]
    open_requests: tuple[RequestInfo, ...]


@dataclass(frozen=True)
class TierInfo:
    tier: int
    from_kwh: int        # 0 for the first tier, then one above the tier before (51, 101, ...)
    to_kwh: int | None   # None: and above
    price: int           # đồng per kWh, VAT not included


@dataclass(frozen=True)
class TariffInfo:
    tariff: str
    valid_from: date
    tiers: tuple[TierInfo, ...]
