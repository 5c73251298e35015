"""Every id and field of the ``.amg`` container syntax, in one place.

The container's writer and parser (:mod:`.container`), the encoder and decoder, the CLI
(its choices and ``info`` output) and the docs check (``tests/test_syntax.py`` reads
``docs/bitstream.md`` against these tables) all read this module, so an id or a field
width has exactly one home. The reparameterization payload inside a stream record has
its own declarative table (:mod:`amgap.entropy.syntax`). Imports nothing of amgap.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

__all__ = ["GopId", "ModelSource", "ReparamMode", "StreamKind", "FrameType", "Field",
           "HEADER_FIELDS", "HEADER_STRUCT", "RECORD_FIELDS", "FRAME_FIELDS", "STREAM_FIELDS",
           "UVAR", "UVAR_MAX_BYTES", "names", "from_name", "EVAL_MODES"]


class _Named(IntEnum):
    """An id whose user-facing name is the lower-case member name (``-`` for ``_``)."""

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class GopId(_Named):
    """``gop_structure``: the GOP plan the decoder derives (``docs/gop.md``)."""

    SSF = 0  # I P P ... P
    LHBDC = 1  # I + hierarchical B, I at both ends
    AIVC = 2  # I, P at the end, hierarchical B between
    INTRA = 3  # every frame I (image codecs)


class ModelSource(_Named):
    """``model_source``: where the decoder finds the model."""

    ZOO = 0  # model_name + quality
    CHECKPOINT = 1  # a file the decoder is given (--checkpoint)
    INIT = 2  # seeded untrained init, quality = seed


class ReparamMode(_Named):
    """``reparam_mode``: how the encoder chose its tables (the decoder only needs
    "not off" to accept payloads)."""

    OFF = 0
    PAPER = 1
    OPTIMAL = 2
    THOROUGH = 3  # optimal's candidates plus the per-table shortest path (slower)


# what ``amgap evaluate`` / ``amgap.evaluate`` compare unless told (thorough: slower, and
# it differs from optimal by bytes)
EVAL_MODES = ("off", "paper", "optimal")


class StreamKind(_Named):
    """``stream.kind``: the information type of one rANS string (Table I's columns)."""

    MOTION_SIDE = 0
    MOTION_MAIN = 1
    RESIDUAL_SIDE = 2
    RESIDUAL_MAIN = 3


class FrameType(_Named):
    """``frame_type`` of a frame record (``codecs.FrameType`` is this enum)."""

    I = 0  # noqa: E741 - the frame type's name
    P = 1
    B = 2


def names(ids: type[_Named]) -> list[str]:
    """User-facing names of an id enum, in id order (CLI choices, docs)."""
    return [m.label for m in ids]


def from_name(ids: type[_Named], name: str) -> _Named:
    """The id of a user-facing name; ``ValueError`` naming the choices otherwise."""
    for m in ids:
        if m.label == name:
            return m
    raise ValueError(f"unknown {ids.__name__} {name!r} (one of {', '.join(names(ids))})")


@dataclass(frozen=True)
class Field:
    """One field: its name in ``Header``/docs, ``struct`` code (``V``: a ``uvar``), docs
    type."""

    name: str
    code: str
    doc_type: str


# uvar: an unsigned integer < 2^32 in 1..5 bytes, 7 bits per byte, least significant
# group first, high bit set on every byte but the last; the shortest form only. Lengths
# and indices are uvars: at QCIF, u32 lengths were 4 % of a file.
UVAR = "V"
UVAR_MAX_BYTES = 5


# header_body, after which come model_name_length (u8) and model_name (UTF-8)
HEADER_FIELDS: tuple[Field, ...] = (
    Field("width", "H", "u16"), Field("height", "H", "u16"),
    Field("num_frames", "I", "u32"),
    Field("fps_num", "I", "u32"), Field("fps_den", "I", "u32"),
    Field("gop_structure", "B", "u8"), Field("gop_size", "H", "u16"),
    Field("model_source", "B", "u8"), Field("quality", "B", "u8"),
    Field("weights_hash", "16s", "16 bytes"),
    Field("precision", "B", "u8"), Field("bypass_precision", "B", "u8"),
    Field("reparam_mode", "B", "u8"),
)
HEADER_STRUCT = struct.Struct(">" + "".join(f.code for f in HEADER_FIELDS))

# frame record: record_length, the record_body, then record_crc
RECORD_FIELDS: tuple[Field, ...] = (
    Field("record_length", UVAR, "uvar"), Field("record_crc", "I", "u32"),
)
# record_body: these, then num_streams stream entries
FRAME_FIELDS: tuple[Field, ...] = (
    Field("frame_type", "B", "u8"), Field("display_index", UVAR, "uvar"),
    Field("recon_checksum", "8s", "8 bytes"), Field("num_streams", "B", "u8"),
)
# stream: kind and params_length, the params, then data_length and the rANS data
STREAM_FIELDS: tuple[Field, ...] = (
    Field("kind", "B", "u8"), Field("params_length", UVAR, "uvar"),
    Field("data_length", UVAR, "uvar"),
)
