"""The registry of codec architectures: the one door through which amgap meets a codec.

An :class:`Architecture` is a name, a builder from a config dict, a frame adapter
(model -> :class:`~amgap.codecs.base.FrameCodec`), the frame types it codes, and how to
read its config back from a state dict. amgap's own architectures register themselves
in their modules (listed in ``_BUILTIN``); third-party packages declare an entry point in
the group ``amgap.codecs`` whose object is a module that registers on import, a
function called once with no argument, or an :class:`Architecture`.
"""

from __future__ import annotations

import importlib
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata

from torch import nn

from ..errors import ModelError
from .base import FrameCodec, FrameType

__all__ = ["Architecture", "register_codec", "refuse_codec", "get_codec", "codec_names",
           "architectures", "refusals", "load_plugins", "plugin_errors", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "amgap.codecs"
# amgap's own architecture modules: one file per architecture family, one line here
_BUILTIN = ("amgap.codecs.ssf", "amgap.codecs.bflow", "amgap.codecs.compressai_image",
            "amgap.codecs.aivc", "amgap.codecs.lhbdc")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")

Builder = Callable[[dict], nn.Module]
Adapter = Callable[[nn.Module, str, "nn.Module | None"], FrameCodec]
ConfigReader = Callable[[Mapping], dict]
# (state dict as found, freshly built model) -> state dict in the model's own names
StateDictConverter = Callable[[Mapping, nn.Module], dict]


@dataclass(frozen=True)
class Architecture:
    """Everything amgap needs to know about one codec architecture.

    ``adapter(model, name, base)`` builds the frame codec; ``base`` is the loaded I/P
    model for architectures that extend one (``base_default`` set: e.g. a B-frame
    motion VAE); for the others, the frame codec of the model their config names as
    ``base`` (LHBDC's I-frame model), else ``None``. ``config_from_state_dict`` reads
    the constructor config back from weights (as CompressAI's ``from_state_dict`` reads
    N and M);
    ``convert_state_dict`` maps a foreign layout (e.g. the authors' released weights)
    onto the built model's keys before loading, raising ``ModelError`` on a mismatch.
    """

    name: str
    build: Builder
    adapter: Adapter
    frame_types: tuple[FrameType, ...]
    config_from_state_dict: ConfigReader | None = None
    base_default: str | None = None
    description: str = ""
    origin: str = field(default="amgap", compare=False)
    convert_state_dict: StateDictConverter | None = field(default=None, compare=False)

    @property
    def intra_only(self) -> bool:
        return tuple(self.frame_types) == (FrameType.I,)

    def to_json(self) -> dict:
        return {"name": self.name, "frame_types": [t.name for t in self.frame_types],
                "extends_base": self.base_default, "description": self.description,
                "origin": self.origin}


_ARCHS: dict[str, Architecture] = {}
_REFUSED: dict[str, str] = {}
_PLUGIN_ERRORS: list[str] = []
_loaded = {"builtin": False, "plugins": False}


def _add(arch: Architecture, replace: bool) -> Architecture:
    if not _NAME.match(arch.name):
        raise ValueError(f"bad architecture name {arch.name!r} (letters, digits, . _ + -)")
    if arch.name in _ARCHS and not replace and _ARCHS[arch.name] != arch:
        raise ValueError(f"architecture {arch.name!r} is already registered "
                         f"(by {_ARCHS[arch.name].origin}); pass replace=True to override")
    if not arch.frame_types or FrameType.I not in arch.frame_types:
        raise ValueError(f"architecture {arch.name!r} must code I frames")
    _ARCHS[arch.name] = arch
    _REFUSED.pop(arch.name, None)
    return arch


def register_codec(name: str | Architecture, build: Builder | None = None, *,
                   adapter: Adapter | None = None,
                   frame_types: tuple[FrameType, ...] = (FrameType.I,),
                   config_from_state_dict: ConfigReader | None = None,
                   base_default: str | None = None, description: str = "",
                   origin: str | None = None, replace: bool = False,
                   convert_state_dict: StateDictConverter | None = None):
    """Register an architecture: ``register_codec(Architecture(...))``,
    ``register_codec("name", build, adapter=...)``, or as a decorator on the builder:
    ``@register_codec("name", adapter=...)``."""
    if isinstance(name, Architecture):
        return _add(name, replace)
    if adapter is None:
        raise ValueError(f"architecture {name!r}: an adapter is required")

    def deco(fn: Builder) -> Builder:
        _add(Architecture(name, fn, adapter, tuple(frame_types), config_from_state_dict,
                          base_default, description or (fn.__doc__ or "").strip().split("\n")[0],
                          origin or getattr(fn, "__module__", "?"), convert_state_dict), replace)
        return fn

    if build is not None:
        deco(build)
        return _ARCHS[name]
    return deco


def refuse_codec(name: str, reason: str) -> None:
    """Name an architecture amgap knows and cannot code, with the one-line reason."""
    if name not in _ARCHS:
        _REFUSED[name] = reason


def _ensure() -> None:
    if not _loaded["builtin"]:
        _loaded["builtin"] = True
        for mod in _BUILTIN:
            importlib.import_module(mod)
    load_plugins()


def load_plugins(force: bool = False) -> list[str]:
    """Load the ``amgap.codecs`` entry points (once, or again with ``force``).

    A plug-in that fails to load is reported in :func:`plugin_errors`, never fatal."""
    if _loaded["plugins"] and not force:
        return []
    _loaded["plugins"] = True
    loaded = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, Architecture):
                _add(obj, replace=True)
            elif callable(obj) and not isinstance(obj, types.ModuleType):
                obj()
            loaded.append(ep.name)
        except Exception as exc:  # a broken plug-in must not break amgap
            msg = f"plug-in {ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}"
            if msg not in _PLUGIN_ERRORS:
                _PLUGIN_ERRORS.append(msg.splitlines()[0][:200])
    return loaded


def plugin_errors() -> list[str]:
    return list(_PLUGIN_ERRORS)


def get_codec(name: str) -> Architecture:
    """The registered architecture ``name``; one-line :class:`ModelError` otherwise."""
    _ensure()
    if name in _ARCHS:
        return _ARCHS[name]
    if name in _REFUSED:
        raise ModelError(f"architecture {name!r} is not supported: {_REFUSED[name]}")
    hint = f"; plug-in errors: {_PLUGIN_ERRORS[0]}" if _PLUGIN_ERRORS else ""
    raise ModelError(f"unknown architecture {name!r} (known: {', '.join(codec_names())}){hint}")


def codec_names() -> list[str]:
    _ensure()
    return sorted(_ARCHS)


def architectures() -> list[Architecture]:
    _ensure()
    return [_ARCHS[n] for n in sorted(_ARCHS)]


def refusals() -> dict[str, str]:
    _ensure()
    return dict(sorted(_REFUSED.items()))
