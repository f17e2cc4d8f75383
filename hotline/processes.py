"""Start, stop and inspect the processes of one hotline instance (Asterisk, Redis, controller).

Each runs in its own session with its output in ``<runtime>/log``; pid files live in
``<runtime>/run``. Starting something already running does nothing; stopping something stopped
does nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .config import PROJECT_ROOT, Settings
from .render import render

ASTERISK = "/usr/sbin/asterisk"


class StartError(Exception):
    code = "hotline.start_failed"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:  # reap it if it is our own child that has exited
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    delay = 0.02
    while not predicate():
        if time.monotonic() > deadline:
            raise StartError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _spawn(args: list[str], log: Path) -> int:
    """Start a daemon-like child in its own session, output appended to ``log``; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return os.posix_spawnp(args[0], args, os.environ, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out, 1),
            (os.POSIX_SPAWN_DUP2, out, 2),
        ])
    finally:
        os.close(out)


def _terminate(pid: int | None, timeout: float, sig: int = signal.SIGTERM) -> None:
    if not _alive(pid):
        return
    assert pid is not None
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)


# -- Asterisk -----------------------------------------------------------------------------------

def asterisk_command(settings: Settings) -> list[str]:
    if settings.asterisk_root:
        return ["chroot", settings.asterisk_root, ASTERISK]
    return [ASTERISK]


def asterisk_cli(settings: Settings, command: str, timeout: float = 10) -> str:
    result = subprocess.run(
        [*asterisk_command(settings), "-C", str(settings.etc / "asterisk.conf"), "-rx", command],
        check=False, capture_output=True, text=True, timeout=timeout,
    )
    return result.stdout


def asterisk_pid(settings: Settings) -> int | None:
    pid = _read_pid(settings.runtime / "run" / "asterisk.pid")
    return pid if _alive(pid) else None


def _chroot_mounts(settings: Settings, action: str) -> None:
    script = PROJECT_ROOT / "scripts" / "chroot-mounts.sh"
    subprocess.run([str(script), action, settings.asterisk_root, str(settings.runtime)],
                   check=True, capture_output=True)


def start_asterisk(settings: Settings) -> int:
    pid = asterisk_pid(settings)
    if pid:
        return pid
    if settings.asterisk_root:
        _chroot_mounts(settings, "up")
    (settings.runtime / "run" / "asterisk.pid").unlink(missing_ok=True)
    pid = _spawn([*asterisk_command(settings), "-C", str(settings.etc / "asterisk.conf"), "-f"],
                 settings.logs / "asterisk.out")

    def booted() -> bool:
        if not _alive(pid):
            raise StartError(f"Asterisk exited at start; see "
                             f"{settings.logs / 'asterisk.out'} and {settings.logs / 'messages'}")
        if not (settings.runtime / "run" / "asterisk.ctl").exists():
            return False
        return "fully booted" in asterisk_cli(settings, "core waitfullybooted", timeout=30).lower()

    _wait(booted, 60, "Asterisk fully booted")
    return pid


def stop_asterisk(settings: Settings) -> None:
    pid = asterisk_pid(settings)
    if pid:
        try:
            asterisk_cli(settings, "core stop now", timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _terminate(pid, 10)
    if settings.asterisk_root:
        _chroot_mounts(settings, "down")


def asterisk_version(settings: Settings) -> str:
    result = subprocess.run([*asterisk_command(settings), "-V"], check=False, capture_output=True,
                            text=True)
    return result.stdout.strip()


# -- Redis --------------------------------------------------------------------------------------

def redis_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "redis.pid"


def start_redis(settings: Settings) -> int:
    pid = _read_pid(redis_pidfile(settings))
    if _alive(pid):
        assert pid is not None
        return pid
    pid = _spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(settings.redis_port),
                   "--dir", str(settings.runtime / "redis"), "--appendonly", "yes",
                   "--save", "", "--protected-mode", "yes", "--daemonize", "no"],
                 settings.logs / "redis.out")
    redis_pidfile(settings).write_text(str(pid))

    def listening() -> bool:
        if not _alive(pid):
            raise StartError(f"redis-server exited at start; see {settings.logs / 'redis.out'}")
        try:
            with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    _wait(listening, 15, "Redis answering PING")
    return pid


