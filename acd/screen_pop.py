"""What an operator's softphone shows while a caller is offered: the screen pop on a plain phone.

Any SIP phone shows the caller ID name of an incoming call, so the ACD puts the essentials there,
most important first (phones cut long names): the queue, the customer the IVR identified, open
requests (and how many are past their deadline), earlier calls. For example

    "outage PE0100000001 2 open 1 late 3 calls" <0909123456>

The name goes into an AMI Originate header and on to the SIP From header, so it is reduced to
ASCII letters, digits and a few marks: nothing a caller typed can break either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.#/-]+")


@dataclass(frozen=True)
class CallerFacts:
    """What the records say of a waiting caller (all optional: no database, no facts)."""
    last_operator: str | None = None  # for sticky routing
    customer: str | None = None       # customer code the IVR identified
    open_requests: int = 0
    late_requests: int = 0            # open and past their deadline
    earlier_calls: int = 0            # among the last few
    looked_up: bool = False           # the records answered (else nothing is known)


def _clean(text: str) -> str:
    return " ".join(_UNSAFE.sub(" ", text).split())


def phone_display(queue: str, facts: CallerFacts) -> str:
    """What the operator's phone shows for this caller (never empty, at most ``MAX_LENGTH``)."""
    parts = [queue]
    if facts.customer:
        parts.append(facts.customer)
    if facts.open_requests:
        parts.append(f"{facts.open_requests} open")
        if facts.late_requests:
            parts.append(f"{facts.late_requests} late")
    if facts.earlier_calls:
        parts.append(f"{facts.earlier_calls} call{'s' if facts.earlier_calls != 1 else ''}")
    elif facts.looked_up and not facts.customer:
        parts.append("new caller")
    return offer_name(" ".join(parts))


def offer_name(display: str, callback: bool = False) -> str:
    """The caller ID name of an offer: the display (as stored, so cleaned again), marked when
    the operator is about to call the caller back."""
    text = _clean(f"callback {display}" if callback else display) or "19001122"
    return text[:MAX_LENGTH].rstrip()
