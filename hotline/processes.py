"""Start, stop and inspect the processes of one hotline instance (Asterisk, Redis, controller,
web desk).

Each runs in its own session with its output in ``<runtime>/log``; pid files live in
``<runtime>/run``. Starting something already running does nothing; stopping something stopped
does nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import tls
from .config import PROJECT_ROOT, Settings
from .render import render, render_guard, render_redis

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
    # the options (password included) are in the rendered config file, never on the command
    # line, which every local user can read in /proc
    (settings.runtime / "redis").mkdir(parents=True, exist_ok=True)
    pid = _spawn(["redis-server", str(render_redis(settings))], settings.logs / "redis.out")
    redis_pidfile(settings).write_text(str(pid))
    password = settings.redis_password.encode()
    hello = (b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n"
             % (len(password), password))

    def listening() -> bool:
        if not _alive(pid):
            raise StartError(f"redis-server exited at start; see {settings.logs / 'redis.out'}")
        try:
            with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=0.5) as s:
                s.sendall(hello)
                answer = b""
                while answer.count(b"\r\n") < 2:
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return False
        if answer.startswith((b"-WRONGPASS", b"-ERR")):
            raise StartError(f"the Redis on port {settings.redis_port} refuses this hotline's "
                             f"password (another Redis there, or one of an older run): stop it")
        return answer == b"+OK\r\n+PONG\r\n"

    _wait(listening, 15, "Redis answering PING")
    return pid


def redis_pid(settings: Settings) -> int | None:
    pid = _read_pid(redis_pidfile(settings))
    return pid if _alive(pid) else None


def stop_redis(settings: Settings) -> None:
    _terminate(_read_pid(redis_pidfile(settings)), 10)
    redis_pidfile(settings).unlink(missing_ok=True)


# -- the SIP guard: fail2ban on Asterisk's log, nftables on the SIP port -----------------------

SIP_JAIL = "hotline-sip"


def guard_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "sipguard.pid"


def _fail2ban(settings: Settings) -> list[str]:
    run = settings.runtime / "run"
    return ["fail2ban-client", "-c", str(settings.etc / "fail2ban"), "-s",
            str(run / "fail2ban.sock"), "-p", str(run / "fail2ban.pid")]


def guard_table(settings: Settings) -> str:
    """The nftables table (family inet) of this hotline's bans."""
    return f"hotline-{settings.sip_port}"


def guard_pid(settings: Settings) -> int | None:
    pid = _read_pid(guard_pidfile(settings))
    return pid if _alive(pid) else None


def start_guard(settings: Settings) -> int:
    """This hotline's own fail2ban (Debian's), reading Asterisk's log: an address that fails
    to authenticate ``sip_ban_after`` times is dropped on the SIP port (nftables)."""
    pid = guard_pid(settings)
    if pid:
        return pid
    missing = [tool for tool in ("fail2ban-client", "nft") if shutil.which(tool) is None]
    if missing:
        raise StartError(f"the SIP guard needs {' and '.join(missing)} (Debian packages "
                         "fail2ban, nftables: make install); or start without it: hotline up "
                         "--sip-guard off")
    if os.geteuid() != 0:
        raise StartError("the SIP guard blocks addresses with nftables, which needs root: start "
                         "as root, or without it: hotline up --sip-guard off")
    render_guard(settings)
    pid = _spawn([*_fail2ban(settings), "-x", "-f", "start"], settings.logs / "fail2ban.out")
    guard_pidfile(settings).write_text(str(pid))

    def watching() -> bool:
        if not _alive(pid):
            raise StartError(f"fail2ban exited at start; see {settings.logs / 'fail2ban.out'}")
        return guard_banned(settings) is not None

    _wait(watching, 30, "fail2ban watching Asterisk's log")
    return pid


