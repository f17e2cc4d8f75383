"""Admins edit the running menu: a good change serves new calls without a restart while calls
in progress finish on the version they started with; a broken file is refused with its location
and the running menu keeps serving."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from redis import Redis

from hotline.sipcall import CallPlan, place, wait_for_records
from records.demo import DEMO

from .conftest import Hotline, steps

pytestmark = pytest.mark.e2e
OWN_MENU_COPY = True


def version_of(text: str) -> str:
    """The version a menu file with this text gets (ivr.menu.load_menu)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def version(hotline: Hotline) -> str:
    return str((hotline.status() or {}).get("menu", {}).get("version"))


def test_a_changed_menu_serves_new_calls_and_a_broken_one_is_refused(hotline: Hotline) -> None:
    menu_file = Path(hotline.settings.menu_file)
    original = menu_file.read_text(encoding="utf-8")
    old_version = version(hotline)
    in_progress = CallPlan(number=hotline.settings.hotline_number, caller=DEMO.caller_known,
                           keys="2", delay_ms=6000, max_call_s=90)
    caller = threading.Thread(target=place, args=(in_progress, "127.0.0.1",
                                                  hotline.settings.sip_port))
    caller.start()
    hotline.wait_until(lambda: hotline.records_where(sip_call_id=in_progress.call_id(1)), 20,
                       "the first call in the menu")
    # the admin adds a second welcome announcement
    menu_file.write_text(original.replace("prompts: [welcome]\n    next: identify",
                                          "prompts: [welcome, welcome]\n    next: identify"),
                         encoding="utf-8")
    new_version = hotline.wait_until(
        lambda: version(hotline) if version(hotline) != old_version else None, 20,
        "the new menu in force")
    (after,) = hotline.call("", delay_ms=500, hangup_after_s=9.5)
    assert after is not None
    assert after["menu_version"] == new_version
    welcome = next(e for e in after["path"] if e.get("node") == "welcome")
    assert welcome["played"] == ["welcome", "welcome"]

    # a broken file: refused with file, line and column; the good version keeps serving
    menu_file.write_text(original.replace("  main:\n    type: menu", "  main:\n    type: [menu"),
                         encoding="utf-8")
    rejected = hotline.wait_until(
        lambda: (hotline.status() or {}).get("menu", {}).get("rejected"), 20, "the refusal")
    assert f"{menu_file}:" in rejected and "YAML syntax" in rejected
    assert version(hotline) == new_version
    (still,) = hotline.call("", delay_ms=500, hangup_after_s=9.5)
    assert still is not None and still["menu_version"] == new_version
    assert "menu" in hotline.controller_log() and "rejected" in hotline.controller_log()

    caller.join()
    (first,) = wait_for_records(hotline.settings, [in_progress.call_id(1)], 30)
    assert first is not None
    assert first["menu_version"] == old_version  # finished on the version it started with
    assert steps(first).count("welcome") == 1
    assert first["outcome"] == "completed"
    menu_file.write_text(original, encoding="utf-8")


def test_an_admin_switches_the_products_line_on(hotline: Hotline) -> None:
    """Off as shipped (7 is a wrong key: test_self_service); switched on in the running menu,
    the main menu offers it and 7 leads to it, then to an advisor (skill advice)."""
    menu_file = Path(hotline.settings.menu_file)
    original = menu_file.read_text(encoding="utf-8")
    assert "\n  products: no" in original, "the shipped menu changed: adapt this test"
    switched = original.replace("\n  products: no", "\n  products: yes")
    try:
        menu_file.write_text(switched, encoding="utf-8")
        hotline.wait_until(lambda: version(hotline) == version_of(switched), 20,
                           "the line switched on")
        (record,) = hotline.call("7 1", caller=DEMO.caller_unknown, delay_ms=6000, gap_ms=2500,
                                 wait_s=40)
    finally:
        menu_file.write_text(original, encoding="utf-8")
        hotline.wait_until(lambda: version(hotline) == version_of(original), 20,
                           "the menu restored")
    assert record is not None
    main = next(e for e in record["path"] if e.get("node") == "main" and "played" in e)
    assert main["played"] == ["main_menu_with_products"]
    assert "main:7" in steps(record) and "products_help:1" in steps(record)
    assert [p for e in record["path"] for p in e.get("played", [])
            if p.startswith("products")] == ["products_info"]  # 1 said during it
    assert record["path"][-1]["node"] == "advice_operator" and record["outcome"] == "queued"
    redis = Redis(**hotline.settings.redis_connection())
    try:
        assert redis.hget(f"acd:call:{record['call_id']}", "skills") == b"advice"
    finally:
        redis.close()
