"""The prompt catalogue and its build into Asterisk-playable audio.

``prompts/catalogue.yaml`` maps a prompt id to its Vietnamese and English text. The build writes
``<sounds>/<lang>/<id>.wav`` (8 kHz, 16-bit, mono) and ``.ulaw`` beside it (Asterisk then plays
the ulaw file to ulaw callers without transcoding). A recorded file
``prompts/recorded/<lang>/<id>.wav`` overrides the synthetic voice. Synthesis is cached by
(engine, voice, text) so a rebuild only synthesises what changed; every file is written to a
temporary name and renamed, so Asterisk never plays half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

log = logging.getLogger("ivr.prompts")

LANGUAGES = ("vi", "en")
ESPEAK_VOICES = {"vi": "vi", "en": "en-gb"}


class PromptError(Exception):
    code = "prompts.error"


@dataclass(frozen=True)
class Prompt:
    id: str
    texts: dict[str, str]


def load_catalogue(path: Path) -> dict[str, Prompt]:
    yaml = YAML(typ="safe")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises many types; all mean "not a readable catalogue"
        raise PromptError(f"{path}: cannot read the prompt catalogue: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptError(f"{path}: the catalogue must map prompt ids to texts")
    catalogue: dict[str, Prompt] = {}
    for prompt_id, texts in data.items():
        if not isinstance(texts, dict) or not all(
            isinstance(texts.get(lang), str) and texts[lang].strip() for lang in LANGUAGES
        ):
            raise PromptError(f"{path}: prompt {prompt_id!r} needs non-empty 'vi' and 'en' texts")
        catalogue[str(prompt_id)] = Prompt(str(prompt_id), {k: texts[k] for k in LANGUAGES})
    return catalogue


def load_words(path: Path) -> dict[str, dict[str, str]]:
    """The word catalogue: for each language, word id -> text (``prompts/words.yaml``)."""
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {lang: {} for lang in LANGUAGES}
    except Exception as exc:
        raise PromptError(f"{path}: cannot read the word catalogue: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptError(f"{path}: the word catalogue maps languages to words")
    words: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        entries = data.get(lang) or {}
        if not isinstance(entries, dict) or not all(
                isinstance(t, str) and t.strip() for t in entries.values()):
            raise PromptError(f"{path}: '{lang}' must map word ids to non-empty texts")
        words[lang] = {str(k): v for k, v in entries.items()}
    return words


def _run(args: list[str]) -> None:
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise PromptError(f"{args[0]} failed: {result.stderr.strip()[:300]}")


def gtts_reachable(timeout: float = 2.0) -> bool:
    """Is Google's TTS endpoint reachable from here (checked once per build)?"""
    import socket

    try:
        with socket.create_connection(("translate.google.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _synthesise(text: str, lang: str, cache: Path, engine: str) -> Path:
    """Synthesise once per (engine, voice, text); later builds reuse the cached file."""
    voice = lang if engine == "gtts" else ESPEAK_VOICES[lang]
    key = hashlib.sha256(f"{engine}\0{voice}\0{text}".encode()).hexdigest()[:32]
    target = cache / f"{key}.wav"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        out = Path(tmp) / "out.wav"
        if engine == "gtts":
            raw = Path(tmp) / "raw.mp3"
            from gtts import gTTS  # optional: only when Google is reachable

            gTTS(text=text, lang=lang, timeout=10).save(str(raw))
            if raw.stat().st_size == 0:
                raise PromptError("gTTS wrote an empty file")
        else:
            raw = Path(tmp) / "raw.wav"
            _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text])
        _normalise(raw, out)
        os.replace(out, target)
    return target


def _normalise(source: Path, target: Path) -> None:
    _run(["sox", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
          str(target), "norm", "-3"])


def _install(source: Path, wav: Path) -> None:
    """Place ``source`` as ``wav`` and its ``.ulaw`` twin, each by an atomic rename."""
    wav.parent.mkdir(parents=True, exist_ok=True)
    tmp_wav = wav.with_suffix(".wav.tmp")
    shutil.copyfile(source, tmp_wav)
    tmp_ulaw = wav.with_suffix(".ulaw.tmp")
    _run(["sox", str(tmp_wav), "-t", "raw", "-e", "mu-law", "-b", "8", str(tmp_ulaw)])
    os.replace(tmp_ulaw, wav.with_suffix(".ulaw"))
    os.replace(tmp_wav, wav)


def build(catalogue_path: Path, sounds: Path, cache: Path, recorded: Path | None = None,
          *, progress: bool = True, engine: str = "auto") -> int:
    """Build every prompt and word; return how many files were (re)written.

    ``engine``: ``gtts`` (Google, online), ``espeak`` (offline) or ``auto`` (gTTS when Google
    answers, else espeak-ng; a gTTS failure on one prompt falls back to espeak-ng for it).
    """
    catalogue = load_catalogue(catalogue_path)
    jobs = [(p, lang) for p in catalogue.values() for lang in LANGUAGES]
    words = load_words(catalogue_path.with_name("words.yaml"))
    clash = set(catalogue) & {w for entries in words.values() for w in entries}
    if clash:
        raise PromptError(f"ids used both as prompts and as words: {', '.join(sorted(clash))}")
    jobs += [(Prompt(word_id, {lang: text}), lang) for lang, entries in words.items()
             for word_id, text in entries.items()]
    if engine == "auto":
        engine = "gtts" if gtts_reachable() else "espeak"
        log.info("prompts: synthesising with %s", engine)
    written = 0
    for n, (prompt, lang) in enumerate(jobs, 1):
        if progress and (sys.stderr.isatty() or n % 50 == 0 or n == len(jobs)):
            end = "\r" if sys.stderr.isatty() else "\n"
            sys.stderr.write(f"[prompts] {n}/{len(jobs)} {lang}/{prompt.id:<30}{end}")
            sys.stderr.flush()
        override = recorded / lang / f"{prompt.id}.wav" if recorded else None
        if override is not None and override.exists():
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "norm.wav"
                _normalise(override, source)
                _install(source, sounds / lang / f"{prompt.id}.wav")
            written += 1
            continue
        try:
            source = _synthesise(prompt.texts[lang], lang, cache, engine)
        except Exception as exc:  # gTTS offline or refused: the offline voice never fails us
            if engine != "gtts":
                raise
            log.warning("gTTS failed for %s/%s (%s); using espeak-ng", lang, prompt.id, exc)
            source = _synthesise(prompt.texts[lang], lang, cache, "espeak")
        wav = sounds / lang / f"{prompt.id}.wav"
        stamp = wav.with_suffix(".src")
        if wav.exists() and stamp.exists() and stamp.read_text() == source.name:
            continue
        _install(source, wav)
        stamp.write_text(source.name)
        written += 1
    if progress:
        sys.stderr.write(f"[prompts] {len(jobs)} prompts ready, {written} written{' ' * 30}\n")
    return written
