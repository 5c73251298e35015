"""The decoder as a fuzz target: any input must end in success or one AmgapError."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from ..errors import AmgapError
from .container import parse
from .fuzz import mutate

__all__ = ["FuzzReport", "fuzz"]


@dataclass
class FuzzReport:
    cases: int = 0
    decoded: int = 0
    refused: int = 0
    crashes: list[str] = field(default_factory=list)  # unexpected exception types
    slowest_s: float = 0.0
    by_mutation: dict[str, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)


def _decode(data: bytes, loaded) -> None:
    from ..coding import decode_video

    header, records = parse(data)
    decode_video(header, records, loaded)


def fuzz(seed_stream: bytes, loaded, cases: int, seed: int = 0,
         slow_s: float = 10.0) -> FuzzReport:
    rng = random.Random(seed)
    rep = FuzzReport()
    for _ in range(cases):
        name, data = mutate(seed_stream, rng)
        rep.cases += 1
        rep.by_mutation[name] = rep.by_mutation.get(name, 0) + 1
        t = time.perf_counter()
        try:
            _decode(data, loaded)
            rep.decoded += 1
        except AmgapError as exc:
            rep.refused += 1
            msg = str(exc)
            if "\n" in msg or not msg:
                rep.crashes.append(f"{name}: multi-line or empty message {msg!r}")
            key = msg.split(":")[0][:40]
            rep.messages[key] = rep.messages.get(key, 0) + 1
        except Exception as exc:  # noqa: BLE001 - the point is to find these
            rep.crashes.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        dt = time.perf_counter() - t
        rep.slowest_s = max(rep.slowest_s, dt)
        if dt > slow_s:
            rep.crashes.append(f"{name}: took {dt:.1f} s")
    return rep
