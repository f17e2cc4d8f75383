"""baresip, a third-party softphone, as an operator: it registers with digest auth (over UDP or
TCP, keeping its TCP connection open as desktop softphones do) and answers every call at once.

Audio: a generated sine wave goes out, what comes in is written to a WAV file; no sound card.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from hotline.sipagent import switch_off

CONFIG = """\
poll_method		epoll
sip_listen		127.0.0.1:0
audio_player		aufile,{folder}/heard.wav
audio_alert		aufile,{folder}/alert.wav
audio_source		ausine,440
ausrc_srate		48000
auplay_srate		48000
ausrc_channels		2
auplay_channels		2
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aufile.so
module_app		account.so
module_app		menu.so
"""


class Baresip:
    def __init__(self, username: str, password: str, host: str, port: int,
                 transport: str = "udp") -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", username + password):
            raise ValueError("account name and password: letters, digits, _ . - only")
        if transport not in ("udp", "tcp"):
            raise ValueError(f"transport is udp or tcp, not {transport!r}")
        self.username, self.password, self.host, self.port = username, password, host, port
        self.transport = transport
        self.folder = Path(tempfile.mkdtemp(prefix=f"baresip-{username}-"))
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        binary = shutil.which("baresip")
        if binary is None:
            raise RuntimeError("baresip is not installed (Debian package baresip-core)")
        (self.folder / "config").write_text(CONFIG.format(folder=self.folder))
        (self.folder / "accounts").write_text(
            f"<sip:{self.username}@{self.host}:{self.port};transport={self.transport}>"
            f";auth_pass={self.password};answermode=auto;regint=300\n")
        (self.folder / "contacts").write_text("")
        with open(self.folder / "baresip.log", "wb") as log:
            self._process = subprocess.Popen([binary, "-f", str(self.folder)], stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while "200 OK" not in self.log():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"baresip did not register: {self.log()[-1500:]}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        path = self.folder / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def established(self) -> list[str]:
        """The remote party of every call this phone answered."""
        return re.findall(r"Call established: (\S+)", self.log())

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            switch_off(self._process)
        shutil.rmtree(self.folder, ignore_errors=True)
