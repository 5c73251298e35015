"""Where a checkpoint comes from: the chain of training runs behind it (model cards'
``lineage``).

A run records the chain behind its init on its own card when it saves (``init_lineage``),
while every file of that chain is still at hand: a run made on another machine (a lent
GPU, whose init was a file there) then keeps its history when it is exported here.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..zoo import WEIGHTS_DIR, ZOO_SUFFIX

__all__ = ["lineage"]


def lineage(path: Path, card: dict | None = None) -> list[dict]:
    """The chain of training runs behind a checkpoint (each run's init, recursively); a
    shipped zoo file in the chain contributes the lineage on its card. ``card``: the
    checkpoint's own card when the caller has loaded it already."""
    out = []
    while path and Path(path).is_file():
        if str(path).endswith(ZOO_SUFFIX):  # shipped weights: their card holds the rest
            zcard = Path(str(path)[: -len(ZOO_SUFFIX)] + ".json")
            out += json.loads(zcard.read_text()).get("lineage") or [] if zcard.exists() \
                else []
            break
        if card is None:
            card = torch.load(path, map_location="cpu", weights_only=False).get("card") or {}
        tr = card.get("training", {})
        out.append({"run": str(Path(path).parent), "id": card.get("run_id"),
                    "steps": card.get("steps"), "lambda": card.get("lambda"),
                    "wall_s": card.get("wall_s"), "base": (tr.get("config") or {}).get("base")})
        if card.get("init_lineage") is not None:  # recorded when the run saved
            return _unique(out + card["init_lineage"])
        path, card = tr.get("init"), None
    if path and not Path(path).is_file():  # not on this machine: a shipped card knows it
        out += _shipped_tail(str(path))
    return _unique(out)


def _shipped_tail(path: str) -> list[dict]:
    """The lineage from ``path`` on, as a shipped card lists it (a checkpoint the chain
    names but this machine lacks, e.g. the widened init of amgap-ssf's v3 runs)."""
    for card in sorted(WEIGHTS_DIR.glob("*.json")):
        chain = json.loads(card.read_text()).get("lineage") or []
        for i, r in enumerate(chain):
            if r.get("run") in (path, str(Path(path).parent)):
                return chain[i:]
    return []


def _unique(chain: list[dict]) -> list[dict]:
    """The chain without repeated runs: a zoo card read while the zoo file it describes
    was being replaced (a second export of the same runs) listed its runs twice, and a
    run's init that names a zoo file since replaced by that run's own export leads back
    to the run under another folder name (a link). A run is its id (drawn when it starts,
    kept across resumes); runs saved before ids existed are their (steps, λ, wall time)."""
    seen: list[dict] = []
    keys: set[tuple] = set()
    for r in chain:
        key = (r.get("steps"), r.get("lambda"), r.get("wall_s"))
        if r.get("id"):
            key = ("id", r["id"])
        elif r.get("wall_s") is None:  # a conversion step (no training): its name says it
            key = (r.get("run"),)
        if key not in keys:
            keys.add(key)
            seen.append(r)
    return seen
