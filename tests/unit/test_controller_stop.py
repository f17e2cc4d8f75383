"""Stopping the controller: every step after the calls' drain is bounded, even one that
ignores cancellation, and the log says which step was stuck and where."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hotline.controller import _bounded


async def test_a_step_that_will_not_end_is_left_behind_and_named(
        caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # swallows every cancellation, as a buggy library could

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, "hotline.controller"):
        await _bounded("closing the stubborn thing", stubborn(), 0.2)
    assert time.monotonic() - started < 2
    assert "closing the stubborn thing took longer than 0.2 s" in caplog.text
    assert "stubborn" in caplog.text.split("going on without it", 1)[1]  # where it hung
    release.set()


async def test_a_failing_step_is_logged_and_the_stop_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise ConnectionResetError("peer gone")

    with caplog.at_level(logging.ERROR, "hotline.controller"):
        await _bounded("closing Redis", broken(), 1)
    assert "closing Redis failed (peer gone)" in caplog.text


async def test_a_quick_step_is_awaited_whole() -> None:
    done: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("yes")

    await _bounded("a quick step", quick(), 5)
    assert done == ["yes"]
