"""Loading models: seeded inits, checkpoints as users have them, shipped zoo weights.

A model is named one of three ways, and the ``.amg`` header records which:

* ``name=NAME, quality=Q``: a shipped zoo entry (``amgap zoo``), or ``ssf2020``
  (CompressAI's weights, read from the torch hub cache only: never downloaded);
* ``checkpoint=PATH`` (``arch=NAME`` unless the file says it): amgap's own format, a
  raw state dict, CompressAI ``examples/train.py`` output or a ``module.``-prefixed one;
* ``name="init:ARCH", quality=SEED``: a seeded random init (untrained; tests, timing).

Architectures come from :mod:`amgap.codecs.registry`; nothing here names one.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .bitstream.syntax import ModelSource
from .codecs.base import FrameCodec
from .codecs.registry import Architecture, get_codec
from .entropy.compressai_internals import CDF_BUFFER, has_tables, is_dynamic_buffer
from .errors import ModelError
from .zoo import default_model_name, zoo_card, zoo_names, zoo_weights

__all__ = ["LoadedModel", "weights_hash", "init_model", "load_checkpoint", "load_zoo",
           "load_model", "resolve_model", "make_codec", "save_checkpoint", "load_base",
           "SOURCE_ZOO", "SOURCE_FILE", "SOURCE_INIT", "split_stream_name"]

SOURCE_ZOO, SOURCE_FILE, SOURCE_INIT = ModelSource.ZOO, ModelSource.CHECKPOINT, ModelSource.INIT
_XZ_MAGIC = b"\xfd7zXZ\x00"


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
    base: LoadedModel | None = None  # models that extend an I/P model (B frames)

    @property
    def architecture(self) -> Architecture:
        return get_codec(self.arch)

    @property
    def stream_name(self) -> str:
        """The header's model-name field: ``ARCH/FILE`` for checkpoints (so that the
        decoder knows the architecture of a raw state dict), the name otherwise."""
        if self.source != SOURCE_FILE:
            return self.name
        name = f"{self.arch}/{self.name}"  # the header field holds 255 bytes
        return name.encode()[:255].decode(errors="ignore")


def split_stream_name(name: str) -> tuple[str | None, str]:
    """Header model name -> (architecture or None, name)."""
    arch, sep, rest = name.partition("/")
    return (arch, rest) if sep else (None, name)


def weights_hash(model: nn.Module) -> bytes:
    """16 bytes identifying every parameter and buffer (entropy tables included) and the
    model's ``coding_conventions()`` where it has them."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        t = v.detach().cpu().contiguous()
        h.update(k.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    conventions = getattr(model, "coding_conventions", None)
    if conventions is not None:  # e.g. flow units: same weights, other frames
        h.update(conventions())
    return h.digest()[:16]


def _finish(model: nn.Module, arch: str, name: str, quality: int, source: int,
            config: dict, card: dict | None = None) -> LoadedModel:
    model.eval()
    base = None
    digest = weights_hash(model)
    # usable only with its base (an I/P model it extends, or the I-frame model an LHBDC
    # config names): identify both
    spec = config.get("base") or get_codec(arch).base_default
    if spec:
        base = load_base(spec, quality)
        digest = hashlib.sha256(base.weights_hash + digest).digest()[:16]
        if hasattr(model, "attach_intra"):
            model.attach_intra(base.model)
    return LoadedModel(model, arch, name, quality, source, digest, config, card, base)


def load_base(spec: str, quality: int) -> LoadedModel:
    if spec.startswith("init:"):
        return init_model(spec[5:], quality)
    if os.path.isfile(spec):
        return load_checkpoint(spec, quality=quality)
    return load_zoo(spec, quality)


def init_model(arch: str, seed: int, config: dict | None = None) -> LoadedModel:
    """A seeded random init of ``arch`` with its entropy tables built (``update()``)."""
    a = get_codec(arch)
    torch.manual_seed(seed)
    config = dict(config or {})
    if a.base_default is not None:
        config.setdefault("base", a.base_default)
    model = a.build(config)
    model.update(force=True)
    return _finish(model, arch, f"init:{arch}", seed, SOURCE_INIT, config)


def save_checkpoint(path: str | os.PathLike, model: nn.Module, arch: str, config: dict,
                    card: dict | None = None) -> None:
    """amgap checkpoint: CompressAI state dict plus the architecture needed to rebuild it."""
    torch.save({"arch": arch, "config": config, "state_dict": model.state_dict(),
                "card": card}, path)


def _read(path: Path):
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file not found")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw.startswith(_XZ_MAGIC):  # shipped zoo files are xz-compressed torch.save data
            raw = lzma.decompress(raw)
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__})") \
            from exc


