"""Frame types and the interface between a codec and the entropy stage.

A codec turns a frame into :class:`~amgap.entropy.InfoStream` objects (encoder) and
rebuilds it from symbols handed over by a :class:`SymbolReader` (decoder). It never
calls the rANS coder, which is what lets reparameterization swap tables per frame
without any change to codec code.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from ..bitstream.syntax import FrameType
from ..entropy import InfoKind, InfoStream, TableSet

__all__ = ["FrameType", "SymbolReader", "FrameCodec", "EncodedFrame"]


class SymbolReader(Protocol):
    """Decoder side of the seam: give me the symbols of ``kind`` coded with these tables."""

    def __call__(self, kind: InfoKind, table_index: np.ndarray, tables: TableSet) -> np.ndarray:
        ...


EncodedFrame = tuple[torch.Tensor, list[InfoStream]]


class FrameCodec(Protocol):
    """What a GOP driver needs from a codec (frames are padded ``[1, 3, H, W]``)."""

    name: str
    pad_multiple: int
    frame_types: tuple[FrameType, ...]  # what encode_frame/decode_frame accept
    probe: list | None  # set by the driver: collects (info, (y - mu) / sigma) when a list

    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame: ...

    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor: ...
