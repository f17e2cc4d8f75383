"""The simulated clock: events in time order, and in the order they were scheduled when two
fall at the same instant (so a run is the same on every machine for a given seed).

An event is an action and its subject: ``events.at(when, centre.answer, ringing)``. Nothing is
ever taken out of the queue; an event that no longer applies (the caller hung up before the
operator answered) finds its subject moved on and does nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any


class EventQueue:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, action: Callable[[Any], None], subject: Any = None) -> None:
        """Run ``action(subject)`` at ``when`` (never before now)."""
        heapq.heappush(self._heap, (max(when, self.now), next(self._order), action, subject))

    def run(self, until: float = float("inf")) -> None:
        """Run the events due up to ``until``, in order; the clock stops at the last one run."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            when, _, action, subject = pop(heap)
            self.now = when
            action(subject)