def stop_redis(settings: Settings) -> None:
    _terminate(_read_pid(redis_pidfile(settings)), 10)
    redis_pidfile(settings).unlink(missing_ok=True)


# -- the controller -----------------------------------------------------------------------------

def controller_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "controller.pid"


def control_socket(settings: Settings) -> Path:
    return settings.runtime / "run" / "controller.sock"


def controller_pid(settings: Settings) -> int | None:
    pid = _read_pid(controller_pidfile(settings))
    return pid if _alive(pid) else None


def start_controller(settings: Settings) -> int:
    pid = controller_pid(settings)
    if pid:
        return pid
    control_socket(settings).unlink(missing_ok=True)
    pid = _spawn([sys.executable, "-m", "hotline.cli", "--runtime", str(settings.runtime),
                  "controller"], settings.logs / "controller.log")
    controller_pidfile(settings).write_text(str(pid))

    def ready() -> bool:
        if not _alive(pid):
            raise StartError(f"the controller exited at start; see "
                             f"{settings.logs / 'controller.log'}")
        return controller_status(settings) is not None

    _wait(ready, 30, "controller ready")
    return pid


def stop_controller(settings: Settings, timeout: float = 40) -> None:
    _terminate(controller_pid(settings), timeout)
    controller_pidfile(settings).unlink(missing_ok=True)


def controller_status(settings: Settings, timeout: float = 2.0) -> dict[str, object] | None:
    """Ask the running controller for its status over its control socket."""
    return controller_request(settings, "status", timeout)  # type: ignore[return-value]


def controller_request(settings: Settings, request: str, timeout: float = 5.0) -> Any:
    """One request line to the running controller; its JSON answer (None if not running)."""
    path = control_socket(settings)
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(request.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


# -- the whole instance ---------------------------------------------------------------------------

def up(settings: Settings, *, progress: bool = True, demo: bool = False) -> None:
    """Render the config, build prompts, migrate the database, start everything (idempotent).

    ``demo`` loads demo data (generated customers plus the named demo records) if the
    database has no customers yet.
    """
    from ivr.prompts import build
    from records.database import migrate

    say = print if progress else (lambda *_a, **_k: None)
    render(settings)
    build(PROJECT_ROOT / "prompts" / "catalogue.yaml", settings.sounds,
          settings.runtime / "cache" / "prompts", PROJECT_ROOT / "prompts" / "recorded",
          progress=progress)
    migrate(settings.database_url)
    if demo:
        load_demo_data(settings, progress=progress)
    start_redis(settings)
    say(f"[hotline] redis on 127.0.0.1:{settings.redis_port}")
    start_asterisk(settings)
    say(f"[hotline] {asterisk_version(settings)} on {settings.sip_bind}:{settings.sip_port}")
    start_controller(settings)
    say(f"[hotline] controller ready (FastAGI 127.0.0.1:{settings.agi_port})")


def down(settings: Settings) -> None:
    """Stop the controller, Asterisk and Redis: each is tried even when an earlier one fails
    (then the first failure is raised), so nothing is left running behind a failed step."""
    failures: list[Exception] = []
    for stop in (stop_controller, stop_asterisk, stop_redis):
        try:
            stop(settings)
        except Exception as exc:  # noqa: BLE001 - raised below, after the other steps
            failures.append(exc)
    if failures:
        raise failures[0]


def load_demo_data(settings: Settings, *, customers: int = 2000, progress: bool = True) -> None:
    from sqlalchemy import func, select

    from records.database import make_engine, make_sessions
    from records.demo import load_demo
    from records.models import Customer

    engine = make_engine(settings.database_url)
    try:
        with make_sessions(engine)() as session:
            empty = not session.scalar(select(func.count()).select_from(Customer))
        engine.dispose()  # the generator switches SQLite's journal mode: no other connection
        if empty:
            from records.datagen import generate

            generate(settings.database_url, customers, progress=progress)
        with make_sessions(engine)() as session:
            demo = load_demo(session)
        if progress:
            print(f"[hotline] demo data ready: caller {demo.caller_known} is customer "
                  f"{demo.customer_code}; request {demo.request_number}")
    finally:
        engine.dispose()
