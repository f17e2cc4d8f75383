"""Speech in the menu language: phrases per language on menu, confirm and collect nodes, checked
at their places (every option reachable, no phrase for two options); what the stepper asks for
and records; how the IVR judges what it heard (:func:`ivr.listening.judge`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import stepper
from ivr.listening import judge
from ivr.menu import MenuError, load_menu
from speech.grammar import Grammar, Recognition


def problems(tmp_path: Path, content: str) -> list[tuple[int, int, str]]:
    path = tmp_path / "menu.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


HEAD = 'hotline: "19001122"\nstart: main\nnodes:\n'  # node text starts on line 4
ENDS = "  a: {type: hangup}\n  b: {type: hangup}\n"

GOOD = HEAD + """\
  main:
    type: menu
    options: {"1": ok, "2": b}
    speech:
      vi: {"1": [mất điện, "Cúp điện!"], "2": hóa đơn}
      en: {"1": [power cut], "2": [bill]}
  ok:
    type: confirm
    yes: code
    no: b
    speech: {vi: {yes: [vâng, đúng], no: [không]}}
  code: {type: collect, store: code, next: a, speech: yes}
""" + ENDS


def test_phrases_load_per_language_as_the_keys_they_stand_for(tmp_path: Path) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(GOOD, encoding="utf-8")
    menu = load_menu(path)
    assert menu.nodes["main"].speech == {"vi": {"1": ("mất điện", "cúp điện"), "2": ("hóa đơn",)},
                                         "en": {"1": ("power cut",), "2": ("bill",)}}
    assert menu.nodes["ok"].speech == {"vi": {"1": ("vâng", "đúng"), "2": ("không",)}}
    assert menu.nodes["code"].speech == {"vi": {}, "en": {}}
    assert menu.speech_languages() == {"vi", "en"}
    assert "speech_again" in menu.prompt_ids()
    assert menu.nodes["code"].grammar("vi") == Grammar.of_digits("vi")
    assert menu.nodes["main"].grammar("ko") is None


@pytest.mark.parametrize("nodes, expected", [
    ("""\
  main:
    type: menu
    options: {"1": a, "2": b}
    speech:
      vi: {"1": [mất điện, hóa đơn], "2": [Hóa  đơn!]}     # the second 'hóa đơn', col 44
""", [(8, 44, "the phrase 'Hóa  đơn!' is given for both '1' and '2'")]),
    ("""\
  main:
    type: menu
    options: {"1": a, "2": b}
    speech:
      vi: {"1": [mất điện]}                               # no phrase for option 2: at 'vi'
""", [(8, 7, "speech vi: no phrase for '2': a caller who speaks cannot reach it")]),
    ("""\
  main:
    type: menu
    options: {"1": a, "2": b}
    speech:
      vi: {"1": [x], "2": [y], "7": [z]}
      fr: {"1": [un], "2": [deux]}
""", [(8, 32, "'7' is not one of this node's option keys (1, 2)"),
      (9, 7, "speech language 'fr' is not one of the menu's languages (vi, en)")]),
    ("""\
  main:
    type: confirm
    yes: a
    no: b
    speech: {vi: {yes: [vâng], maybe: [có lẽ]}}
""", [(8, 14, "speech vi: no phrase for 'no'"),
      (8, 32, "'maybe' is not one of this node's yes and no")]),
    ("""\
  main:
    type: collect
    store: code
    next: a
    speech: [vi, fr]
""", [(8, 18, "speech language 'fr' is not one of the menu's languages")]),
    ("""\
  main:
    type: menu
    options: {"1": a, "2": b}
    speech: [mất điện]
""", [(7, 13, "'speech' maps each language to its option keys")]),
    ("""\
  main: {type: play, next: a, speech: {vi: {"1": [x]}}}
""", [(4, 31, "'speech' is not a field of a play node")]),
])
def test_phrase_problems_are_located(tmp_path: Path, nodes: str,
                                     expected: list[tuple[int, int, str]]) -> None:
    found = problems(tmp_path, HEAD + nodes + ENDS)
    assert [(line, column) for line, column, _ in found] == [(l, c) for l, c, _ in expected], \
        found
    for (_, _, message), (_, _, phrase) in zip(found, expected, strict=True):
        assert phrase in message


def test_the_stepper_listens_in_the_caller_s_language_and_records_what_was_said(
        tmp_path: Path) -> None:
    path = tmp_path / "menu.yaml"
    path.write_text(GOOD, encoding="utf-8")
    menu = load_menu(path)
    state, effect, _ = stepper.start(menu)
    assert isinstance(effect, stepper.Prompt)
    assert effect.listen == Grammar.of_phrases({"1": ["mất điện", "cúp điện"], "2": ["hóa đơn"]})
    state, effect, path_ = stepper.step(menu, state, stepper.Heard(
        "1", spoken={"phrase": "cúp điện", "confidence": 0.91}))
    assert path_[0] == {"node": "main", "key": "1",
                        "spoken": {"phrase": "cúp điện", "confidence": 0.91}}
    assert state.node == "ok" and isinstance(effect, stepper.Prompt) and effect.listen
    # spoken but not understood is an invalid choice; silence is no input
    _, _, invalid = stepper.step(menu, state, stepper.Heard(None, unrecognised=True))
    _, _, nothing = stepper.step(menu, state, stepper.Heard(None))
    assert invalid[0]["event"] == "invalid" and nothing[0]["event"] == "no_input"


def _heard(result: str | None, confidence: float, speech: bool = True) -> Recognition:
    return Recognition(result, confidence, result or "<UNK>", result, speech)


@pytest.mark.parametrize("heard, verdict", [
    ([_heard("1", 0.9)], ("take", "1")),
    ([_heard("1", 0.4)], ("again", None)),                  # unsure: asked once more
    ([_heard(None, 0.0)], ("again", None)),                 # spoken, not in the grammar
    ([_heard("1", 0.4), _heard("1", 0.5)], ("take", "1")),  # the same twice
    ([_heard("1", 0.4), _heard("2", 0.5)], ("invalid", None)),
    ([_heard(None, 0.0), _heard(None, 0.0, False)], ("invalid", None)),
    ([_heard(None, 0.0, False)], ("nothing", None)),        # silence or steady noise
])
def test_confidence_decides_take_ask_again_or_give_up(
        heard: list[Recognition], verdict: tuple[str, str | None]) -> None:
    assert judge(heard, 0.6) == verdict
