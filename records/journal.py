"""Asterisk's call journal (cdr_custom ``calls.csv``) folded into the call records.

Asterisk writes one CSV line per CDR of an inbound hotline call, whether or not the controller
was alive. Reading is incremental (offset per file identity) and idempotent: a line read twice
changes nothing, and every call ends with exactly one row keyed by its channel unique id.
"""

from __future__ import annotations

import csv
import fcntl
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from .calls import open_call
from .models import JournalOffset

log = logging.getLogger("records.journal")

FIELDS = (
    "hotline", "uniqueid", "linkedid", "caller", "sip_call_id", "channel", "dstchannel",
    "start", "answer", "end", "disposition", "outcome", "queue_status",
    "queue_joined", "queue_answered",  # epoch seconds (later columns: older lines lack them)
)
_OLDEST_LINE = 12  # columns of the first journal format (no queue_status)


@dataclass(frozen=True)
class JournalEntry:
    call_id: str
    caller: str
    sip_call_id: str
    start: datetime
    end: datetime | None
    operator: str | None
    outcome: str
    queue_status: str
    # seconds from joining the queue to an operator of Asterisk's fallback queue answering
    # (the dialplan's own clock): the whole wait, the ACD's part included
    queue_wait_s: float | None = None


def _time(value: str) -> datetime | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def parse_line(line: str) -> JournalEntry | None:
    """One journal line, or None if it is not a hotline call (or not a line we understand)."""
    try:
        row = next(csv.reader(io.StringIO(line)))
    except (StopIteration, csv.Error):
        return None
    if len(row) < _OLDEST_LINE:
        return None
    values = dict(zip(FIELDS, row + [""] * (len(FIELDS) - len(row))))
    start = _time(values["start"])
    if values["hotline"] != "1" or not values["uniqueid"] or start is None:
        return None
    operator = None
    # the caller's channel dials operators (one journal line per ring): only an answered one
    # is the call's operator; an operator's own leg (a callback) is theirs whatever it did
    dialled = values["dstchannel"] if values["disposition"] == "ANSWERED" else ""
    for channel in (dialled, values["channel"]):
        if channel.startswith("PJSIP/op"):
            operator = channel[len("PJSIP/"):].split("-", 1)[0]
    joined, answered = _time(values["queue_joined"]), _time(values["queue_answered"])
    wait = (answered - joined).total_seconds() if joined and answered else None
    # The call is the caller's channel: an operator's leg bridged to it shares its linkedid.
    return JournalEntry(
        call_id=(values["linkedid"] or values["uniqueid"])[:64],
        caller=values["caller"][:32],
        sip_call_id=values["sip_call_id"][:128],
        start=start,
        end=_time(values["end"]),
        operator=operator,
        outcome=values["outcome"],
        queue_status=values["queue_status"][:32],
        queue_wait_s=wait if wait is not None and wait >= 0 else None,
    )


def apply(session: Session, entry: JournalEntry) -> None:
    call = open_call(
        session,
        call_id=entry.call_id,
        caller_number=entry.caller,
        sip_call_id=entry.sip_call_id or None,
        started_at=entry.start,
    )
    # an operator's leg may be journalled before the caller: the call starts with the caller
    call.started_at = min(call.started_at, entry.start)
    if not call.caller_number and entry.caller:
        call.caller_number = entry.caller
    if entry.end is not None and (call.ended_at is None or entry.end > call.ended_at):
        call.ended_at = entry.end
    if call.outcome == "in_progress":
        # The controller never closed this call: it was down, killed, or never reached.
        call.outcome = {"in_progress": "abandoned", "": "abandoned"}.get(
            entry.outcome, entry.outcome
        )
    if entry.operator:
        call.operator = entry.operator
    if entry.queue_status:
        call.queue_status = entry.queue_status
    if entry.queue_wait_s is not None and call.queue_wait_s is None:
        call.queue_wait_s = entry.queue_wait_s  # the ACD records its own answers itself
    if not call.sip_call_id and entry.sip_call_id:
        call.sip_call_id = entry.sip_call_id
    session.commit()


def ingest(sessions: sessionmaker, path: Path) -> int:  # type: ignore[type-arg]
    """Fold every complete line written since the last read into the call records.

    Several processes may ingest the same journal (the controller, ``hotline calls``): a lock
    file next to the journal makes them take turns, and applying a line twice changes nothing.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return 0
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            applied = _ingest_locked(sessions, path, stat)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if applied:
        log.info("call journal: %d line(s) folded into the call records", applied)
    return applied


def _ingest_locked(sessions: sessionmaker, path: Path,  # type: ignore[type-arg]
                   stat: os.stat_result) -> int:
    applied = 0
    with sessions() as session:
        mark = session.get(JournalOffset, str(path))
        if mark is None:
            mark = JournalOffset(path=str(path), inode=stat.st_ino, offset=0)
            session.add(mark)
            session.commit()
        if mark.inode != stat.st_ino or mark.offset > stat.st_size:
            mark.inode, mark.offset = stat.st_ino, 0  # rotated or truncated: start over
        with open(path, "rb") as f:
            f.seek(mark.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # only complete lines
        for raw in data[:end].splitlines():
            entry = parse_line(raw.decode("utf-8", errors="replace"))
            if entry is not None:
                apply(session, entry)
                applied += 1
        mark.offset += end
        session.commit()
    return applied
