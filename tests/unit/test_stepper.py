"""The menu stepper, scenario by scenario: what the caller does at each prompt, what the IVR does
next, and what the call's path records. Menus are loaded by ``ivr.menu.load_menu`` from the
shipped 19001122 dialplan and from a small branch-office menu written here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.menu import Menu, load_menu
from ivr.stepper import ALL_KEYS, CallState, Effect, Finish, Heard, Prompt, start, step
from records.calls import OUTCOMES

ROOT = Path(__file__).parent.parent.parent
SHIPPED = ROOT / "dialplans" / "19001122.yaml"

BRANCH_OFFICE = """\
hotline: "19001122"
start: welcome
nodes:
  welcome: {type: play, prompts: [welcome], next: main}
  main:
    type: menu
    prompts: [main_menu, press_star]
    timeout: 3s
    retries: 1
    options:
      "1": outage_schedule
      "2": bill
      "0": operator
      "*": main
      "#": welcome
    on_no_input: still_there
    on_invalid: goodbye
    no_input_prompts: [sorry_no_key]
    invalid_prompts: [wrong_key, try_again]
  still_there:
    type: menu
    prompts: [press_0_for_operator]
    timeout: 1500ms
    retries: 0
    options: {"0": operator}
  outage_schedule: {type: play, prompts: [outage_schedule_info], next: app_notice}
  app_notice: {type: play, prompts: [app_notice], next: goodbye}
  bill: {type: play, prompts: [bill_info], next: operator}
  operator: {type: transfer, prompts: [transfer_operator], queue: billing}
  goodbye: {type: hangup, prompts: [goodbye]}
"""

LOOSE_ENDS = """\
hotline: "19001122"
start: pick
nodes:
  pick:
    type: menu
    prompts: [pick_one]
    retries: 1
    options: {"1": helpdesk}
  helpdesk: {type: transfer}
"""

DETOUR = """\
hotline: "19001122"
start: main
nodes:
  main:
    type: menu
    prompts: [main_menu]
    retries: 0
    options: {"1": goodbye}
    on_no_input: sorry
  sorry: {type: play, prompts: [no_input], next: goodbye}
  goodbye: {type: hangup, prompts: [goodbye]}