def guard_banned(settings: Settings) -> list[str] | None:
    """The addresses the SIP guard blocks now; None when it does not answer."""
    result = subprocess.run([*_fail2ban(settings), "status", SIP_JAIL], check=False,
                            capture_output=True, text=True, timeout=30)
    found = re.search(r"Banned IP list:\s*(.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or found is None:
        return None
    return found[1].split()


def guard_unban(settings: Settings, address: str) -> None:
    subprocess.run([*_fail2ban(settings), "set", SIP_JAIL, "unbanip", address], check=True,
                   capture_output=True, timeout=30)


def stop_guard(settings: Settings) -> None:
    """Stop fail2ban: its bans go with its nftables table."""
    pid = guard_pid(settings)
    if pid:
        subprocess.run([*_fail2ban(settings), "stop"], check=False, capture_output=True,
                       timeout=30)
        _terminate(pid, 10)
    if shutil.which("nft") and os.geteuid() == 0:  # a table left by a fail2ban killed earlier
        subprocess.run(["nft", "delete", "table", "inet", guard_table(settings)], check=False,
                       capture_output=True, timeout=30)
    guard_pidfile(settings).unlink(missing_ok=True)


# -- the controller -----------------------------------------------------------------------------

def controller_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "controller.pid"


def control_socket(settings: Settings) -> Path:
    return settings.runtime / "run" / "controller.sock"


def controller_pid(settings: Settings) -> int | None:
    pid = _read_pid(controller_pidfile(settings))
    return pid if _alive(pid) else None


def spawn_controller(settings: Settings) -> int:
    """Start a controller process (no waiting); its pid, also in its pid file."""
    control_socket(settings).unlink(missing_ok=True)
    pid = _spawn([sys.executable, "-m", "hotline.cli", "--runtime", str(settings.runtime),
                  "controller"], settings.logs / "controller.log")
    controller_pidfile(settings).write_text(str(pid))
    return pid


def heartbeat_file(settings: Settings) -> Path:
    return settings.runtime / "run" / "controller.heartbeat"


# -- the supervisor (hotline/supervisor.py) -------------------------------------------------------

SUPERVISOR_STOP_S = 60.0  # it gives its controller 50 s to drain, then SIGKILLs it


def supervisor_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "supervisor.pid"


def supervisor_statefile(settings: Settings) -> Path:
    return settings.runtime / "run" / "supervisor.json"


def supervisor_pid(settings: Settings) -> int | None:
    pid = _read_pid(supervisor_pidfile(settings))
    return pid if _alive(pid) else None


def supervisor_state(settings: Settings) -> dict[str, Any] | None:
    """The running supervisor's account (restarts, last reason, controller pid), or None."""
    pid = supervisor_pid(settings)
    if not pid:
        return None
    try:
        state = json.loads(supervisor_statefile(settings).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("pid") == pid else None


def start_controller(settings: Settings) -> int:
    """Start the controller, under the supervisor unless ``settings.supervised`` is off, and
    wait until it serves; its pid. Idempotent: what already runs is left as it is."""
    if not settings.supervised:
        pid = controller_pid(settings) or spawn_controller(settings)
        supervisor = None
    else:
        supervisor = supervisor_pid(settings)
        if not supervisor:
            supervisor = _spawn([sys.executable, "-m", "hotline.cli", "--runtime",
                                 str(settings.runtime), "supervise"],
                                settings.logs / "supervisor.log")
            supervisor_pidfile(settings).write_text(str(supervisor))

    def ready() -> bool:
        if supervisor is None:
            if not _alive(pid):
                raise StartError(f"the controller exited at start; see "
                                 f"{settings.logs / 'controller.log'}")
        elif not _alive(supervisor):
            raise StartError(f"the supervisor exited at start; see "
                             f"{settings.logs / 'supervisor.log'}")
        elif (supervisor_state(settings) or {}).get("failed_starts", 0):
            stop_controller(settings)  # it would keep trying: a broken menu stays broken
            raise StartError(f"the controller exited at start; see "
                             f"{settings.logs / 'controller.log'}")
        return controller_status(settings) is not None

    _wait(ready, 30, "controller ready")
    return controller_pid(settings) or 0


def stop_controller(settings: Settings, timeout: float = 55) -> None:
    """Stop the supervisor (which stops its controller the clean way), then any controller
    still running (an unsupervised one, or one left by a supervisor that was killed)."""
    _terminate(supervisor_pid(settings), SUPERVISOR_STOP_S)
    supervisor_pidfile(settings).unlink(missing_ok=True)
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


# -- the web desk and API (web/) -----------------------------------------------------------------

def web_pidfile(settings: Settings) -> Path:
    return settings.runtime / "run" / "web.pid"


def web_pid(settings: Settings) -> int | None:
    pid = _read_pid(web_pidfile(settings))
    return pid if _alive(pid) else None


def web_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.web_bind == "0.0.0.0" else settings.web_bind
    return f"http://{host}:{settings.web_port}"


def web_answers(settings: Settings, timeout: float = 1.0) -> bool:
    host = "127.0.0.1" if settings.web_bind == "0.0.0.0" else settings.web_bind
    try:
        with socket.create_connection((host, settings.web_port), timeout=timeout) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\nHost: hotline\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def start_web(settings: Settings) -> int:
    """Start the web process (``hotline web``) and wait until it answers; its pid. Idempotent.
    (A site runs it under systemd, which restarts it: ``asterisk-config/systemd/``.)"""
    pid = web_pid(settings)
    if pid:
        return pid
    pid = _spawn([sys.executable, "-m", "hotline.cli", "--runtime", str(settings.runtime),
                  "web"], settings.logs / "web.log")
    web_pidfile(settings).write_text(str(pid))

    def ready() -> bool:
        if not _alive(pid):
            raise StartError(f"the web desk exited at start; see {settings.logs / 'web.log'}")
        return web_answers(settings)

    _wait(ready, 30, "web desk answering")
    return pid


def stop_web(settings: Settings, timeout: float = 10) -> None:
    _terminate(web_pid(settings), timeout)
    web_pidfile(settings).unlink(missing_ok=True)


def demo_web_passwords(settings: Settings) -> None:
    """Initial passwords for the demo web accounts of the district companies in the records
    (``district-<code>``), generated beside the other secrets (web.accounts)."""
    import secrets

    from sqlalchemy import select

    from records.database import make_engine, make_sessions
    from records.models import DistrictCompany

    engine = make_engine(settings.database_url)
    try:
        with make_sessions(engine)() as session:
            codes = list(session.scalars(select(DistrictCompany.code)))
    finally:
        engine.dispose()
    missing = [f"district-{code.lower()}" for code in codes
               if f"district-{code.lower()}" not in settings.web_passwords]
    for name in missing:
        settings.web_passwords[name] = secrets.token_urlsafe(15)
    if missing:
        settings.save()


# -- the whole instance ---------------------------------------------------------------------------

def up(settings: Settings, *, progress: bool = True, demo: bool = False,
       start: bool = True) -> None:
    """Render the config, build prompts, migrate the database, start everything (idempotent).

    ``demo`` loads demo data: generated customers if the database has none yet, and the named
    demo records (records.demo), which keeps the calls and requests of earlier runs. Without
    ``start`` nothing is started (systemd starts the processes: docs/operations.md).
    """
    from ivr.prompts import build
    from records.database import migrate

    say = print if progress else (lambda *_a, **_k: None)
    pjsip = settings.etc / "pjsip.conf"
    before = pjsip.read_bytes() if pjsip.exists() else b""
    if settings.sip_tls:
        tls.prepare(settings)  # before the config that names its files
    render(settings)
    if settings.sip_guarded:
        render_guard(settings)  # under systemd too (no start): the site's fail2ban runs it
    if start and pjsip.read_bytes() != before and asterisk_pid(settings):
        # a running Asterisk takes new SIP settings (trunk peers, operator networks) at once;
        # registrations and calls in progress stay
        asterisk_cli(settings, "module reload res_pjsip.so", timeout=30)
        say("[hotline] SIP settings reloaded")
    build(PROJECT_ROOT / "prompts" / "catalogue.yaml", settings.sounds,
          settings.runtime / "cache" / "prompts", PROJECT_ROOT / "prompts" / "recorded",
          progress=progress)
    migrate(settings.database_url)
    if demo:
        load_demo_data(settings, progress=progress)
    demo_web_passwords(settings)
    if not start:
        say(f"[hotline] prepared {settings.runtime}: config, prompts, database")
        return
    start_redis(settings)
    say(f"[hotline] redis on 127.0.0.1:{settings.redis_port}")
    start_asterisk(settings)
    say(f"[hotline] {asterisk_version(settings)} on {settings.sip_bind}:{settings.sip_port}")
    if settings.sip_tls:
        certificate = tls.files(settings)
        say(f"[hotline] SIP over TLS on {settings.sip_bind}:{settings.tls_port}, "
            + (f"a self-signed certificate ({certificate.cert})" if certificate.self_signed
               else f"the certificate {settings.tls_cert}"))
    if settings.sip_guarded:
        start_guard(settings)
        say(f"[hotline] SIP guard: {settings.sip_ban_after} failures from one address within "
            f"{settings.sip_ban_window_s} s block it for {settings.sip_ban_for_s} s "
            "(fail2ban, nftables)")
    else:
        stop_guard(settings)
    start_controller(settings)
    say(f"[hotline] controller ready (FastAGI 127.0.0.1:{settings.agi_port})"
        + (", restarted by the supervisor if it dies or hangs" if settings.supervised else ""))
    start_web(settings)
    say(f"[hotline] web desk and API on {web_url(settings)}")


def down(settings: Settings) -> None:
    """Stop the web desk, the controller, Asterisk and Redis: each is tried even when an earlier
    one fails (then the first failure is raised), so nothing is left running behind a failed
    step."""
    failures: list[Exception] = []
    for stop in (stop_web, stop_controller, stop_guard, stop_asterisk, stop_redis):
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
