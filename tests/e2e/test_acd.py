"""Callers reach operators on SIPp softphones through the ACD: the operator's leg rings first and
the caller joins only once it answers; an operator who does not answer is skipped without the
caller noticing; a caller who leaves stops the ring."""

from __future__ import annotations

import contextlib
import time
from typing import Iterator

import pytest

from hotline import processes
from hotline.sipagent import SippOperator
from records.demo import DEMO

from .conftest import Hotline

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def operators(hotline: Hotline, **answers: str) -> Iterator[dict[str, SippOperator]]:
    """Softphones that register and log in (in the order given: the first is idle longest)."""
    settings = hotline.settings
    phones = {name: SippOperator(name, settings.operator_passwords[name], "127.0.0.1",
                                 settings.sip_port, answer=answer, talk_s=3.0, wait_s=120)
              for name, answer in answers.items()}
    try:
        for name, phone in phones.items():
            phone.start()
            state = processes.controller_request(settings, f"agent {name} login")
            assert state.get("state") == "available", state
            time.sleep(0.05)
        yield phones
    finally:
        for name, phone in phones.items():
            phone.stop()
            processes.controller_request(settings, f"agent {name} logout")


def agent(hotline: Hotline, name: str) -> dict[str, object]:
    rows = processes.controller_request(hotline.settings, "agents") or []
    return next((r for r in rows if r["agent"] == name), {})


def test_the_caller_joins_only_the_operator_who_answered(hotline: Hotline) -> None:
    with operators(hotline, op08="now"):
        (record,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000, wait_s=40)
        assert record is not None
        assert record["operator"] == "op08"
        assert record["outcome"] == "queued"
        assert agent(hotline, "op08")["state"] in ("wrap_up", "available")
        hotline.wait_until(lambda: agent(hotline, "op08").get("state") == "available", 20,
                           "op08 free after the wrap-up")


def test_an_operator_who_does_not_answer_is_skipped(hotline: Hotline) -> None:
    with operators(hotline, op12="never", op13="now"):
        (record,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000, wait_s=40)
        assert record is not None and record["operator"] == "op13"
        assert agent(hotline, "op12")["state"] == "available"  # one miss: not paused yet


def test_a_caller_who_leaves_stops_the_ring(hotline: Hotline) -> None:
    with operators(hotline, op06="never"):
        (record,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000,
                                 hangup_after_s=9.0, wait_s=40)
        assert record is not None and record["operator"] is None
        hotline.wait_until(lambda: agent(hotline, "op06").get("state") == "available", 10,
                           "op06 free again")
        assert "hung up while waiting" in hotline.controller_log()
