"""The menu in force: checked before it serves a call, swapped atomically when its file changes.

A menu is checked against the prompt catalogue, the word catalogue, the operators' skills and
(when a sounds folder is given) the audio actually built. A skill operators have that no menu
path reaches is a warning: logged, shown by ``hotline ivr validate``, never a refusal. A file with errors is rejected with
every problem in the log, and the menu already serving calls stays. Calls keep the version they
started with: :meth:`MenuSource.current` hands out immutable menus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from acd.agents import AgentsError, all_skills, load_agents

from .menu import Menu, MenuError, Problem, load_menu
from .prompts import PromptError, load_catalogue, load_words
from .validate import check_audio, check_skills, unused_skills

log = logging.getLogger("ivr.menus")


@dataclass(frozen=True)
class MenuFiles:
    menu: Path
    catalogue: Path
    agents: Path
    sounds: Path | None = None  # check the built audio too

    @property
    def words(self) -> Path:
        return self.catalogue.with_name("words.yaml")

    def watched(self) -> set[Path]:
        return {self.menu, self.catalogue, self.words, self.agents}


def load_checked(files: MenuFiles) -> Menu:
    """The menu, if it passes every check; MenuError with every problem otherwise."""
    source = str(files.menu)
    try:
        catalogue = load_catalogue(files.catalogue)
        words = load_words(files.words)
    except PromptError as exc:
        raise MenuError([Problem(source, 1, 1, str(exc))]) from None
    menu = load_menu(files.menu, set(catalogue))
    problems = []
    warnings: list[Problem] = []
    try:
        agents = load_agents(files.agents)
        problems += check_skills(menu, all_skills(agents), str(files.agents))
        operators: dict[str, list[str]] = {}
        for agent_id, agent in agents.items():
            for skill in agent.skills:
                operators.setdefault(skill, []).append(agent_id)
        warnings += unused_skills(menu, operators, str(files.agents))
    except AgentsError as exc:
        problems.append(Problem(source, 1, 1, f"the operators file is broken: {exc}"))
    if files.sounds is not None:
        needed = {lang: set(entries) for lang, entries in words.items()}
        problems += check_audio(menu, files.sounds, needed)
    if problems:
        raise MenuError(sorted(problems, key=lambda p: (p.line, p.column)))
    return replace(menu, warnings=tuple(warnings))


def _log_warnings(menu: Menu) -> None:
    for warning in menu.warnings:
        log.warning("menu %s version %s: %s", menu.source, menu.version, warning.message)


class MenuSource:
    """Holds the menu in force and replaces it only with one that passed every check."""

    def __init__(self, files: MenuFiles) -> None:
        self.files = files
        self._menu = load_checked(files)
        self.rejected: MenuError | None = None
        _log_warnings(self._menu)

    def current(self) -> Menu:
        return self._menu

    def reload(self) -> bool:
        """Load the files again; True if a new version now serves new calls."""
        try:
            menu = load_checked(self.files)
        except MenuError as exc:
            self.rejected = exc
            log.error("menu %s rejected; version %s keeps serving calls:\n%s", self.files.menu,
                      self._menu.version, exc)
            return False
        self.rejected = None
        if menu.version == self._menu.version and menu == self._menu:
            return False
        log.info("menu %s reloaded: version %s replaces %s for new calls", self.files.menu,
                 menu.version, self._menu.version)
        self._menu = menu
        _log_warnings(menu)
        return True
