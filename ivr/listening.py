"""Listening to the caller at a node that takes speech: record, decode, decide.

After a node's prompts (a key pressed during them wins as ever), the caller is recorded with
``RECORD FILE`` (silence detection ends it; any key ends it and is taken as the key). The
recording is decoded by the process's :class:`speech.recogniser.Recogniser` within its deadline,
then removed, unless the admin keeps recordings for tuning (``speech_keep_recordings_h``; older
ones are pruned). What was heard is judged by :func:`judge`:

* a result with enough confidence is taken (as the key it stands for);
* a result below ``min_confidence``, or nothing in the grammar, asks once to say it again
  (``speech_again``); the same result heard twice is taken;
* silence or steady noise is no input, as if no key was pressed (a recording that ends in
  silence before the node's timeout is over is followed by another: the caller has the whole
  timeout to begin);
* no model, a broken recording or a decode past its deadline: the node goes on with keys only
  (``WAIT FOR DIGIT`` for the node's timeout).

After that the node's own retries and fallbacks apply (``no_input``/``invalid`` prompts, then
``on_no_input``/``on_invalid``, typically an operator).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speech.grammar import Recognition
from speech.models import SpeechUnavailable
from speech.recogniser import AudioError, DecodeTimeout, Recogniser

from .agi.channel import AgiChannel
from .stepper import ALL_KEYS, Heard, Prompt

log = logging.getLogger("ivr.speech")

AGAIN = "speech_again"  # "Sorry, I did not catch that: please say it again, or press a key."


@dataclass(frozen=True)
class ListenSettings:
    folder: Path                 # where Asterisk writes recordings (the runtime folder's)
    min_confidence: float = 0.6
    keep_recordings_h: float = 0.0
    silence_s: int = 2           # this much silence after the caller ends the recording
    max_s: int = 10              # longest recording


def judge(heard: list[Recognition], min_confidence: float) -> tuple[str, str | None]:
    """What to do with the recognitions of one question so far: ``("take", result)``,
    ``("again", None)`` (at most once), ``("nothing", None)`` (no speech: no input) or
    ``("invalid", None)`` (spoken, not understood)."""
    last = heard[-1]
    if last.result is not None and last.confidence >= min_confidence:
        return "take", last.result
    if len(heard) >= 2 and last.result is not None and heard[-2].result == last.result:
        return "take", last.result  # the same answer twice, each unsure
    if not last.speech and not any(h.speech for h in heard):
        return "nothing", None
    if len(heard) < 2:
        return "again", None
    return "invalid", None


class Listener:
    def __init__(self, recogniser: Recogniser, settings: ListenSettings) -> None:
        self.recogniser = recogniser
        self.settings = settings
        self._pruned_at = 0.0

    def can_listen(self, language: str) -> bool:
        return self.recogniser.available(language)

    async def listen(self, channel: AgiChannel, prompt: Prompt, language: str,
                     sound: Any) -> Heard:
        """The caller's answer after ``prompt``'s sounds played with no key pressed."""
        assert prompt.listen is not None
        heard: list[Recognition] = []
        waiting_since = time.monotonic()
        while True:
            name = f"{channel.environment.uniqueid.replace('.', '-')}-{uuid.uuid4().hex[:8]}"
            base = self.settings.folder / name  # Asterisk adds .wav
            started = time.monotonic()
            key = await channel.record_file(str(base), ALL_KEYS, self.settings.max_s * 1000,
                                            self.settings.silence_s)
            recording = self.settings.folder / f"{name}.wav"
            if key is not None:
                await self._dispose(recording)
                return await self._more_keys(channel, prompt, key)
            try:
                recognition = await self.recogniser.recognise(recording, prompt.listen,
                                                              language)
            except (SpeechUnavailable, DecodeTimeout, AudioError, OSError) as exc:
                log.warning("call %s: speech not used (%s); keys only",
                            channel.environment.uniqueid, exc)
                await self._dispose(recording)
                return await self._keys_only(channel, prompt, started)
            await self._dispose(recording)
            waited_ms = (time.monotonic() - waiting_since) * 1000
            if not recognition.speech and waited_ms < prompt.timeout_ms:
                continue  # silence so far: the caller has the node's whole timeout to begin
            heard.append(recognition)
            verdict, result = judge(heard, self.settings.min_confidence)
            if verdict == "take":
                assert result is not None
                spoken = {"phrase": recognition.phrase, "confidence": recognition.confidence}
                return Heard(result, spoken=spoken)
            if verdict == "nothing":
                return Heard(None)
            if verdict == "invalid":
                return Heard(None, unrecognised=True)
            key, _ = await channel.stream_file(sound(f"{language}/{AGAIN}"), prompt.keys)
            if key is not None:
                return await self._more_keys(channel, prompt, key)
            waiting_since = time.monotonic()

    async def _keys_only(self, channel: AgiChannel, prompt: Prompt, started: float) -> Heard:
        left = prompt.timeout_ms - int((time.monotonic() - started) * 1000)
        key = await channel.wait_for_digit(max(left, 1000))
        if key is None:
            return Heard(None)
        return await self._more_keys(channel, prompt, key)

    async def _more_keys(self, channel: AgiChannel, prompt: Prompt, key: str) -> Heard:
        """A key pressed while listening: a menu's choice, or a number's first digit."""
        if prompt.max_digits <= 1 or key in prompt.stop_keys:
            return Heard(key)
        keys = key
        while len(keys) < prompt.max_digits and not (
                prompt.terminator and keys.endswith(prompt.terminator)):
            following = await channel.wait_for_digit(prompt.inter_digit_ms)
            if following is None:
                break
            keys += following
        return Heard(keys)

    async def _dispose(self, recording: Path) -> None:
        """Remove the recording, or keep it for tuning (pruning those past the retention)."""
        keep_h = self.settings.keep_recordings_h
        try:
            if keep_h <= 0:
                await asyncio.to_thread(recording.unlink, True)
                return
            now = time.monotonic()
            if now - self._pruned_at > 60:
                self._pruned_at = now
                await asyncio.to_thread(prune, self.settings.folder, keep_h * 3600)
        except OSError as exc:
            log.warning("speech recording %s: %s", recording.name, exc.strerror)


def prune(folder: Path, older_than_s: float) -> int:
    """Remove kept recordings older than the retention; how many went."""
    limit = time.time() - older_than_s
    removed = 0
    for path in folder.glob("*.wav"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
