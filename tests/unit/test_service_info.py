"""The shipped menu's information and advice lines: the tariff read from the records' tariff
table (the action on a real migrated database, then the words the caller hears), ways to pay,
new connections and advice, each ending with the operators of its skill."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.actions import ActionRunner, CallContext
from ivr.menu import Menu, load_menu
from ivr.prompts import load_catalogue
from ivr.stepper import Acted, Finish
from records.database import make_engine, make_sessions, migrate
from records.rules import DEFAULT_RULES
from records.store import RecordsStore

from .test_stepper import (
    CALLER,
    CATALOGUE,
    IDENTIFY,
    KNOWN,
    MAIN,
    SHIPPED,
    WELCOME,
    act,
    ask,
    play,
    run,
    said,
    vi,
)

TIERS = [(1, 0, 50, 1_893), (2, 51, 100, 1_956), (3, 101, 200, 2_271), (4, 201, 300, 2_860),
         (5, 301, 400, 3_197), (6, 401, None, 3_302)]
TARIFF = {"name": "residential", "valid_from": dt.date(2024, 10, 11), "tier_count": 6,
          "tiers": [{"tier": t, "from_kwh": low, "up_to_kwh": high,
                     "above_kwh": None if high else low - 1, "price": price,
                     "open_ended": "yes" if high is None else "no"}
                    for t, low, high, price in TIERS]}


@pytest.fixture(scope="module")
def menus() -> dict[str, Menu]:
    return {"shipped": load_menu(SHIPPED, set(load_catalogue(CATALOGUE)))}


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[ActionRunner]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    migrate(url)
    engine = make_engine(url)
    store = RecordsStore(make_sessions(engine), tmp_path / "spool")
    yield ActionRunner(store, DEFAULT_RULES)
    await store.shutdown(flush_s=1, grace_s=1)
    engine.dispose()


async def test_the_tariff_action_reads_the_tiers_in_force(runner: ActionRunner) -> None:
    acted = await runner.run("tariff", {"name": "residential"}, {}, CallContext("c1", CALLER))
    assert acted == Acted("found", {"tariff": TARIFF})


async def test_a_tariff_the_records_do_not_have_is_none(runner: ActionRunner) -> None:
    acted = await runner.run("tariff", {"name": "business"}, {}, CallContext("c1", CALLER))
    assert acted == Acted("none")


def tier_words(tier: int, low: int, high: int | None, price: int) -> list[str]:
    if high is None:
        bound = ["tariff_above", *said("number", low - 1)]
    else:
        bound = ["tariff_up_to", *said("number", high)]
    return ["tariff_tier", *said("number", tier), *bound, "tariff_kwh_unit",
            *said("money", price)]


def test_a_caller_hears_every_tier_with_its_amount(menus: dict[str, Menu]) -> None:
    effects, path, _ = run(menus["shipped"], [None, KNOWN, "5", "1", Acted("found",
                                                                           {"tariff": TARIFF})])
    assert effects[:5] == [WELCOME, IDENTIFY, MAIN, ask(vi("service_menu")),
                           act("tariff", name="residential")]
    spoken = ["tariff_intro", *said("date", dt.date(2024, 10, 11))]
    for tier in TIERS:
        spoken += tier_words(*tier)
    assert effects[5] == play(vi(*spoken))
    # "Bậc một, đến năm mươi số: một nghìn tám trăm chín mươi ba đồng", "Bậc sáu, trên bốn
    # trăm số: ba nghìn ba trăm linh hai đồng"
    first = 1 + len(said("date", dt.date(2024, 10, 11)))
    assert spoken[first:first + 16] == [
        "tariff_tier", "num_1", "tariff_up_to", "num_5", "tens", "tariff_kwh_unit", "num_1",
        "thousand", "num_8", "hundred", "num_9", "tens", "num_3", "dong", "tariff_tier", "num_2"]
    assert spoken[-13:] == ["tariff_tier", "num_6", "tariff_above", "num_4", "hundred",
                            "tariff_kwh_unit", "num_3", "thousand", "num_3", "hundred",
                            "zero_tens", "num_2", "dong"]
    assert {"node": "tariff_lookup", "action": "tariff", "outcome": "found"} in path


def test_no_tariff_in_the_records_points_to_the_website(menus: dict[str, Menu]
                                                        ) -> None:
    effects, _, _ = run(menus["shipped"], [None, KNOWN, "5", "1", Acted("none")])
    assert effects[-1] == play(vi("tariff_not_published"))


@pytest.mark.parametrize(("keys", "heard", "skills", "transfer"), [
    (["5", "2", None, "1"], ["service_menu", "ways_to_pay", "payment_help"], ("billing",),
     "transfer_operator"),
    (["5", "3", None, "1"], ["service_menu", "new_connection_info", "new_connection_help"],
     ("new_connection",), "transfer_operator"),
    (["6", None, "1"], ["advice_tips", "advice_help"], ("advice",), "transfer_advisor"),
])
def test_each_line_offers_the_operators_of_its_skill(
        menus: dict[str, Menu], keys: list[str | None], heard: list[str],
        skills: tuple[str, ...], transfer: str) -> None:
    effects, path, _ = run(menus["shipped"], [None, KNOWN, *keys])
    played = [p for e in path for p in e.get("played", [])]
    assert played[2:-1] == heard
    assert effects[-1] == Finish(vi(transfer), outcome="queued", route="queue",
                                 queue="operators", skills=skills)


def test_the_offer_ends_the_call_as_served_when_the_caller_says_nothing(
        menus: dict[str, Menu]) -> None:
    effects, _, state = run(menus["shipped"], [None, KNOWN, "6", None, None, None, None])
    assert isinstance(effects[-1], Finish) and effects[-1].route == "hangup"
    assert effects[-1].outcome == "completed" and state.node == "served_goodbye"


def test_the_products_line_is_offered_only_when_switched_on(menus: dict[str, Menu]) -> None:
    shipped = menus["shipped"]
    assert shipped.features == {"products": False}  # planned: off as shipped
    effects, path, _ = run(shipped, [None, KNOWN, "7"])
    assert effects[2:] == [MAIN, ask(vi("invalid_choice", "main_menu"))]
    switched = replace(shipped, features={"products": True})
    effects, path, _ = run(switched, [None, KNOWN, "7", None, "1"])
    assert effects[2:4] == [ask(vi("main_menu_with_products")), play(vi("products_info"))]
    assert effects[-1] == Finish(vi("transfer_advisor"), outcome="queued", route="queue",
                                 queue="operators", skills=("advice",))
    assert [p for e in path for p in e.get("played", [])][1:-1] == [
        "main_menu_with_products", "products_info", "products_help"]
