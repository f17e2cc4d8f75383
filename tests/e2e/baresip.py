"""baresip, a third-party softphone, as an operator: it registers with digest auth (over UDP,
TCP or TLS, keeping its TCP or TLS connection open as desktop softphones do) and answers every
call at once, with SRTP (SDES) when asked (``srtp=True``: baresip's ``mediaenc=srtp``, which
offers and accepts SRTP and falls back to RTP).

Audio: a generated sine wave goes out; what comes in, once decoded (and decrypted), is written to
a WAV file by baresip's ``sndfile`` filter (``dump-<time>-dec.wav``: baresip 1.0's ``aufile``
cannot play into a file), and :meth:`Baresip.tone_level` measures a tone in it; no sound card. SIP messages are traced into
the phone's log (``-s``: the SDP shows whether the media is encrypted).

baresip 1.0 does not verify the server's certificate (it has no setting for it), so it accepts
the hotline's self-signed one, as a phone told to trust it would.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
import time
import wave
from array import array
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
module			srtp.so
module			sndfile.so
snd_path		{folder}
module_app		account.so
module_app		menu.so
"""


class Baresip:
    def __init__(self, username: str, password: str, host: str, port: int,
                 transport: str = "udp", *, srtp: bool = False,
                 registered: bool = True) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", username + password):
            raise ValueError("account name and password: letters, digits, _ . - only")
        if transport not in ("udp", "tcp", "tls"):
            raise ValueError(f"transport is udp, tcp or tls, not {transport!r}")
        self.username, self.password, self.host, self.port = username, password, host, port
        self.transport, self.srtp = transport, srtp
        self.registered = registered  # False: the phone is expected to be refused
        self.folder = Path(tempfile.mkdtemp(prefix=f"baresip-{username}-"))
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        binary = shutil.which("baresip")
        if binary is None:
            raise RuntimeError("baresip is not installed (Debian package baresip-core)")
        (self.folder / "config").write_text(CONFIG.format(folder=self.folder))
        (self.folder / "accounts").write_text(
            f"<sip:{self.username}@{self.host}:{self.port};transport={self.transport}>"
            f";auth_pass={self.password};answermode=auto;regint=300"
            + (";mediaenc=srtp" if self.srtp else "") + "\n")
        (self.folder / "contacts").write_text("")
        with open(self.folder / "baresip.log", "wb") as log:
            self._process = subprocess.Popen([binary, "-f", str(self.folder), "-s"], stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while (answer := self.registration()) is None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.log()[-1500:]
                self.__exit__()
                raise RuntimeError(f"baresip had no answer to its REGISTER: {log}")
            time.sleep(0.1)
        if (answer == "200 OK") != self.registered:
            log = self.log()[-1500:]
            self.__exit__()
            raise RuntimeError(f"baresip's REGISTER: {answer}: {log}")
        return self

    def registration(self) -> str | None:
        """The hotline's final answer to the phone's REGISTER with its credentials ("200 OK",
        "401 Unauthorized", "403 Forbidden"), None before it."""
        found = re.search(r"\{\d+/(?:UDP|TCP|TLS)/v4\} (200 OK)|^\S*reg: \S+: ([1-6]\d\d [^(\n]*)",
                          self.log(), re.MULTILINE)
        return None if found is None else (found[1] or found[2]).strip()

    def log(self) -> str:
        path = self.folder / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def established(self) -> list[str]:
        """The remote party of every call this phone answered."""
        return re.findall(r"Call established: (\S+)", self.log())

    def sdp_lines(self, kind: str) -> list[str]:
        """The ``m=`` (media) or ``a=crypto`` lines of every SDP the phone sent or received."""
        prefix = "m=audio" if kind == "m" else "a=crypto"
        return [line.strip() for line in self.log().splitlines()
                if line.strip().startswith(prefix)]

    def tone_level(self, hz: float) -> float:
        """The share of what the phone heard that is a tone of ``hz`` (0 to 1; 0 for silence).

        Goertzel over the left channel of the heard WAV: its power at ``hz`` against the power
        of the whole signal."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"))
        if not dumps:
            return 0.0
        with wave.open(str(dumps[-1])) as heard:
            rate, channels = heard.getframerate(), heard.getnchannels()
            samples = array("h", heard.readframes(heard.getnframes()))[::channels]
        total = sum(x * x for x in samples)
        if not samples or not total:
            return 0.0
        coefficient = 2 * math.cos(2 * math.pi * hz / rate)
        previous = before = 0.0
        for x in samples:
            previous, before = x + coefficient * previous - before, previous
        power = previous * previous + before * before - coefficient * previous * before
        return min(1.0, 2 * power / (len(samples) * total))

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            switch_off(self._process)
        shutil.rmtree(self.folder, ignore_errors=True)
