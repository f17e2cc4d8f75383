"""Callers speak: espeak-ng Korean sent by SIPp as RTP into real calls, recorded by Asterisk
(RECORD FILE), decoded by the controller with the real Vosk Korean model (configured as the
model for vi, see speech_menu.yaml), and the branch taken; a key pressed mid-phrase wins;
silence and sox noise choose nothing; a language whose model is missing works by keys, and
hotline status says why its speech is off. (A word outside the grammar is tested in
tests/unit/test_speech_recognition.py: through the phone line, "요금" said three times was heard
as the grammar's "영어", the false accept docs/speech.md warns of.)

The calls run at the same time; each test checks one caller's record.
"""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from speech.models import packaged_model

from ..speech_audio import NO, YES, generated, repeated, spoken, ulaw
from .conftest import Hotline, Record, steps

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
MENU = str(HERE / "speech_menu.yaml")
MISSING_EN = "/nonexistent/vosk-model-small-en-us-0.15"
SETTINGS = {"speech_models": {"vi": str(packaged_model("ko")), "en": MISSING_EN}}


@pytest.fixture(scope="module")
def calls(hotline: Hotline, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Record | None]:
    folder = tmp_path_factory.mktemp("voices")
    # said three times, 1.2 s apart: a busy machine may start the question late, and the
    # recording starts after it
    voices = {name: ulaw(repeated(spoken(text, folder, name), 3, 1.2))
              for name, text in (("yes", YES), ("no", NO))}
    voices["once_yes"] = ulaw(spoken(YES, folder, "once_yes"))
    voices |= {
        "noise": ulaw(generated(folder, "noise", 2, "synth", "2", "whitenoise", "vol", "0.3"))}
    hotline.wait_until(lambda: ((hotline.status() or {}).get("speech", {}).get("languages", {})
                                .get("vi", {}).get("state") == "on"), 60, "the vi model loaded")
    # speak once the question has been played (the recording starts after it)
    with wave.open(str(hotline.settings.sounds / "vi" / "offer_operator.wav")) as prompt:
        after_prompt = int(prompt.getnframes() / prompt.getframerate() * 1000) + 900
    plans: dict[str, dict[str, Any]] = {
        "says_no": {"keys": "~", "speech": str(voices["no"])},
        "says_yes": {"keys": "~", "speech": str(voices["yes"])},
        "key_mid_phrase": {"keys": "~ 2", "speech": str(voices["once_yes"]), "gap_ms": 250},
        "silent": {"keys": ""},
        "noise": {"keys": "~", "speech": str(voices["noise"])},
        "english_by_keys": {"keys": "9 1", "gap_ms": after_prompt},
    }
    with ThreadPoolExecutor(len(plans)) as pool:
        futures = {name: pool.submit(hotline.call, wait_s=60, delay_ms=after_prompt,
                                     max_call_s=60, **plan)
                   for name, plan in plans.items()}
        results = {name: future.result()[0] for name, future in futures.items()}
    for name, record in results.items():  # what each caller did, for a failing test's report
        print(name, steps(record) if record else "no finished record")
    return results


def record_of(calls: dict[str, Record | None], name: str) -> Record:
    record = calls[name]
    assert record is not None, f"{name}: no finished call record"
    return record


def spoken_at(record: Record, node: str) -> dict[str, Any] | None:
    return next((e["spoken"] for e in record["path"] if e.get("node") == node
                 and "spoken" in e), None)


@pytest.mark.parametrize("name, key, node", [("says_no", "2", "said_no"),
                                             ("says_yes", "1", "said_yes")])
def test_a_spoken_answer_takes_its_branch(calls: dict[str, Record | None], name: str, key: str,
                                          node: str) -> None:
    record = record_of(calls, name)
    assert steps(record)[:3] == ["ask", f"ask:{key}", node], steps(record)
    heard = spoken_at(record, "ask")
    assert heard is not None and heard["phrase"] == {"1": YES, "2": NO}[key]
    assert heard["confidence"] >= 0.6
    assert record["outcome"] == "completed"


def test_a_key_pressed_mid_phrase_wins(calls: dict[str, Record | None]) -> None:
    record = record_of(calls, "key_mid_phrase")
    assert steps(record)[:3] == ["ask", "ask:2", "said_no"], steps(record)  # said yes, keyed 2
    assert spoken_at(record, "ask") is None


@pytest.mark.parametrize("name", ["silent", "noise"])
def test_silence_and_noise_are_no_input(calls: dict[str, Record | None], name: str) -> None:
    record = record_of(calls, name)
    assert "(no_input)" in steps(record) and "heard_nothing" in steps(record), steps(record)
    assert record["outcome"] == "no_input"


def test_without_a_model_the_keys_serve_and_status_says_why(hotline: Hotline,
                                                           calls: dict[str, Record | None]) -> None:
    record = record_of(calls, "english_by_keys")
    assert steps(record) == ["ask", "ask:9", "to_english", "ask_en", "ask_en:1", "said_yes"], \
        steps(record)
    speech = (hotline.status() or {})["speech"]
    assert speech["languages"]["vi"]["state"] == "on"
    english = speech["languages"]["en"]
    assert english["state"] == "off" and MISSING_EN in english["why"]
    log = hotline.controller_log()
    assert f"speech off for en: model folder {MISSING_EN} does not exist" in log


def test_recordings_are_removed_after_decoding(hotline: Hotline,
                                               calls: dict[str, Record | None]) -> None:
    assert list((hotline.settings.runtime / "spool" / "speech").glob("*.wav")) == []
