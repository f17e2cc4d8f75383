"""A transfer that asks for several skills: every one reaches the ACD through the dialplan (the
AcdJoin UserEvent, whose arguments Asterisk splits on commas), and routing uses them all.
Its own copy of the menu, changed while the hotline runs, like an admin would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from .conftest import Hotline
from .test_acd import operators

pytestmark = pytest.mark.e2e
OWN_MENU_COPY = True
RELAX_AFTER_S = 5


def menu_version(hotline: Hotline) -> str:
    return str((hotline.status() or {}).get("menu", {}).get("version"))


def reloads(hotline: Hotline) -> int:
    return hotline.controller_log().count("operators file reloaded")


@pytest.fixture
def billing_and_outage(hotline: Hotline) -> Iterator[None]:
    """The operator transfer (key 0) asks for billing and outage, and any operator who speaks
    the caller's language will do after a few seconds; both files as they were afterwards."""
    menu = Path(str(hotline.settings.menu_file))
    agents = Path(hotline.settings.agents_file)
    menu_text, agents_text = menu.read_text(encoding="utf-8"), agents.read_text(encoding="utf-8")
    old_version, old_reloads = menu_version(hotline), reloads(hotline)
    transfer = "prompts: [transfer_operator]\n    skills: [general]"
    relax = re.search(r"  relax:\n(    - .*\n)+", agents_text)
    assert transfer in menu_text and relax, "the shipped files changed: adapt this test"
    try:
        agents.write_text(agents_text.replace(
            relax[0], f"  relax:\n    - {{after: {RELAX_AFTER_S}, any_skill: true}}\n"),
            encoding="utf-8")
        hotline.wait_until(lambda: reloads(hotline) > old_reloads, 20,
                           "the operators file reloaded")
        menu.write_text(menu_text.replace(
            transfer, "prompts: [transfer_operator]\n    skills: [billing, outage]"),
            encoding="utf-8")
        hotline.wait_until(lambda: menu_version(hotline) != old_version, 20,
                           "the changed menu in force")
        yield
    finally:
        menu.write_text(menu_text, encoding="utf-8")
        agents.write_text(agents_text, encoding="utf-8")
        hotline.wait_until(lambda: menu_version(hotline) == old_version, 20,
                           "the menu restored")


def test_every_skill_of_a_transfer_reaches_the_acd(hotline: Hotline,
                                                   billing_and_outage: None) -> None:
    # op39 (general only) waits longest; op22 has outage, the second skill, and no billing:
    # nobody has both, so the call waits for the relaxation, and then the operator with one of
    # the skills asked for is the better match than the one with neither
    with operators(hotline, op39="now", op22="now"):
        (record,) = hotline.call("0", caller="0909000888", delay_ms=6000, wait_s=60)
    assert record is not None
    assert record["operator"] == "op22"
    assert record["queue_wait_s"] is not None and record["queue_wait_s"] >= RELAX_AFTER_S - 1
    redis = Redis(**hotline.settings.redis_connection())
    try:
        stored = redis.hget(f"acd:call:{record['call_id']}", "skills")
    finally:
        redis.close()
    assert stored == b"billing,outage"
    assert f"call {record['call_id']} waits for billing,outage" in hotline.controller_log()
