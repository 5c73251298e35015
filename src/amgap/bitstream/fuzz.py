"""Mutations of ``.amg`` streams for fuzzing the decoder (tests and ``scripts/fuzz_amg.py``).

Raw mutations (truncation, bit flips, byte runs) mostly stop at a CRC; structural ones
re-pack the parsed stream with valid CRCs so that they reach the deeper checks: huge or
inconsistent header fields, wrong frame order, corrupt entropy-coded data and random
reparameterization payloads.
"""

from __future__ import annotations

import copy
import random
import struct

from .container import FrameRecord, Header, StreamRecord, pack, parse
from .syntax import ReparamMode

__all__ = ["mutate", "MUTATIONS"]


def _raw_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _raw_flip(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _raw_run(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    i = rng.randrange(len(b))
    n = rng.randint(1, 64)
    b[i:i + n] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * n
    return bytes(b)


def _header_field(h: Header, frames: list[FrameRecord], rng: random.Random):
    field = rng.choice(["width", "height", "num_frames", "gop_size", "gop_structure",
                        "quality", "fps_num", "reparam_mode", "model_source"])
    big = {"width": 0xFFFF, "height": 0xFFFF, "num_frames": 0xFFFFFFFF, "gop_size": 0xFFFF,
           "gop_structure": 255, "quality": 255, "fps_num": 0, "reparam_mode": 255,
           "model_source": 255}
    value = rng.choice([0, 1, big[field], rng.randrange(big[field] + 1),
                        getattr(h, field) + rng.choice((-1, 1))])
    setattr(h, field, max(0, min(value, big[field])))
    return h, frames


def _frame_order(h, frames, rng):
    if len(frames) > 1:
        i, j = rng.sample(range(len(frames)), 2)
        frames[i], frames[j] = frames[j], frames[i]
    return h, frames


def _frame_fields(h, frames, rng):
    f = rng.choice(frames)
    what = rng.choice(["type", "index", "drop_stream", "dup_stream", "kind", "checksum"])
    if what == "type":
        f.frame_type = rng.randrange(3)
    elif what == "index":
        f.display_index = rng.choice([0, f.display_index + 1, 0xFFFFFFFF])
    elif what == "drop_stream" and f.streams:
        f.streams.pop(rng.randrange(len(f.streams)))
    elif what == "dup_stream" and f.streams:
        f.streams.append(copy.copy(rng.choice(f.streams)))
    elif what == "kind" and f.streams:
        rng.choice(f.streams).kind = rng.randrange(4)
    else:
        f.recon_checksum = bytes(rng.randrange(256) for _ in range(8))
    return h, frames


def _stream_data(h, frames, rng):
    s = rng.choice([s for f in frames for s in f.streams] or [StreamRecord(0, b"")])
    choice = rng.randrange(4)
    if choice == 0 and s.data:
        b = bytearray(s.data)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        s.data = bytes(b)
    elif choice == 1:
        s.data = s.data[: rng.randrange(len(s.data) + 1)]
    elif choice == 2:
        s.data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
    else:
        s.data = s.data + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    return h, frames


def _stream_params(h, frames, rng):
    s = rng.choice([s for f in frames for s in f.streams] or [StreamRecord(0, b"")])
    n = rng.randrange(0, 40)
    s.params = bytes(rng.randrange(256) for _ in range(n))
    if rng.random() < 0.5:
        h.reparam_mode = rng.randrange(len(ReparamMode))
    return h, frames


def _plan_params(h, frames, rng):
    """A syntactically valid random reparameterization payload (reuse, adaptation of some
    or all tables, new codes, stream-wide families) for one stream: reaches the decoder's
    table building."""
    from ..entropy.syntax import (
        COARSE_BITS,
        CODE_BITS,
        Choice,
        Ctx,
        StreamPlan,
        TableChoice,
        family_ncodes,
        write_plan,
    )

    seen: set = set()
    cands = []
    for f in frames:
        if f.frame_type == 0:
            seen = set()
        for s in f.streams:
            cands.append((s, f.frame_type, (s.kind, f.frame_type) in seen))
            seen.add((s.kind, f.frame_type))
    if not cands:
        return h, frames
    s, ftype, history = rng.choice(cands)
    main, inter = s.kind in (1, 3), ftype != 0
    family = rng.choice([0, 1, 2, 3] if main else [0, 1, 2])
    if family == 1 or (main and family == 3):
        plan = StreamPlan(family, wide_codes=tuple(rng.randrange(1024) for _ in range(
            family_ncodes(main, family))))
    else:
        k = rng.randint(1, 4) if not main and family == 0 else 1
        top = 1 << (COARSE_BITS if not main and family == 2 else CODE_BITS)
        adapt = history and rng.random() < 0.7
        choices = [Choice.LEARNED, Choice.NEW] + [Choice.REUSE] * inter + \
            [Choice.ADAPT] * adapt
        tables = []
        for _ in range(rng.randint(1, 8)):
            c = rng.choice(choices)
            codes = tuple(rng.randrange(top) for _ in range(family_ncodes(main, family, k))) \
                if c == Choice.NEW else ()
            tables.append(TableChoice(c, codes))
        every = adapt and rng.random() < 0.3  # adapt_all: no per-table fields
        plan = StreamPlan(family, k, adapt=adapt, prior=rng.randrange(4) if adapt else 0,
                          adapt_all=every, tables=() if every else tuple(tables))
    s.params = write_plan(plan, Ctx(main, inter, history, 256)).to_bytes()
    h.reparam_mode = rng.randrange(1, len(ReparamMode))
    return h, frames


MUTATIONS = {
    "truncate": _raw_truncate, "flip": _raw_flip, "run": _raw_run,
    "header": _header_field, "order": _frame_order, "frame": _frame_fields,
    "data": _stream_data, "params": _stream_params, "plan": _plan_params,
}


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of a valid stream: (mutation name, new bytes)."""
    name = rng.choice(list(MUTATIONS))
    fn = MUTATIONS[name]
    if name in ("truncate", "flip", "run"):
        return name, fn(data, rng)
    h, frames = parse(data)
    h, frames = fn(copy.deepcopy(h), copy.deepcopy(frames), rng)
    try:
        return name, pack(h, frames)
    except (ValueError, OverflowError, struct.error):  # out-of-range field: mutate raw
        return name, _raw_flip(data, rng)
