"""Callers reach operators on SIPp softphones through the ACD: the operator's leg rings first and
the caller joins only once it answers; an operator who does not answer is skipped without the
caller noticing; a caller who leaves stops the ring."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

import pytest

from hotline import processes
from hotline.sipagent import SippOperator
from records.demo import DEMO

from .baresip import Baresip
from .conftest import Hotline

pytestmark = pytest.mark.e2e
SETTINGS = {"acd_max_queue": 1}


@contextlib.contextmanager
def operators(hotline: Hotline, talk_s: float = 3.0, wait_s: float = 120, **answers: str
              ) -> Iterator[dict[str, SippOperator]]:
    """Softphones that register and log in (in the order given: the first is idle longest).
    Each operator starts logged out whatever an earlier test did, and is logged out at the end
    (once a call it is still on has ended), before its phone is switched off: an operator left
    logged in with no phone would be offered callers and missed, until paused for no answer."""
    settings = hotline.settings
    phones = {name: SippOperator(name, settings.operator_passwords[name], "127.0.0.1",
                                 settings.sip_port, answer=answer, talk_s=talk_s, wait_s=wait_s)
              for name, answer in answers.items()}
    for name in phones:
        log_out(hotline, name)
    try:
        for name, phone in phones.items():
            phone.start()
            state = processes.controller_request(settings, f"agent {name} login")
            assert state.get("state") == "available", state
            time.sleep(0.05)  # not a wait for anything: the next one is idle a little less long
        yield phones
    finally:
        try:
            for name in phones:
                log_out(hotline, name)
        finally:
            for phone in phones.values():
                phone.stop()


def log_out(hotline: Hotline, name: str, timeout: float = 60) -> None:
    """``name`` logged out: at once if free, paused, ringing or in the wrap-up; after the call
    if on one (the ACD refuses to log out an operator on a call)."""
    answers: list[dict[str, object]] = []
    started = time.monotonic()
    nobody = ["the controller answered"]

    def out() -> bool:
        rows = processes.controller_request(hotline.settings, "agents")
        if rows is None:
            if not answers and time.monotonic() - started > 10:
                nobody[0] = "no controller"  # a test killed it: that test logs them out
                return True
            return False  # no controller answering yet (a test restarts it)
        if next((r["state"] for r in rows if r["agent"] == name), "logged_out") == "logged_out":
            return True
        answer = processes.controller_request(hotline.settings, f"agent {name} logout") or {}
        answers.append(answer)
        return bool(answer.get("state") == "logged_out")

    try:
        hotline.wait_until(out, timeout, f"{name} logged out")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the last answer: {answers[-1:]}") from None
    if nobody[0] == "no controller":
        print(f"{name}: no controller to log out from (10 s); left to the test that stopped it")
        return
    if len(answers) > 1:  # refused at first (shown with -s): a single logout would have left it
        print(f"{name}: logout refused at first ({answers[0].get('error')}); logged out "
              f"{time.monotonic() - started:.1f} s later")


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


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_a_third_party_softphone_takes_calls_over_udp_or_tcp(hotline: Hotline,
                                                              transport: str) -> None:
    """baresip (not SIPp) as operator op14: registers with digest auth, logs in by dialling
    nothing (the command line does it), answers; over TCP Asterisk calls it on the connection
    the phone opened."""
    settings = hotline.settings
    with Baresip("op14", settings.operator_passwords["op14"], "127.0.0.1", settings.sip_port,
                 transport) as phone:
        try:
            assert processes.controller_request(settings, "agent op14 login")["state"] == \
                "available"
            (record,) = hotline.call("0", caller="0909000666", delay_ms=6000, wait_s=40,
                                     hangup_after_s=14.0)
        finally:
            log_out(hotline, "op14")
        assert phone.established() == ["sip:0909000666@127.0.0.1"]
    assert record is not None and record["operator"] == "op14"
    assert record["queue_status"] == "ANSWERED"


def test_the_operator_sees_who_calls_on_the_phone_and_in_the_screen_pop(
        hotline: Hotline) -> None:
    """A known caller who asks for an operator: the operator's phone shows the queue, the
    customer the IVR identified and their open request; the full screen pop lists the request
    and the caller's earlier calls, not the one being put through."""
    from .test_acd_routing import in_background

    with operators(hotline, talk_s=8.0, op10="now") as phones:
        (earlier,) = hotline.call("0", caller=DEMO.caller_known, delay_ms=6000, wait_s=40)
        assert earlier is not None and earlier["operator"] == "op10"
        hotline.wait_until(lambda: agent(hotline, "op10").get("state") == "available", 20,
                           "op10 free after the first call")
        _, thread = in_background(hotline, keys="0", caller=DEMO.caller_known, delay_ms=6000)
        try:
            hotline.wait_until(lambda: agent(hotline, "op10").get("state") == "on_call", 40,
                               "op10 on the second call")
            pop = processes.controller_request(hotline.settings, "pop op10")
        finally:
            thread.join(60)
        shown = phones["op10"].caller_ids()
    assert pop["customer"] == DEMO.customer_code, pop
    assert pop["call"] and pop["call"] != earlier["call_id"]
    assert DEMO.request_number in [r["number"] for r in pop["open_requests"]]
    assert [c["operator"] for c in pop["calls"]][:1] == ["op10"]  # the earlier call, not this
    assert len(shown) == 2, shown
    pattern = (rf'"general {DEMO.customer_code} (\d+) open(?: \d+ late)?(?: (\d+) calls?)?" '
               rf"<sip:{DEMO.caller_known}@")
    first, second = (re.match(pattern, line) for line in shown)
    assert first and second, shown
    assert int(second[1]) == int(first[1]) == len(pop["open_requests"])
    assert int(second[2]) == int(first[2] or 0) + 1  # the first call, seen on the second
    by_number = processes.controller_request(hotline.settings, f"pop {DEMO.caller_known}")
    assert by_number["call"] is None
    assert [r["number"] for r in by_number["open_requests"]] == \
        [r["number"] for r in pop["open_requests"]]
    assert processes.controller_request(hotline.settings, "pop nobody") == {
        "error": "'nobody' is neither an operator nor a phone number"}


