"""Decoding recorded caller audio against a grammar, off the event loop and with a deadline.

:func:`decode` is the blocking part (read the WAV, run a grammar-restricted Vosk recogniser,
match its words); :class:`Recogniser` runs it in its own small thread pool so the event loop
never waits for it. A decode that misses its deadline raises :class:`DecodeTimeout` at the
deadline (the caller moves on); the worker drops jobs that start after their deadline. A
grammar recogniser costs 1-2 MB and decodes at about 0.02 of real time, so a pool of two
workers keeps up with 40 lines on two cores (``bench/speech_rtf.py``).
"""

from __future__ import annotations

import array
import asyncio
import json
import math
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .grammar import Grammar, Recognition, match
from .models import Models, SpeechUnavailable, vosk_module

UNKNOWN_TOKENS = ("[unk]", "<UNK>")  # Vosk's usual one; the Korean model's


class DecodeTimeout(Exception):
    code = "speech.deadline"


class AudioError(ValueError):
    """The file is not audio the recogniser takes (mono 16-bit PCM WAV)."""


def read_wav(path: Path) -> tuple[bytes, int]:
    """The samples and sample rate of a mono 16-bit PCM WAV file (what Asterisk records)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise AudioError(f"{path}: mono 16-bit PCM WAV is needed (this one has "
                                 f"{wav.getnchannels()} channel(s) of {8 * wav.getsampwidth()} "
                                 "bits); convert it with: sox IN -r 8000 -c 1 -b 16 OUT.wav")
            return wav.readframes(wav.getnframes()), wav.getframerate()
    except wave.Error as exc:
        raise AudioError(f"{path} is not a PCM WAV file ({exc})") from None
    except EOFError:
        raise AudioError(f"{path} is not a PCM WAV file (it ends early)") from None


def speech_present(audio: bytes, rate: int, *, spread_db: float = 7.0,
                   floor_db: float = 35.0) -> bool:
    """Whether the samples hold something like speech. Among the active 20 ms frames (above
    ``floor_db`` and within 25 dB of the loudest), syllables make the loudness vary widely: the
    loud tenth at least ``spread_db`` above the quiet tenth (espeak-ng words: 10-23 dB). Steady
    noise (hum, hiss, a sox whitenoise or brownnoise) varies by 2-5 dB, silence is not active.
    A grammar recogniser fed steady noise tends to "hear" one of its few phrases; this keeps it
    from it."""
    samples = array.array("h", audio[: len(audio) - len(audio) % 2])
    size = max(1, rate // 50)
    levels = []
    for start in range(0, len(samples) - size + 1, size):
        frame = samples[start:start + size:4]  # every 4th sample tells the level well enough
        power = sum(x * x for x in frame) / len(frame)
        levels.append(10 * math.log10(power) if power > 1 else 0.0)
    if not levels:
        return False
    active = sorted(x for x in levels if x >= max(floor_db, max(levels) - 25))
    if len(active) < 5:
        return False
    return active[len(active) * 9 // 10] - active[len(active) // 10] >= spread_db


def unknown_token(model: Any) -> str | None:
    return next((t for t in UNKNOWN_TOKENS if model.vosk_model_find_word(t) >= 0), None)


def missing_words(model: Any, grammar: Grammar) -> list[str]:
    """Words of the grammar the model does not know (the recogniser leaves their phrases out)."""
    words = {w for phrase in grammar.vocabulary() for w in phrase.split()}
    return sorted(w for w in words if model.vosk_model_find_word(w) < 0)


def decode(model: Any, audio: bytes, rate: int, grammar: Grammar) -> Recognition:
    """Blocking: run a recogniser restricted to ``grammar`` over 16-bit mono samples (nothing
    is decoded when they hold no speech)."""
    vosk = vosk_module()
    missing = set(missing_words(model, grammar))
    vocabulary = [p for p in grammar.vocabulary() if not set(p.split()) & missing]
    if not vocabulary:
        raise SpeechUnavailable("none of the grammar's phrases is in the model's vocabulary")
    if not speech_present(audio, rate):
        return Recognition(None, 0.0, "", speech=False)
    unknown = unknown_token(model)
    recogniser = vosk.KaldiRecognizer(
        model, rate, json.dumps(vocabulary + ([unknown] if unknown else []), ensure_ascii=False))
    recogniser.SetWords(True)
    recogniser.AcceptWaveform(audio)
    result = json.loads(recogniser.FinalResult())
    return match(grammar, [(w["word"], float(w.get("conf", 1.0)))
                           for w in result.get("result", [])])


class Recogniser:
    """Decodes for every call of the process, on ``workers`` threads, each within a deadline."""

    def __init__(self, models: Models, *, workers: int = 2, deadline_s: float = 5.0) -> None:
        self.models = models
        self.deadline_s = deadline_s
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="speech")

    def available(self, language: str) -> bool:
        return self.models.loaded(language) is not None

    async def load(self, languages: list[str]) -> None:
        """Load each language's model in the pool's threads; failures leave speech off."""
        for language in languages:
            try:
                await asyncio.get_running_loop().run_in_executor(self._pool, self.models.load,
                                                                 language)
            except SpeechUnavailable:
                pass  # logged once by Models, shown by hotline status

    async def recognise(self, path: Path, grammar: Grammar, language: str,
                        deadline_s: float | None = None) -> Recognition:
        """What the recording at ``path`` says within ``grammar``; SpeechUnavailable without a
        model, DecodeTimeout past the deadline, AudioError for a broken file."""
        model = self.models.loaded(language)
        if model is None:
            raise SpeechUnavailable(self.models.state(language).why)
        limit = self.deadline_s if deadline_s is None else deadline_s
        deadline = time.monotonic() + limit
        job = asyncio.get_running_loop().run_in_executor(self._pool, self._job, model, path,
                                                         grammar, deadline)
        try:
            return await asyncio.wait_for(job, limit)
        except TimeoutError:
            raise DecodeTimeout(f"no result within {limit:g} s") from None

    @staticmethod
    def _job(model: Any, path: Path, grammar: Grammar, deadline: float) -> Recognition:
        if time.monotonic() >= deadline:
            raise DecodeTimeout("the deadline passed before decoding started")
        audio, rate = read_wav(path)
        return decode(model, audio, rate, grammar)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
