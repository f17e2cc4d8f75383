"""Where a callback may go: no toll fraud through the hotline's outbound trunk.

A callback is placed only to a number of the national plan, as the records define it
(:mod:`records.phones`): a mobile 0 + 9 digits or a landline 02 + 9 digits, ``+84``/``84`` read
as the leading 0. International numbers (``00``, ``+`` another country), premium-rate and short
numbers (``1900xxxx``, ``1800xxxx``), and anything a caller ID could be forged into are refused.
On top of that, each number gets at most ``per_hour`` callbacks in any hour (counted in Redis by
:meth:`acd.live.LiveState.hold_callback`, so several controllers share the count).

Pure: the decisions here take the caller's number and answer; the service logs and counts the
refusals.
"""

from __future__ import annotations

from records.phones import phone_number
from records.results import Invalid

NOT_NATIONAL = "not_national"   # refused: not a number of the national plan
LIMIT = "limit"                 # refused: the number had its callbacks for this hour
WINDOW_S = 3600.0


def callback_number(caller: str) -> str | None:
    """The national form of a caller's number, which a callback may dial; None: refused."""
    phone = phone_number(caller or "")
    return None if isinstance(phone, Invalid) else phone
