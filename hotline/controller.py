"""The controller process: FastAGI server, AMI client, call journal, control socket.

This is the composition root: it builds every object once and passes dependencies in.
Lifecycle: start -> ready (control socket answers) -> SIGTERM -> drain (no new calls; calls in
progress finish their step and go to the operator queue) -> stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import signal
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from acd.agents import AgentsError, load_agents
from acd.ami.client import AmiClient, ClientState
from acd.ami.errors import AmiError
from acd.lease import Lease
from acd.live import LiveState
from acd.queues import load_routing
from acd.screen_pop import CallerFacts
from acd.service import AcdService, AcdSettings, TransferError
from ivr.actions import ActionRunner
from ivr.agi.server import FastAgiServer
from ivr.listening import Listener, ListenSettings
from ivr.menu import MenuError
from ivr.menus import MenuFiles, MenuSource
from ivr.service import IvrService
from records import journal, requests
from records.database import make_engine, make_sessions, migrate
from records.rules import load_rules
from records.store import RecordsStore
from speech.models import Models
from speech.recogniser import Recogniser

from .config import PROJECT_ROOT, Settings
from .feature_codes import FeatureCodes
from .heartbeat import Heartbeat
from .processes import control_socket, heartbeat_file
from .redact import configure_logging

log = logging.getLogger("hotline.controller")

CATALOGUE = PROJECT_ROOT / "prompts" / "catalogue.yaml"
REQUEST_RULES = PROJECT_ROOT / "dialplans" / "requests.yaml"


class Controller:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.time()
        try:
            migrate(settings.database_url)
        except Exception as exc:  # noqa: BLE001 - calls are still served; records wait in the spool
            log.error("database unavailable at start (%s); call records will be spooled", exc)
        # a caller never waits more than about a second for a locked or dead database
        self.sessions = make_sessions(make_engine(settings.database_url, busy_timeout_ms=1000))
        # record writes never hold up a call: queued per call, spooled when the database
        # does not take them (runtime/spool/records), replayed when it does
        self.store = RecordsStore(self.sessions, settings.runtime / "spool" / "records",
                                  lookup_timeout=1.0,
                                  earlier_spool=settings.runtime / "spool" / "calls.jsonl")
        self.agents_file = Path(settings.agents_file)
        self.menus = MenuSource(MenuFiles(menu=Path(settings.menu_file), catalogue=CATALOGUE,
                                          agents=self.agents_file, sounds=settings.sounds))
        self.stopping = asyncio.Event()
        # one model per language for the whole process, loaded after the start (keypad menus
        # serve meanwhile, and for good when a model is missing or fails to load)
        self.speech = Recogniser(Models(settings.speech_models), workers=settings.speech_workers,
                                 deadline_s=settings.speech_deadline_s)
        # callers' recordings: written by Asterisk, read and removed by the controller
        speech_folder = settings.runtime / "spool" / "speech"
        speech_folder.mkdir(parents=True, exist_ok=True)
        listener = Listener(self.speech, ListenSettings(
            speech_folder, min_confidence=settings.speech_min_confidence,
            keep_recordings_h=settings.speech_keep_recordings_h))
        self.ivr = IvrService(self.menus.current, self.store,
                              ActionRunner(self.store, load_rules(REQUEST_RULES)),
                              settings.sounds, self.stopping, listener=listener)
        # no AGI command of ours takes 5 minutes (the longest prompt is far shorter): a reply
        # that late means a half-open connection, and the session ends
        self.agi = FastAgiServer({"ivr": self.ivr.handle_call,
                                  "operator": self._feature_code},
                                 token=settings.agi_token,
                                 port=settings.agi_port, command_timeout=300)
        self.ami = AmiClient("127.0.0.1", settings.ami_port, settings.ami_username,
                             settings.ami_secret, on_event=self._on_ami_event,
                             on_connected=self._on_ami_connected, events="call,user")
        from redis.asyncio import Redis

        self.redis = Redis(**settings.redis_connection(), socket_timeout=2,
                           socket_connect_timeout=2)
        self.agents = load_agents(self.agents_file)
        self.routing = load_routing(self.agents_file)
        self.acd = AcdService(
            LiveState(self.redis), self.ami, lambda: self.agents, str(settings.sounds),
            routing=lambda: self.routing,
            settings=AcdSettings(ring_timeout_s=settings.acd_ring_timeout_s,
                                 wrap_up_s=settings.acd_wrap_up_s,
                                 max_missed=settings.acd_max_missed,
                                 announce_every_s=settings.acd_announce_every_s,
                                 callback=bool(settings.callback_trunk),
                                 callbacks_per_hour=settings.callbacks_per_hour,
                                 max_queue=settings.acd_max_queue),
            caller_facts=self._caller_facts, on_connected=self._connected,
            on_attempt=self._attempt, on_wrap_up=self._wrap_up)
        self.feature_codes = FeatureCodes(self.acd)
        # the dialplan's sign that some controller routes (acd/lease.py), and the supervisor's
        # that this one's event loop runs (hotline/heartbeat.py)
        self.lease = Lease(self.ami, self.redis.ping, on_redis_back=self._redis_back)
        self.heartbeat = Heartbeat(heartbeat_file(settings))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._journal_wakeup = asyncio.Event()
        self._control: asyncio.AbstractServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.store.start()
        self.acd.start()
        await self.agi.start()
        await self.ami.start()
        lease = self._spawn(self.lease.run(), "ACD lease")
        self._spawn(self._journal_loop(), "call journal")
        self._spawn(self._escalation_loop(), "request escalation")
        self._spawn(self._menu_watch(), "menu reload")
        self._spawn(self.speech.load(self.speech_languages()), "speech models")
        self._control = await asyncio.start_unix_server(
            self._control_client, path=str(control_socket(self.settings)))
        os.chmod(control_socket(self.settings), 0o600)
        # beats until the very end, so a supervisor never takes a drain for a hang
        beating = self._spawn(self.heartbeat.run(), "heartbeat", background=False)
        self.heartbeat.ready()
        log.info("controller ready (pid %d, menu %s)", os.getpid(),
                 self.menus.current().version)
        await self.stopping.wait()
        log.info("stopping: no new calls; calls in progress finish their step")
        self.heartbeat.stopping()
        await self.agi.stop(drain_timeout=45)
        self._control.close()
        lease.cancel()  # no routing from here on: waiting callers go to the fallback queue
        # every later step is bounded: a stop that hangs is worse than one that leaves a
        # connection unclosed (the process ends anyway), and the log names the step
        await _bounded("closing AMI", self.ami.close(), 5)
        await _bounded("stopping the ACD", self.acd.stop(), 5)
        await _bounded("closing Redis", self.redis.aclose(), 5)
        self.speech.close()
        for task in self._tasks:
            task.cancel()
        await _bounded("stopping the background jobs",
                       asyncio.gather(*self._tasks, return_exceptions=True), 10)
        await _bounded("reading the call journal", asyncio.to_thread(
            journal.ingest, self.sessions, self.settings.cdr_journal), 15)
        await _bounded("writing the last call records", self.store.shutdown(), 15)
        control_socket(self.settings).unlink(missing_ok=True)
        beating.cancel()
        log.info("controller stopped")

    def _spawn(self, coro: Any, name: str, *, background: bool = True) -> asyncio.Task[Any]:
        """A task whose failure is logged; ``background`` tasks are cancelled at the stop."""
        task = asyncio.create_task(coro, name=name)
        if background:
            self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("%s task failed", name, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    # -- the call journal ---------------------------------------------------------------------

    async def _journal_loop(self) -> None:
        """Fold Asterisk's call journal into the records at start and after every call end."""
        from watchfiles import awatch

        path = self.settings.cdr_journal
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            await asyncio.to_thread(journal.ingest, self.sessions, path)
        except Exception:
            log.exception("call journal: ingest failed; retried on the next change")
        async for _changes in awatch(path.parent, stop_event=self.stopping, debounce=50,
                                     step=20, rust_timeout=1000):
            try:
                await asyncio.to_thread(journal.ingest, self.sessions, path)
            except Exception:
                log.exception("call journal: ingest failed; retried on the next change")

    # -- speech -------------------------------------------------------------------------------

    def speech_languages(self) -> list[str]:
        """Languages whose model is loaded: those configured and those the menu listens in."""
        wanted = set(self.settings.speech_models)
        wanted |= self.menus.current().speech_languages()
        return sorted(wanted)

    def speech_status(self) -> dict[str, Any]:
        languages = self.speech.models.status()
        for language in self.speech_languages():
            languages.setdefault(language, {"state": "loading", "why": None, "model": None,
                                            "load_s": None})
        if not languages:
            return {"state": "off", "why": "no model configured and no menu node takes speech",
                    "languages": {}}
        on = [lang for lang, state in languages.items() if state["state"] == "on"]
        return {"state": "on" if on else "off",
                "why": None if on else "; ".join(f"{lang}: {state['why'] or state['state']}"
                                                  for lang, state in languages.items()),
                "languages": languages}

    # -- menus -------------------------------------------------------------------------------

    async def _menu_watch(self) -> None:
        """A changed menu, catalogue or operators file is checked and, if good, serves new calls;
        calls in progress finish on the version they started with."""
        from watchfiles import awatch

        watched = {p.resolve() for p in self.menus.files.watched()}
        folders = {p.parent for p in watched}
        async for changes in awatch(*folders, stop_event=self.stopping, debounce=200,
                                    rust_timeout=1000):
            changed_files = {Path(changed).resolve() for _, changed in changes}
            try:
                if changed_files & watched:
                    await asyncio.to_thread(self.menus.reload)
                if self.agents_file.resolve() in changed_files:
                    self._reload_agents()
            except Exception:  # the watch must go on whatever one reload does
                log.exception("reloading after a file change failed")

    def _reload_agents(self) -> None:
        """The operators file changed: new skills apply to the next routing pass; a broken
        file is refused with its locations and the running list stays."""
        try:
            agents, routing = load_agents(self.agents_file), load_routing(self.agents_file)
        except AgentsError as exc:
            log.error("operators file rejected; the running list and rules stay:\n%s", exc)
            return
        self.agents, self.routing = agents, routing
        log.info("operators file reloaded: %d operators, queue rules for %s", len(self.agents),
                 ", ".join(sorted(routing.queues)) or "none")

    # -- requests ------------------------------------------------------------------------------

    async def _escalation_loop(self, every_s: float = 60.0) -> None:
        """Raise the escalation level of requests whose deadline is near or past (idempotent,
        safe with several controllers on one database)."""
        while not self.stopping.is_set():
            try:
                rules = load_rules(REQUEST_RULES)
                raised = await self.store.run(
                    lambda s, rules=rules: requests.escalate(s, rules), 30)
                if raised:
                    log.info("escalation: %d request(s) raised a level", raised)
            except Exception as exc:  # noqa: BLE001 - the loop must live on; said in the log
                log.error("escalation job failed (%s); next try in %.0f s", exc, every_s)
            try:
                await asyncio.wait_for(self.stopping.wait(), every_s)
            except TimeoutError:
                pass

    # -- AMI --------------------------------------------------------------------------------------

    async def _on_ami_connected(self) -> None:
        log.info("AMI connected")
        self._spawn(self.acd.rebuild(), "ACD rebuild")

    def _redis_back(self) -> None:
        """Redis answers again: callers who left for the fallback queue meanwhile, and calls
        that ended, are taken out of the ACD's state."""
        if self.ami.state is ClientState.CONNECTED and not self.stopping.is_set():
            self._spawn(self.acd.rebuild(), "ACD rebuild")

    def _on_ami_event(self, message: Any) -> None:
        self.acd.on_event(message)

    async def _attempt(self, call_id: str, entry: dict[str, Any]) -> None:
        await self.store.append_path(call_id, entry)

    async def _feature_code(self, channel: Any, args: tuple[str, ...]) -> None:
        await self.feature_codes.handle(channel, args)

    async def _wrap_up(self, call_id: str, agent_id: str, code: str) -> None:
        await self.store.wrap_up(call_id, code)

    async def _connected(self, call_id: str, agent_id: str, wait_s: float,
                         step: dict[str, Any] | None = None) -> None:
        await self.store.queue_result(call_id, agent_id, wait_s, step)

    async def _caller_facts(self, call_id: str, caller: str) -> CallerFacts:
        """The records on a caller put through to the ACD: sticky operator and screen pop."""
        from records.calls import caller_card

        try:
            card = await self.store.run(lambda s: caller_card(s, call_id, caller), 1.0)
        except Exception:  # noqa: BLE001 - a nicety: no database, no stickiness and no pop
            return CallerFacts()
        pop = card.screen_pop
        return CallerFacts(
            last_operator=card.last_operator, customer=card.customer_code,
            open_requests=len(pop.open_requests) if pop else 0,
            late_requests=sum(r.overdue_by_s > 0 for r in pop.open_requests) if pop else 0,
            earlier_calls=len(pop.calls) if pop else 0, looked_up=True)

    async def screen_pop(self, who: str) -> dict[str, Any]:
        """The screen pop for an operator's current (or last) call, or for a caller number."""
        from records.calls import caller_card

        call_id, caller, display = "", re.sub(r"[^0-9+]", "", who)[:20], ""
        if who in self.agents:
            status = await self.acd.live.agent(who)
            if not status.call_id:
                return {"error": f"{who} has no call"}
            call = await self.acd.live.call(status.call_id)
            call_id, caller, display = status.call_id, call.get("caller", ""), call.get(
                "display", "")
        elif not caller or not re.fullmatch(r"\+?[0-9][0-9 ().-]*", who):
            return {"error": f"{who!r} is neither an operator nor a phone number"}
        try:
            card = await self.store.run(lambda s: caller_card(s, call_id, caller), 5.0)
        except Exception as exc:  # noqa: BLE001 - no database: say so
            return {"error": f"the records cannot be read ({type(exc).__name__})"}
        pop = card.screen_pop
        return {
            "call": call_id or None, "caller": caller, "display": display or None,
            "customer": card.customer_code, "last_operator": card.last_operator,
            "calls": [{"started_at": c.started_at.isoformat(), "outcome": c.outcome,
                       "operator": c.operator, "wrap_up_code": c.wrap_up_code}
                      for c in (pop.calls if pop else ())],
            "open_requests": [{"number": r.number, "type": r.type, "status": r.status,
                               "deadline_at": r.deadline_at.isoformat(),
                               "overdue_by_s": round(r.overdue_by_s),
                               "district": r.district_company_name}
                              for r in (pop.open_requests if pop else ())],
        }

    async def lines_in_use(self) -> int | None:
        if self.ami.state is not ClientState.CONNECTED:
            return None
        try:
            answer = await self.ami.action("Getvar", [("Variable", "GROUP_COUNT(ivr@hotline)")],
                                           timeout=2)
            return int(answer.response.get("Value", "0") or 0)
        except (AmiError, ValueError):
            return None

    # -- control socket -------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 1),
            "state": "stopping" if self.stopping.is_set() else "running",
            "ami": self.ami.state.value,
            "fastagi": f"{self.agi.host}:{self.agi.port}",
            "calls_in_ivr": self.agi.active_sessions,
            "lines_in_use": await self.lines_in_use(),
            "ivr_lines": self.settings.ivr_lines,
            "menu": {"file": self.menus.current().source,
                     "version": self.menus.current().version,
                     "rejected": str(self.menus.rejected) if self.menus.rejected else None},
            "records": dataclasses.asdict(self.store.counts),
            "speech": self.speech_status(),
            "acd_lease": {"renewed_s_ago": None if self.lease.renewed_at is None else
                          round(time.time() - self.lease.renewed_at, 1),
                          "not_renewed_because": self.lease.suspended},
        }

    async def _control_client(self, reader: asyncio.StreamReader,
                              writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            words = line.decode(errors="replace").split()
            if words == ["status"]:
                writer.write(json.dumps(await self.status()).encode() + b"\n")
            elif len(words) in (3, 4) and words[0] == "agent":
                try:
                    status = await self.acd.agent_command(words[1], words[2],
                                                          words[3] if len(words) == 4 else None)
                    answer: Any = {"agent": words[1], "state": status.state.value,
                                   "pause_reason": status.pause_reason}
                except Exception as exc:  # noqa: BLE001 - a refused transition, Redis down: say so
                    answer = {"error": str(exc)}
                writer.write(json.dumps(answer).encode() + b"\n")
            elif len(words) == 4 and words[0] == "transfer":
                agent_id, call_id, target = words[1:]
                try:
                    if not target.startswith("skill:"):
                        raise TransferError(f"transfer to a skill (skill:billing), not {target!r}")
                    await self.acd.transfer(agent_id, call_id, target.removeprefix("skill:"))
                    answer = {"agent": agent_id, "call": call_id, "to": target}
                except Exception as exc:  # noqa: BLE001 - refused, Redis or AMI down: say so
                    answer = {"error": str(exc)}
                writer.write(json.dumps(answer).encode() + b"\n")
            elif words == ["acd"]:
                writer.write(json.dumps({
                    "stats": await self.acd.live.stats(),
                    "waiting": [c.call_id for c in await self.acd.live.waiting()],
                }).encode() + b"\n")
            elif len(words) == 2 and words[0] == "pop":
                writer.write(json.dumps(await self.screen_pop(words[1])).encode() + b"\n")
            elif words == ["agents"]:
                rows = [{"agent": a.agent_id, "state": a.state.value,
                         "pause_reason": a.pause_reason, "call": a.call_id}
                        for a in await self.acd.live.agents()]
                writer.write(json.dumps(rows).encode() + b"\n")
            else:
                writer.write(json.dumps({"error": "unknown request"}).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


async def _bounded(what: str, work: Awaitable[Any], timeout: float) -> None:
    """Await ``work`` for at most ``timeout`` seconds, then go on without it (logging where
    it was stuck). Unlike ``wait_for``, never waits for the cancelled work to give up."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        where = "".join(f"\n  {frame.f_code.co_filename}:{frame.f_lineno} "
                        f"{frame.f_code.co_name}" for frame in task.get_stack())
        log.error("stopping: %s took longer than %g s; going on without it%s", what, timeout,
                  where)
        task.cancel()
    elif not task.cancelled() and task.exception() is not None:
        log.error("stopping: %s failed (%s)", what, task.exception())


def run(settings: Settings) -> int:
    configure_logging(settings)  # every line masked: no secret reaches the log
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    try:
        controller = Controller(settings)
    except MenuError as exc:
        log.error("the menu cannot be loaded; callers get the dialplan fallback:\n%s", exc)
        return 2
    asyncio.run(controller.run())
    return 0