@dataclass
class _Unpacked:
    state_dict: dict
    arch: str | None
    config: dict | None
    card: dict | None
    layout: str  # amgap | compressai-train | raw


def _unpack(ckpt, path: Path) -> _Unpacked:
    """The state dict (and what the file says about it) of any supported layout."""
    if not isinstance(ckpt, Mapping):
        raise ModelError(f"{path}: not a model checkpoint (a {type(ckpt).__name__})")
    if "arch" in ckpt and "state_dict" in ckpt:
        out = _Unpacked(dict(ckpt["state_dict"]), ckpt["arch"], ckpt.get("config") or {},
                        ckpt.get("card"), "amgap")
    elif isinstance(ckpt.get("state_dict"), Mapping):  # CompressAI examples/train.py
        out = _Unpacked(dict(ckpt["state_dict"]), None, None, None, "compressai-train")
    else:
        out = _Unpacked(dict(ckpt), None, None, None, "raw")
    sd = out.state_dict
    if not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ModelError(f"{path}: no state dict of tensors in this {out.layout} checkpoint")
    for prefix in ("module.", "_orig_mod."):  # DataParallel/DDP, torch.compile
        if all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    out.state_dict = sd
    return out


def _first_mismatch(model: nn.Module, sd: Mapping) -> str | None:
    """One line naming the first key whose presence or shape differs."""
    expected = model.state_dict()
    for k, v in expected.items():
        if is_dynamic_buffer(k):
            continue
        if k not in sd:
            return f"missing key {k} (shape {list(v.shape)})"
        if tuple(sd[k].shape) != tuple(v.shape):
            return (f"{k}: checkpoint shape {list(sd[k].shape)}, architecture shape "
                    f"{list(v.shape)}")
    extra = [k for k in sd if k not in expected]
    return f"unexpected key {extra[0]} (shape {list(sd[extra[0]].shape)})" if extra else None


def _load_weights(model: nn.Module, sd: dict) -> None:
    """Load, rebuilding the entropy tables with ``update()`` when the file lacks them."""
    cdf_keys = [k for k in model.state_dict() if k.endswith("." + CDF_BUFFER)]
    if all(k in sd for k in cdf_keys):
        model.load_state_dict(sd)  # CompressAI's: resizes the table buffers
        if any(not has_tables(m) for m in model.modules() if hasattr(m, "_offset")):
            model.update(force=True)
        return
    kept = {k: v for k, v in sd.items() if not is_dynamic_buffer(k)}
    nn.Module.load_state_dict(model, kept, strict=False)
    model.update(force=True)


def _build_from(a: Architecture, un: _Unpacked, path: Path) -> tuple[nn.Module, dict]:
    config = un.config
    if config is None:
        try:
            config = a.config_from_state_dict(un.state_dict) if a.config_from_state_dict else {}
        except (KeyError, ValueError, IndexError) as exc:
            raise ModelError(f"{path}: weights do not fit architecture {a.name!r} "
                             f"({exc})") from exc
    try:
        model = a.build(dict(config))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad config for architecture {a.name!r} ({exc})") from exc
    # e.g. the authors' released layout; amgap's own files load as saved, entropy tables
    # included (tables rebuilt by update() follow the CPU's float rounding: a stream
    # coded on one machine would not decode on another)
    if a.convert_state_dict is not None and un.layout != "amgap":
        try:
            un.state_dict = a.convert_state_dict(un.state_dict, model)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from exc
    bad = _first_mismatch(model, un.state_dict)
    if bad:
        raise ModelError(f"{path}: weights do not fit architecture {a.name!r}: {bad}")
    try:
        _load_weights(model, un.state_dict)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelError(f"{path}: weights do not fit architecture {a.name!r} "
                         f"({str(exc).splitlines()[0][:160]})") from exc
    return model, dict(config)


