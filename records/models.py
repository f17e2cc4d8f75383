"""Typed SQLAlchemy models of the customer-care records.

Times are naive UTC datetimes; dates (bill periods, due dates) are calendar dates in Ho Chi
Minh City. Money is whole đồng in integers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DistrictCompany(Base):
    """A district power company (Công ty Điện lực) that acts on forwarded requests."""

    __tablename__ = "district_companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)  # PE + 11 digits
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256))
    district_company_id: Mapped[int] = mapped_column(ForeignKey("district_companies.id"))
    area: Mapped[str] = mapped_column(String(64))    # ward/commune, e.g. "Q1-BEN-NGHE"
    feeder: Mapped[str] = mapped_column(String(32))  # medium-voltage feeder, e.g. "SG-471"
    # the price list the customer's bills follow (datagen bills every customer as residential)
    tariff: Mapped[str] = mapped_column(String(32), default="residential",
                                        server_default="residential")

    __table_args__ = (Index("ix_customers_feeder", "feeder"),
                      Index("ix_customers_name", "name"))


class CustomerPhone(Base):
    """A phone number a customer calls from, normalised to digits (leading 0, no +84)."""

    __tablename__ = "customer_phones"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)

    __table_args__ = (Index("ix_customer_phones_phone", "phone"),)


class Bill(Base):
    __tablename__ = "bills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    period: Mapped[date] = mapped_column(Date)  # first day of the billed month
    kwh: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # đồng, VAT included
    due_date: Mapped[date] = mapped_column(Date)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("customer_id", "period", name="uq_bills_customer_period"),
        Index("ix_bills_unpaid", "customer_id", "paid"),
    )


class OutageWindow(Base):
    """A planned power cut for an area or a feeder."""

    __tablename__ = "outage_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_company_id: Mapped[int] = mapped_column(ForeignKey("district_companies.id"))
    area: Mapped[str | None] = mapped_column(String(64))
    feeder: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned|cancelled|done

    __table_args__ = (
        Index("ix_outage_windows_feeder", "feeder", "starts_at"),
        Index("ix_outage_windows_area", "area", "starts_at"),
    )


class TariffTier(Base):
    """One tier of a tiered price list, as published: the kWh in a month up to ``up_to_kwh``
    (None: every kWh above the tier before) cost ``price`` đồng each, before VAT, from
    ``valid_from`` until a later ``valid_from`` of the same tariff replaces the whole list."""

    __tablename__ = "tariff_tiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tariff: Mapped[str] = mapped_column(String(32))  # as Customer.tariff: "residential"
    valid_from: Mapped[date] = mapped_column(Date)
    tier: Mapped[int] = mapped_column(Integer)       # 1, 2, ...
    up_to_kwh: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)      # đồng per kWh, VAT not included

    __table_args__ = (UniqueConstraint("tariff", "valid_from", "tier",
                                       name="uq_tariff_tiers_tier"),)


class Request(Base):
    """A customer's request, forwarded to a district company and tracked against a deadline."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)  # what the caller keys in
    type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    district_company_id: Mapped[int | None] = mapped_column(ForeignKey("district_companies.id"))
    caller_number: Mapped[str] = mapped_column(String(32), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    deadline_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_requests_open_deadline", "status", "deadline_at"),)


class RequestEvent(Base):
    """Every status change and escalation of a request: who, when, what."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)


class Call(Base):
    """One row per call to the hotline, whatever happened to it.

    ``call_id`` is Asterisk's unique id of the caller's channel, so the controller and the
    Asterisk call journal always land on the same row.
    """

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    sip_call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    caller_number: Mapped[str] = mapped_column(String(32), index=True, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # hang-up, from Asterisk
    ivr_ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # left the IVR
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(32), default="in_progress")
    menu_version: Mapped[str | None] = mapped_column(String(64))
    queue_status: Mapped[str | None] = mapped_column(String(32))
    queue_wait_s: Mapped[float | None] = mapped_column(Float)
    operator: Mapped[str | None] = mapped_column(String(32))
    wrap_up_code: Mapped[str | None] = mapped_column(String(32))

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "sip_call_id": self.sip_call_id,
            "caller_number": self.caller_number,
            "customer_id": self.customer_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ivr_ended_at": self.ivr_ended_at.isoformat() if self.ivr_ended_at else None,
            "path": self.path or [],
            "outcome": self.outcome,
            "menu_version": self.menu_version,
            "queue_status": self.queue_status,
            "queue_wait_s": self.queue_wait_s,
            "operator": self.operator,
            "wrap_up_code": self.wrap_up_code,
        }


class CallRequest(Base):
    """A request a call created or asked about."""

    __tablename__ = "call_requests"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), primary_key=True,
                                            index=True)
    relation: Mapped[str] = mapped_column(String(16))  # created | asked


class JournalOffset(Base):
    """How far the Asterisk call journal has been read (per file identity)."""

    __tablename__ = "journal_offsets"

    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    inode: Mapped[int] = mapped_column(BigInteger, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)


class CallAppend(Base):
    """A step added to a call's path after the IVR (the ACD's), once however often its write is
    replayed: a call's path is the IVR's path followed by these, in order. Kept for a month
    (``records.calls.forget_appends``)."""

    __tablename__ = "call_appends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    write_id: Mapped[str] = mapped_column(String(32), unique=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    applied_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class WebAccount(Base):
    """A person who logs in to the web desk: an operator (``agent_id``), a supervisor, an
    admin, a district company (``district_code``), or an API client (tokens only)."""

    __tablename__ = "web_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(32))
    district_code: Mapped[str | None] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token of an account for another system (the website, an SMS gateway); only its
    SHA-256 is kept (a token is 32 random bytes: no slow hash needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("web_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
