"""Test audio for speech input: Korean words spoken by espeak-ng (offline), silence and noise from
sox, as 8 kHz mono 16-bit WAV (what Asterisk records) and as raw mu-law (what SIPp sends).

espeak-ng's Korean is poorly recognised in general, but within a two-phrase grammar the Vosk
Korean model tells "아니요" (no) from "네" (yes) every time (../shared/RIG.md lists the words);
"요금" (fee) is heard as the unknown word, outside that grammar.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

YES, NO, OUTSIDE = "네", "아니요", "요금"


def spoken(text: str, folder: Path, name: str, *, voice: str = "ko", pad_s: float = 0.3) -> Path:
    """``text`` spoken by espeak-ng, normalised, with ``pad_s`` of silence around it."""
    raw = folder / f"{name}-22k.wav"
    out = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True,
                   capture_output=True, timeout=30)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    str(out), "norm", "-3", "pad", str(pad_s), str(pad_s)], check=True,
                   capture_output=True, timeout=30)
    raw.unlink()
    return out


def generated(folder: Path, name: str, seconds: float, *effect: str) -> Path:
    """sox-made audio: ``generated(f, "noise", 2, "synth", "2", "whitenoise", "vol", "0.3")``;
    no effect is silence."""
    out = folder / f"{name}.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    str(out), *(effect or ("trim", "0", str(seconds)))], check=True,
                   capture_output=True, timeout=30)
    return out


def repeated(wav: Path, times: int, gap_s: float) -> Path:
    """``wav`` said ``times`` times with ``gap_s`` of silence between: a caller saying it again
    (whatever part comes after the question is heard; repeats of a phrase count once)."""
    out = wav.with_name(f"{wav.stem}-x{times}.wav")
    gap = wav.with_name(f"{wav.stem}-gap.wav")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    str(gap), "trim", "0", str(gap_s)], check=True, capture_output=True,
                   timeout=30)
    parts = [str(wav), str(gap)] * (times - 1) + [str(wav)]
    subprocess.run(["sox", *parts, str(out)], check=True, capture_output=True, timeout=30)
    return out


def ulaw(wav: Path) -> Path:
    """The same audio as raw 8 kHz mu-law, for SIPp's rtp_stream."""
    out = wav.with_suffix(".ulaw")
    subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-e", "mu-law", "-t", "raw",
                    str(out)], check=True, capture_output=True, timeout=30)
    return out