def load_checkpoint(path: str | os.PathLike, name: str | None = None, quality: int = 0,
                    source: int = SOURCE_FILE, arch: str | None = None,
                    config: dict | None = None) -> LoadedModel:
    """Load a checkpoint of any supported layout as architecture ``arch`` (the file's own
    for amgap checkpoints; ``ssf2020`` when neither says, for CompressAI's video zoo).
    ``config`` replaces the file's own (a zoo card that corrects a convention)."""
    from compressai.zoo.pretrained import load_pretrained

    path = Path(path)
    un = _unpack(_read(path), path)
    if un.arch and arch and un.arch != arch:
        raise ModelError(f"{path}: holds architecture {un.arch!r}, not {arch!r}")
    a = get_codec(un.arch or arch or "ssf2020")
    if config is not None:
        un.config = dict(config)
    if un.layout != "amgap":
        un.state_dict = load_pretrained(un.state_dict)  # renames CompressAI's old keys
    model, config = _build_from(a, un, path)
    return _finish(model, a.name, name or path.name, quality, source, config, un.card)


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
    """A shipped zoo model (or CompressAI's ``ssf2020`` from the hub cache)."""
    if name == "ssf2020":
        return _hub_ssf2020(quality)
    path = zoo_weights(name, quality)
    if path is None:
        known = zoo_names()
        if name in known:
            raise ModelError(f"zoo model {name!r} has no quality {quality}")
        raise ModelError(f"unknown model {name!r} (zoo: {', '.join(known) or 'empty'}; "
                         "or init:ARCH, ssf2020, --checkpoint PATH)")
    card = zoo_card(path)  # the shipped card is the truth: it may set conventions later
    return load_checkpoint(path, name=name, quality=quality, source=SOURCE_ZOO,
                           config=card.get("config") if card else None)


def load_model(*, name: str | None = None, checkpoint: str | os.PathLike | None = None,
               arch: str | None = None, quality: int = 4) -> LoadedModel:
    """One entry for every way of naming a model (see the module docstring)."""
    if checkpoint:
        return load_checkpoint(checkpoint, quality=quality, arch=arch)
    if name is None and arch is not None:
        raise ModelError(f"architecture {arch!r} alone names no weights: give a checkpoint "
                         f"(--checkpoint PATH) or a seeded untrained init (--model init:{arch})")
    name = name or default_model_name()
    loaded = init_model(name[5:], quality) if name.startswith("init:") else load_zoo(name, quality)
    if arch is not None and loaded.arch != arch:
        raise ModelError(f"model {name!r} is architecture {loaded.arch!r}, not {arch!r}")
    return loaded


def resolve_model(model: str | None, checkpoint: str | None, quality: int,
                  arch: str | None = None) -> LoadedModel:
    """CLI form of :func:`load_model` (``model`` is the ``--model`` value)."""
    return load_model(name=model, checkpoint=checkpoint, arch=arch, quality=quality)


def make_codec(loaded: LoadedModel) -> FrameCodec:
    """The frame codec adapter of a loaded model, from its architecture's registry entry."""
    arch = get_codec(loaded.arch)
    base = None  # an extended I/P model, or the codec of a named I-frame model
    if loaded.base is not None:
        base = loaded.base.model if arch.base_default is not None else make_codec(loaded.base)
    codec = arch.adapter(loaded.model, loaded.name, base)
    if not hasattr(codec, "frame_types"):  # the registry entry says it too
        codec.frame_types = arch.frame_types
    return codec
