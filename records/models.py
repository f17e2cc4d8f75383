"""Typed SQLAlchemy models of the customer-care records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # hang-up, from Asterisk
    ivr_ended_at: Mapped[datetime | None] = mapped_column(DateTime)  # left the IVR
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(32), default="in_progress")
    menu_version: Mapped[str | None] = mapped_column(String(64))
    queue_status: Mapped[str | None] = mapped_column(String(32))
    operator: Mapped[str | None] = mapped_column(String(32))

    def as_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "sip_call_id": self.sip_call_id,
            "caller_number": self.caller_number,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "ivr_ended_at": self.ivr_ended_at.isoformat() if self.ivr_ended_at else None,
            "path": self.path or [],
            "outcome": self.outcome,
            "menu_version": self.menu_version,
            "queue_status": self.queue_status,
            "operator": self.operator,
        }


class JournalOffset(Base):
    """How far the Asterisk call journal has been read (per file identity)."""

    __tablename__ = "journal_offsets"

    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    inode: Mapped[int] = mapped_column(BigInteger, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
