"""Models: architectures, checkpoints, the shipped zoo and seeded random inits.

A model is named one of three ways, and the ``.amg`` header records which:

* ``--model NAME --quality Q``: a shipped zoo entry (``amgap zoo`` lists them), or
  ``ssf2020`` (CompressAI's weights, read from the torch hub cache only: never downloaded);
* ``--checkpoint PATH``: an amgap or CompressAI checkpoint file;
* ``--model init:ARCH --quality SEED``: a seeded random init with ``update()`` applied
  (untrained; for tests and for timing).
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from compressai.models.video.google import ScaleSpaceFlow
from compressai.zoo.pretrained import load_pretrained
from torch import nn

from ..codecs.bflow import BiFlowConfig, BiFlowMotion
from ..codecs.ssf import SlimConfig, SlimScaleSpaceFlow, SSFCodec
from ..errors import ModelError

__all__ = ["LoadedModel", "ARCHS", "weights_hash", "init_model", "load_checkpoint",
           "load_zoo", "resolve_model", "zoo_entries", "make_codec", "save_checkpoint",
           "SOURCE_ZOO", "SOURCE_FILE", "SOURCE_INIT", "WEIGHTS_DIR", "ZOO_SUFFIX",
           "B_ARCHS", "load_base"]

SOURCE_ZOO, SOURCE_FILE, SOURCE_INIT = 0, 1, 2
_XZ_MAGIC = b"\xfd7zXZ\x00"
ZOO_SUFFIX = ".pth.xz"
WEIGHTS_DIR = Path(__file__).parent / "weights"


def _build_slim(config: dict) -> nn.Module:
    return SlimScaleSpaceFlow(SlimConfig(**config))


def _build_full(config: dict) -> nn.Module:
    return ScaleSpaceFlow(**config)


def _build_bflow(config: dict) -> nn.Module:
    return BiFlowMotion(BiFlowConfig(**config))


ARCHS = {"ssf-slim": _build_slim, "ssf2020": _build_full, "bflow-slim": _build_bflow}
B_ARCHS = {"bflow-slim"}


@dataclass
class LoadedModel:
    model: nn.Module
    arch: str
    name: str  # zoo name, checkpoint file name, or init:ARCH
    quality: int
    source: int
    weights_hash: bytes
    config: dict = field(default_factory=dict)
    card: dict | None = None
    base: LoadedModel | None = None  # B-frame models: the I/P model they extend


def weights_hash(model: nn.Module) -> bytes:
    """16 bytes identifying every parameter and buffer (entropy tables included)."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        t = v.detach().cpu().contiguous()
        h.update(k.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.digest()[:16]


def _finish(model: nn.Module, arch: str, name: str, quality: int, source: int,
            config: dict, card: dict | None = None) -> LoadedModel:
    model.eval()
    base = None
    digest = weights_hash(model)
    if arch in B_ARCHS:  # a B model is only usable with its I/P base: identify both
        base = load_base(config.get("base", "init:ssf-slim"), quality)
        digest = hashlib.sha256(base.weights_hash + digest).digest()[:16]
    return LoadedModel(model, arch, name, quality, source, digest, config, card, base)


def load_base(spec: str, quality: int) -> LoadedModel:
    if spec.startswith("init:"):
        return init_model(spec[5:], quality)
    if os.path.isfile(spec):
        return load_checkpoint(spec, quality=quality)
    return load_zoo(spec, quality)


def init_model(arch: str, seed: int, config: dict | None = None) -> LoadedModel:
    if arch not in ARCHS:
        raise ModelError(f"unknown architecture {arch!r} (known: {', '.join(sorted(ARCHS))})")
    torch.manual_seed(seed)
    config = dict(config or {})
    if arch in B_ARCHS:
        config.setdefault("base", "init:ssf-slim")
    model = ARCHS[arch](config)
    model.update(force=True)
    return _finish(model, arch, f"init:{arch}", seed, SOURCE_INIT, config)


def save_checkpoint(path: str | os.PathLike, model: nn.Module, arch: str, config: dict,
                    card: dict | None = None) -> None:
    """amgap checkpoint: CompressAI state dict plus the architecture needed to rebuild it."""
    torch.save({"arch": arch, "config": config, "state_dict": model.state_dict(),
                "card": card}, path)


def load_checkpoint(path: str | os.PathLike, name: str | None = None, quality: int = 0,
                    source: int = SOURCE_FILE) -> LoadedModel:
    """Load an amgap checkpoint, or a CompressAI ``ssf2020`` state dict (raw or wrapped)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file not found")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw.startswith(_XZ_MAGIC):  # shipped zoo files are xz-compressed torch.save data
            raw = lzma.decompress(raw)
        ckpt = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__})") \
            from exc
    if isinstance(ckpt, dict) and "arch" in ckpt and "state_dict" in ckpt:
        arch, config, sd, card = ckpt["arch"], ckpt.get("config") or {}, ckpt["state_dict"], \
            ckpt.get("card")
    elif isinstance(ckpt, dict):
        sd = ckpt.get("state_dict", ckpt)
        arch, config, card = "ssf2020", {}, None
        sd = load_pretrained(sd)
    else:
        raise ModelError(f"{path}: not a model checkpoint")
    if arch not in ARCHS:
        raise ModelError(f"{path}: unknown architecture {arch!r}")
    try:
        model = ARCHS[arch](config)
        model.load_state_dict(sd)
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: weights do not fit architecture {arch!r} "
                         f"({str(exc).splitlines()[0][:160]})") from exc
    if any(m._offset.numel() == 0 for m in model.modules() if hasattr(m, "_offset")):
        model.update(force=True)
    return _finish(model, arch, name or path.name, quality, source, config, card)


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


def _hub_ssf2020(quality: int) -> LoadedModel:
    from compressai.zoo.video import model_urls

    url = model_urls["ssf2020"]["mse"].get(quality)
    if url is None:
        raise ModelError(f"ssf2020 has qualities 1..9, not {quality}")
    fname = url.rsplit("/", 1)[-1]
    path = Path(torch.hub.get_dir()) / "checkpoints" / fname
    if not path.is_file():
        raise ModelError(f"ssf2020 quality {quality}: weights not found; amgap never downloads: "
                         f"put {fname} in {path.parent} or pass --checkpoint PATH")
    return load_checkpoint(path, name="ssf2020", quality=quality, source=SOURCE_ZOO)


def load_zoo(name: str, quality: int) -> LoadedModel:
    if name == "ssf2020":
        return _hub_ssf2020(quality)
    path = WEIGHTS_DIR / f"{name}-q{quality}{ZOO_SUFFIX}"
    if not path.is_file():
        known = sorted({e.get("name", "?") for e in zoo_entries()})
        if any(e.get("name") == name for e in zoo_entries()):
            raise ModelError(f"zoo model {name!r} has no quality {quality}")
        raise ModelError(f"unknown model {name!r} (zoo: {', '.join(known) or 'empty'}; "
                         "or init:ARCH, ssf2020, --checkpoint PATH)")
    return load_checkpoint(path, name=name, quality=quality, source=SOURCE_ZOO)


DEFAULT_MODEL = "amgap-ssf"


def default_model_name() -> str:
    """The shipped zoo model when present; a seeded untrained init otherwise."""
    if any(e.get("name") == DEFAULT_MODEL for e in zoo_entries()):
        return DEFAULT_MODEL
    return "init:ssf-slim"


def resolve_model(model: str | None, checkpoint: str | None, quality: int) -> LoadedModel:
    if checkpoint:
        return load_checkpoint(checkpoint, quality=quality)
    name = model or default_model_name()
    if name.startswith("init:"):
        return init_model(name[5:], quality)
    return load_zoo(name, quality)


def make_codec(loaded: LoadedModel):
    """The frame codec adapter for a loaded model."""
    if loaded.arch in ("ssf-slim", "ssf2020"):
        return SSFCodec(loaded.model, name=loaded.name)
    if loaded.arch in B_ARCHS:
        return SSFCodec(loaded.base.model, name=loaded.name, bmodel=loaded.model)
    raise ModelError(f"no codec adapter for architecture {loaded.arch!r}")
