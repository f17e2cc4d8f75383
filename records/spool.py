"""The on-disk spool: call-record writes the database has not taken yet.

One JSON-lines file per call in ``<spool>/calls/``, oldest write first, so that a call's writes
replay in their order and calls replay independently of each other; ``<spool>/rejected.jsonl``
keeps the writes quarantined for good, each with when and why. Every change is fsynced, and a
rewrite goes through a temporary file and a rename, so a crash leaves the old file or the new
one, never half of one; a line torn by a crash is moved to the rejected file with the reason.

These functions block (file I/O): the store runs them off the event loop, and only the one
writer of a call touches that call's file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clock import utcnow

log = logging.getLogger("records")

_PLAIN_NAME = re.compile(r"[0-9A-Za-z_-][0-9A-Za-z._-]{0,63}")


@dataclass(frozen=True)
class Write:
    """One call-record write: ``op`` names what it does (see ``records.store``), ``id`` makes
    replaying it idempotent."""

    id: str
    call_id: str
    op: str
    args: dict[str, Any]

    @classmethod
    def new(cls, call_id: str, op: str, args: dict[str, Any]) -> Write:
        return cls(uuid.uuid4().hex, call_id, op, args)

    def line(self) -> str:
        return json.dumps({"id": self.id, "call": self.call_id, "op": self.op, "args": self.args},
                          default=str, ensure_ascii=False)

    @classmethod
    def parse(cls, line: str) -> Write:
        """A spool line as a write; ValueError if it is not one."""
        try:
            data = json.loads(line)
            write = cls(str(data["id"]), str(data["call"]), str(data["op"]), dict(data["args"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a spooled write ({exc})") from None
        return write


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = folder / "calls"
        self.rejected_file = folder / "rejected.jsonl"

    def file(self, call_id: str) -> Path:
        """The call's file: named after the call id when that is a plain name, else a hash."""
        if _PLAIN_NAME.fullmatch(call_id):
            return self.calls / f"{call_id}.jsonl"
        return self.calls / f"={hashlib.sha256(call_id.encode()).hexdigest()[:40]}.jsonl"

    # -- reading ---------------------------------------------------------------------------------

    def scan(self) -> dict[str, int]:
        """Every call with writes waiting, and how many (read at start)."""
        waiting: dict[str, int] = {}
        if not self.calls.is_dir():
            return waiting
        for path in sorted(self.calls.glob("*.jsonl")):
            if path.name.startswith("."):
                continue
            writes = self._read(path)
            if writes:
                waiting[writes[0].call_id] = waiting.get(writes[0].call_id, 0) + len(writes)
            else:
                path.unlink(missing_ok=True)
        return waiting

    def read(self, call_id: str) -> list[Write]:
        """The call's waiting writes, oldest first."""
        return self._read(self.file(call_id))

    def _read(self, path: Path) -> list[Write]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        writes, torn = [], []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                writes.append(Write.parse(line))
            except ValueError as exc:
                torn.append((line, str(exc)))
        if torn:  # a crash in the middle of an append: keep what can be read, set the rest aside
            for line, why in torn:
                log.error("call records: an unreadable line in %s (%s) moved to %s", path, why,
                          self.rejected_file)
                self._append(self.rejected_file, [json.dumps(
                    {"at": utcnow().isoformat(), "reason": why, "line": line},
                    ensure_ascii=False)])
            self._rewrite(path, [w.line() for w in writes])
        return writes

    def rejected(self) -> int:
        try:
            with open(self.rejected_file, "rb") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    # -- changing --------------------------------------------------------------------------------

    def append(self, call_id: str, writes: Iterable[Write]) -> None:
        """Put writes behind the call's waiting ones."""
        self._append(self.file(call_id), [w.line() for w in writes])

    def drop_head(self, call_id: str, count: int) -> int:
        """Forget the call's ``count`` oldest writes (they landed); returns how many remain."""
        path = self.file(call_id)
        remaining = self._read(path)[count:]
        if remaining:
            self._rewrite(path, [w.line() for w in remaining])
        else:
            path.unlink(missing_ok=True)
            _sync_folder(path.parent)
        return len(remaining)

    def reject(self, write: Write, reason: str) -> None:
        """Quarantine a write the database refuses for good."""
        self._append(self.rejected_file, [json.dumps(
            {"at": utcnow().isoformat(), "reason": reason, "write": json.loads(write.line())},
            ensure_ascii=False)])

    def import_single_file(self, path: Path) -> int:
        """Take in a spool of the earlier single-file format (``{"op", "args"}`` lines)."""
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        except FileNotFoundError:
            return 0
        taken = 0
        for line in lines:
            try:
                data = json.loads(line)
                write = Write.new(str(data["args"]["call_id"]), str(data["op"]),
                                  dict(data["args"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                if line.strip():
                    self._append(self.rejected_file, [json.dumps(
                        {"at": utcnow().isoformat(), "reason": "unreadable line of the earlier "
                         "spool format", "line": line}, ensure_ascii=False)])
                continue
            self.append(write.call_id, [write])
            taken += 1
        path.unlink()
        return taken

    def _append(self, path: Path, lines: list[str]) -> None:
        if not lines:
            return
        created = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        if created:
            _sync_folder(path.parent)

    def _rewrite(self, path: Path, lines: list[str]) -> None:
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a file's creation, rename or removal durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