"""


@pytest.fixture(scope="module")
def menus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Menu]:
    folder = tmp_path_factory.mktemp("menus")
    loaded = {"shipped": load_menu(SHIPPED)}
    for name, text in (("branch", BRANCH_OFFICE), ("loose", LOOSE_ENDS), ("detour", DETOUR)):
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        loaded[name] = load_menu(folder / f"{name}.yaml")
    return loaded


# --- effects and path entries, spelled the way the stepper gives them --------------------------

def play(*prompts: str) -> Prompt:
    return Prompt(prompts, keys=ALL_KEYS)


def ask(*prompts: str, timeout_ms: int) -> Prompt:
    return Prompt(prompts, keys=ALL_KEYS, timeout_ms=timeout_ms)


def played(node: str, *prompts: str) -> dict[str, Any]:
    return {"node": node, "played": list(prompts)}


def pressed(node: str, key: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": key, **more}


def silence(node: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": None, "event": "no_input", **more}


def wrong(node: str, key: str, **more: Any) -> dict[str, Any]:
    return {"node": node, "key": key, "event": "invalid", **more}


# shipped menu
WELCOME = play("welcome")
MAIN = ask("main_menu", timeout_ms=5000)
MAIN_AFTER_SILENCE = ask("no_input", "main_menu", timeout_ms=5000)
MAIN_AFTER_WRONG_KEY = ask("invalid_choice", "main_menu", timeout_ms=5000)
OUTAGE = play("outage_schedule_info")
BILL = play("bill_info")
GOODBYE = Finish(("goodbye",), outcome="completed", route="hangup")
GOODBYE_NO_INPUT = Finish(("goodbye",), outcome="no_input", route="hangup")
GOODBYE_INVALID = Finish(("goodbye",), outcome="invalid_input", route="hangup")
# branch-office menu
BRANCH_MAIN = ask("main_menu", "press_star", timeout_ms=3000)
BRANCH_MAIN_AFTER_SILENCE = ask("sorry_no_key", "main_menu", "press_star", timeout_ms=3000)
BRANCH_MAIN_AFTER_WRONG_KEY = ask("wrong_key", "try_again", "main_menu", "press_star",
                                  timeout_ms=3000)
STILL_THERE = ask("press_0_for_operator", timeout_ms=1500)
TO_OPERATOR = Finish(("transfer_operator",), outcome="queued", route="queue", queue="billing")


def skipped(node: str, key: str) -> dict[str, Any]:
    """A key pressed during an announcement that no menu follows: recorded, then ignored."""
    return {"node": node, "key": key, "event": "skipped"}


@dataclass(frozen=True)
class Scenario:
    menu: str
    heard: list[str | None]  # what the caller did at each effect: a key, or None
    effects: list[Effect]  # start's effect, then one per step
    path: list[dict[str, Any]]
    final: CallState | None = None
    notes: str = field(default="", compare=False)


SCENARIOS = {
    # -- every option of the shipped menu --
    "shipped: 1 hears the outage schedule": Scenario(
        "shipped", [None, "1", None], [WELCOME, MAIN, OUTAGE, GOODBYE],
        [played("welcome", "welcome"), played("main", "main_menu"), pressed("main", "1"),
         played("outage_schedule", "outage_schedule_info"), played("goodbye", "goodbye")],
        CallState("goodbye")),
    "shipped: 2 hears the bill": Scenario(
        "shipped", [None, "2", None], [WELCOME, MAIN, BILL, GOODBYE],
        [played("welcome", "welcome"), played("main", "main_menu"), pressed("main", "2"),
         played("bill", "bill_info"), played("goodbye", "goodbye")]),
    # -- no input until the retries run out --
    "shipped: silence through every retry": Scenario(
        "shipped", [None, None, None, None],
        [WELCOME, MAIN, MAIN_AFTER_SILENCE, MAIN_AFTER_SILENCE, GOODBYE_NO_INPUT],
        [played("welcome", "welcome"), played("main", "main_menu"),
         silence("main"), played("main", "no_input", "main_menu"),
         silence("main"), played("main", "no_input", "main_menu"),
         silence("main", exhausted=True), played("goodbye", "goodbye")],
        CallState("goodbye", attempts=0, gave_up="no_input")),
    # -- invalid keys --
    "shipped: a wrong key every time": Scenario(
        "shipped", [None, "9", "#", "0"],
        [WELCOME, MAIN, MAIN_AFTER_WRONG_KEY, MAIN_AFTER_WRONG_KEY, GOODBYE_INVALID],
        [played("welcome", "welcome"), played("main", "main_menu"),
         wrong("main", "9"), played("main", "invalid_choice", "main_menu"),
         wrong("main", "#"), played("main", "invalid_choice", "main_menu"),
         wrong("main", "0", exhausted=True), played("goodbye", "goodbye")],
        CallState("goodbye", gave_up="invalid_input")),
    "shipped: silence, silence, a wrong key share one retry count": Scenario(
        "shipped", [None, None, None, "7"],
        [WELCOME, MAIN, MAIN_AFTER_SILENCE, MAIN_AFTER_SILENCE, GOODBYE_INVALID],
        [played("welcome", "welcome"), played("main", "main_menu"),
         silence("main"), played("main", "no_input", "main_menu"),
         silence("main"), played("main", "no_input", "main_menu"),
         wrong("main", "7", exhausted=True), played("goodbye", "goodbye")]),
    "shipped: the last miss chooses the fallback (on_invalid)": Scenario(
        "shipped", [None, "7", None, "8"],
        [WELCOME, MAIN, MAIN_AFTER_WRONG_KEY, MAIN_AFTER_SILENCE, GOODBYE_INVALID],
        [played("welcome", "welcome"), played("main", "main_menu"),
         wrong("main", "7"), played("main", "invalid_choice", "main_menu"),
         silence("main"), played("main", "no_input", "main_menu"),
         wrong("main", "8", exhausted=True), played("goodbye", "goodbye")]),
    # -- a valid key after an invalid one --
    "shipped: a wrong key, then 2": Scenario(
        "shipped", [None, "5", "2", None],
        [WELCOME, MAIN, MAIN_AFTER_WRONG_KEY, BILL, GOODBYE],
        [played("welcome", "welcome"), played("main", "main_menu"),
         wrong("main", "5"), played("main", "invalid_choice", "main_menu"),
         pressed("main", "2"), played("bill", "bill_info"), played("goodbye", "goodbye")],
        CallState("goodbye", attempts=0, gave_up=None)),
    "branch: a wrong key, then * gives the menu its full retries again": Scenario(
        "branch", [None, "8", "*", None, None],
        [WELCOME, BRANCH_MAIN, BRANCH_MAIN_AFTER_WRONG_KEY, BRANCH_MAIN,
         BRANCH_MAIN_AFTER_SILENCE, STILL_THERE],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         wrong("main", "8"), played("main", "wrong_key", "try_again", "main_menu", "press_star"),
         pressed("main", "*"), played("main", "main_menu", "press_star"),
         silence("main"), played("main", "sorry_no_key", "main_menu", "press_star"),
         silence("main", exhausted=True), played("still_there", "press_0_for_operator")],
        CallState("still_there", attempts=0, gave_up="no_input")),
    "branch: no input at main, then 0 at still_there reaches the operator": Scenario(
        "branch", [None, None, None, "0"],
        [WELCOME, BRANCH_MAIN, BRANCH_MAIN_AFTER_SILENCE, STILL_THERE, TO_OPERATOR],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         silence("main"), played("main", "sorry_no_key", "main_menu", "press_star"),
         silence("main", exhausted=True), played("still_there", "press_0_for_operator"),
         pressed("still_there", "0"), played("operator", "transfer_operator")],
        CallState("operator")),
    "branch: # goes back to the welcome": Scenario(
        "branch", [None, "#", None],
        [WELCOME, BRANCH_MAIN, WELCOME, BRANCH_MAIN],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         pressed("main", "#"), played("welcome", "welcome"),
         played("main", "main_menu", "press_star")],
        CallState("main")),
    # -- type-ahead --
    "shipped: 1 during the welcome answers the main menu": Scenario(
        "shipped", ["1", None], [WELCOME, OUTAGE, GOODBYE],
        [played("welcome", "welcome"), pressed("main", "1", type_ahead=True),
         played("outage_schedule", "outage_schedule_info"), played("goodbye", "goodbye")]),
    "shipped: a wrong key during the welcome counts as the menu's first miss": Scenario(
        "shipped", ["4", "2", None], [WELCOME, MAIN_AFTER_WRONG_KEY, BILL, GOODBYE],
        [played("welcome", "welcome"), wrong("main", "4", type_ahead=True),
         played("main", "invalid_choice", "main_menu"), pressed("main", "2"),
         played("bill", "bill_info"), played("goodbye", "goodbye")]),
    "shipped: a key during an info announcement before a hangup node": Scenario(
        "shipped", [None, "2", "3"], [WELCOME, MAIN, BILL, GOODBYE],
        [played("welcome", "welcome"), played("main", "main_menu"), pressed("main", "2"),
         played("bill", "bill_info"), skipped("bill", "3"), played("goodbye", "goodbye")]),
    "branch: a key during a play node before another play node": Scenario(
        "branch", [None, "1", "9", None],
        [WELCOME, BRANCH_MAIN, play("outage_schedule_info"), play("app_notice"), GOODBYE],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         pressed("main", "1"), played("outage_schedule", "outage_schedule_info"),
         skipped("outage_schedule", "9"), played("app_notice", "app_notice"), played("goodbye", "goodbye")],
        CallState("goodbye")),
    # -- transfer --
    "branch: 0 goes to the operator queue": Scenario(
        "branch", [None, "0"], [WELCOME, BRANCH_MAIN, TO_OPERATOR],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         pressed("main", "0"), played("operator", "transfer_operator")],
        CallState("operator")),
    "branch: a key during the bill info before the transfer": Scenario(
        "branch", [None, "2", "5"], [WELCOME, BRANCH_MAIN, play("bill_info"), TO_OPERATOR],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         pressed("main", "2"), played("bill", "bill_info"), skipped("bill", "5"),
         played("operator", "transfer_operator")]),
    "loose: a transfer node without a queue uses operators": Scenario(
        "loose", ["1"],
        [ask("pick_one", timeout_ms=5000),
         Finish((), outcome="queued", route="queue", queue="operators")],
        [played("pick", "pick_one"), pressed("pick", "1"), played("helpdesk")]),
    # -- a menu without on_no_input --
    "branch: silence everywhere ends at still_there, which has no fallback": Scenario(
        "branch", [None, None, None, None],
        [WELCOME, BRANCH_MAIN, BRANCH_MAIN_AFTER_SILENCE, STILL_THERE,
         Finish((), outcome="no_input", route="hangup")],
        [played("welcome", "welcome"), played("main", "main_menu", "press_star"),
         silence("main"), played("main", "sorry_no_key", "main_menu", "press_star"),
         silence("main", exhausted=True), played("still_there", "press_0_for_operator"),
         silence("still_there", exhausted=True)],
        CallState("still_there", attempts=1, gave_up="no_input")),
    "loose: silence at the first menu, no fallback": Scenario(
        "loose", [None, None],
        [ask("pick_one", timeout_ms=5000), ask("no_input", "pick_one", timeout_ms=5000),
         Finish((), outcome="no_input", route="hangup")],
        [played("pick", "pick_one"), silence("pick"), played("pick", "no_input", "pick_one"),
         silence("pick", exhausted=True)],
        CallState("pick", attempts=2, gave_up="no_input")),
    # -- giving up is remembered through a play node on the way out --
    "detour: silence, then the apology, then goodbye": Scenario(
        "detour", [None, None], [MAIN, play("no_input"), GOODBYE_NO_INPUT],
        [played("main", "main_menu"), silence("main", exhausted=True),
         played("sorry", "no_input"), played("goodbye", "goodbye")],
        CallState("goodbye", gave_up="no_input")),
    "detour: a key during the apology changes nothing": Scenario(
        "detour", [None, "1"], [MAIN, play("no_input"), GOODBYE_NO_INPUT],
        [played("main", "main_menu"), silence("main", exhausted=True),
         played("sorry", "no_input"), skipped("sorry", "1"), played("goodbye", "goodbye")],
        CallState("goodbye", gave_up="no_input")),
}


def run(menu: Menu, heard: list[str | None]) -> tuple[list[Effect], list[dict[str, Any]],
                                                      CallState]:
    state, effect, path = start(menu)
    effects: list[Effect] = [effect]
    for key in heard:
        assert isinstance(effect, Prompt), f"the caller acted after {effect}"
        state, effect, entries = step(menu, state, Heard(key))
        effects.append(effect)
        path += entries
    return effects, path, state


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(menus: dict[str, Menu], name: str) -> None:
    scenario = SCENARIOS[name]
    effects, path, state = run(menus[scenario.menu], scenario.heard)
    assert effects == scenario.effects
    assert path == scenario.path
    if scenario.final is not None:
        assert state == scenario.final


def test_a_call_starts_at_the_start_node_with_nothing_counted(menus: dict[str, Menu]) -> None:
    assert start(menus["shipped"]) == (CallState("welcome", attempts=0, gave_up=None), WELCOME,
                                       [played("welcome", "welcome")])


def test_wrong_keys_until_a_menu_without_on_invalid_gives_up_hang_up_silently(
        menus: dict[str, Menu]) -> None:
    effects, path, state = run(menus["loose"], ["9", "#"])
    final = effects[-1]
    assert isinstance(final, Finish)
    assert (final.prompts, final.route, final.outcome) == ((), "hangup", "invalid_input")
    assert path == [played("pick", "pick_one"), wrong("pick", "9"),
                    played("pick", "invalid_choice", "pick_one"),
                    wrong("pick", "#", exhausted=True)]
    assert state.attempts == 2


@pytest.mark.parametrize("node", ["operator", "goodbye"])
def test_a_node_that_ends_the_ivr_takes_no_input(menus: dict[str, Menu], node: str) -> None:
    with pytest.raises(ValueError, match=f"node '{node}' .* takes no input"):
        step(menus["branch"], CallState(node), Heard("1"))


def test_stepping_is_pure(menus: dict[str, Menu]) -> None:
    menu = menus["branch"]
    before = repr(menu)
    state = CallState("main", attempts=1)
    first = step(menu, state, Heard("7"))
    assert step(menu, state, Heard("7")) == first
    assert state == CallState("main", attempts=1) and repr(menu) == before


@given(st.lists(st.sampled_from([None, *ALL_KEYS]), min_size=8, max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_caller_on_the_shipped_menu_leaves_within_a_few_steps(
        menus: dict[str, Menu], keys: list[str | None]) -> None:
    menu = menus["shipped"]
    state, effect, path = start(menu)
    for key in keys:
        if isinstance(effect, Finish):
            break
        assert effect.keys == ALL_KEYS
        state, effect, entries = step(menu, state, Heard(key))
        path += entries
    assert isinstance(effect, Finish), "the shipped menu lets a caller go round forever"
    assert effect.outcome in OUTCOMES and effect.route in ("hangup", "queue")
    assert all(entry["node"] in menu.nodes for entry in path)
