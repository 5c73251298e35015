"""The shipped zoo: names and qualities of the weights that ship with amgap.

``weights/NAME-qQ.pth.xz`` (xz-compressed amgap checkpoints) with their model cards
``weights/NAME-qQ.json`` (training logs: ``training-logs/`` at the repository root).
This module only lists them: loading is :mod:`amgap.models`, architectures are
:mod:`amgap.codecs.registry`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

__all__ = ["WEIGHTS_DIR", "ZOO_SUFFIX", "DEFAULT_MODEL", "zoo_entries", "zoo_names",
           "zoo_weights", "zoo_card", "default_model_name", "half_parameters"]

ZOO_SUFFIX = ".pth.xz"
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "amgap-ssf"


def zoo_entries() -> list[dict]:
    """Model cards of the shipped zoo (``weights/NAME-qQ.json`` beside ``NAME-qQ.pth.xz``)."""
    out = []
    if WEIGHTS_DIR.is_dir():
        for card_path in sorted(WEIGHTS_DIR.glob("*.json")):
            weights = card_path.with_name(card_path.stem + ZOO_SUFFIX)
            if not weights.is_file():
                continue
            with open(card_path) as fh:
                card = json.load(fh)
            card["file"] = weights.name
            card["size_bytes"] = weights.stat().st_size
            out.append(card)
    return out


def zoo_names() -> list[str]:
    return sorted({e.get("name", "?") for e in zoo_entries()})


def zoo_weights(name: str, quality: int) -> Path | None:
    """The weight file of zoo model ``name`` at ``quality``, or None."""
    path = WEIGHTS_DIR / f"{name}-q{quality}{ZOO_SUFFIX}"
    return path if path.is_file() and "/" not in name else None


def zoo_card(weights: Path) -> dict | None:
    """The model card (JSON) shipped beside a weight file, if any."""
    card = weights.with_name(weights.name.removesuffix(ZOO_SUFFIX) + ".json")
    return json.loads(card.read_text()) if card.is_file() else None


def default_model_name() -> str:
    """The shipped zoo model when present; a seeded untrained init otherwise."""
    if DEFAULT_MODEL in zoo_names():
        return DEFAULT_MODEL
    return "init:ssf-slim"


def half_parameters(state_dict: Mapping[str, torch.Tensor], parameters: Iterable[str]
                    ) -> dict[str, torch.Tensor]:
    """The zoo's storage rule, for every script that writes zoo weights: the model's
    parameters as float16 (lossless once they were rounded through float16), buffers
    as they are (a likelihood bound of 1e-9 is zero in float16; scale tables, GDN
    pedestals and the integer entropy tables are the model's own)."""
    names = set(parameters)
    return {k: v.half() if k in names and v.is_floating_point() else v
            for k, v in state_dict.items()}