def test_an_operator_who_does_not_answer_is_skipped(hotline: Hotline) -> None:
    with operators(hotline, op12="never", op13="now"):
        (record,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000, wait_s=40)
        assert record is not None and record["operator"] == "op13"
        assert agent(hotline, "op12")["state"] == "available"  # one miss: not paused yet


def test_a_busy_phone_is_passed_over_at_once(hotline: Hotline) -> None:
    # op24 (general 5) is the better match, but its phone answers 486 Busy Here
    with operators(hotline, op24="busy", op31="now"):
        (record,) = hotline.call("0", caller="0909000444", delay_ms=6000, wait_s=40)
        missed = agent(hotline, "op24")
    assert record is not None and record["operator"] == "op31"
    assert record["queue_wait_s"] is not None and record["queue_wait_s"] < 5  # no ring timeout
    assert missed["state"] == "available"  # one refusal does not pause


def test_an_operator_who_answers_late_still_gets_the_caller(hotline: Hotline) -> None:
    with operators(hotline, op36="after:4000"):
        (record,) = hotline.call("0", caller="0909000555", delay_ms=6000, wait_s=40)
    assert record is not None and record["operator"] == "op36"
    assert record["queue_wait_s"] is not None and 3.5 < record["queue_wait_s"] < 15


def test_a_caller_who_leaves_stops_the_ring(hotline: Hotline) -> None:
    with operators(hotline, op06="never"):
        (record,) = hotline.call("0", caller=DEMO.caller_unknown, delay_ms=6000,
                                 hangup_after_s=9.0, wait_s=40)
        assert record is not None and record["operator"] is None
        hotline.wait_until(lambda: agent(hotline, "op06").get("state") == "available", 10,
                           "op06 free again")
        assert "hung up while waiting" in hotline.controller_log()


def test_an_edited_operators_file_applies_without_a_restart(hotline: Hotline) -> None:
    """Give op08 a skill it did not have: the controller reloads the file and the ACD uses it.
    A broken file is refused and the running list stays."""
    from pathlib import Path

    agents = Path(hotline.settings.agents_file)
    original = agents.read_text(encoding="utf-8")
    try:
        agents.write_text("agents:\n  op08: {skills: {general: [\n", encoding="utf-8")
        hotline.wait_until(lambda: "operators file rejected" in hotline.controller_log(), 20,
                           "the broken file refused")
        agents.write_text(original.replace("op08: {name: \"Đỗ Thanh Bình\", skills: {general: 5",
                                           "op08: {name: \"Đỗ Thanh Bình\", skills: {outage: 5, "
                                           "general: 5"), encoding="utf-8")
        hotline.wait_until(lambda: "operators file reloaded" in hotline.controller_log(), 20,
                           "the new file in force")
        with operators(hotline, op08="now"):  # op08 now has the outage skill a hazard needs
            (record,) = hotline.call("3 1", caller=DEMO.caller_known, delay_ms=6000,
                                     gap_ms=2500, wait_s=40)
        assert record is not None and record["operator"] == "op08"
        assert record["queue_wait_s"] is not None and record["queue_wait_s"] < 30
    finally:
        agents.write_text(original, encoding="utf-8")


def test_a_full_queue_tells_the_next_caller_to_call_later(hotline: Hotline) -> None:
    from .test_acd_routing import in_background, waiting

    with operators(hotline, op08="now"):
        processes.controller_request(hotline.settings, "agent op08 pause")
        first, thread = in_background(hotline, keys="0", caller="0909777101", delay_ms=6000)
        hotline.wait_until(lambda: waiting(hotline) == 1, 30, "the first caller waiting")
        (turned_away,) = hotline.call("0", caller="0909777102", delay_ms=6000, wait_s=40)
        processes.controller_request(hotline.settings, "agent op08 unpause")
        thread.join()
    assert turned_away is not None and turned_away["queue_status"] == "QUEUE_FULL"
    assert turned_away["operator"] is None
    from hotline.sipcall import wait_for_records

    (served,) = wait_for_records(hotline.settings, [first.call_id(1)], 30)
    assert served is not None and served["operator"] == "op08"
