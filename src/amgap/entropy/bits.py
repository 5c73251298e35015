"""MSB-first bit packing for the reparameterization payloads."""

from __future__ import annotations

from ..errors import BitstreamError

__all__ = ["BitWriter", "BitReader"]


class BitWriter:
    def __init__(self) -> None:
        self._bits: list[int] = []

    def write(self, value: int, nbits: int) -> None:
        if not 0 <= value < (1 << nbits):
            raise ValueError(f"{value} does not fit in {nbits} bits")
        self._bits.extend((value >> (nbits - 1 - i)) & 1 for i in range(nbits))

    def extend(self, bits: list[int]) -> None:
        """Bits written before (e.g. by another writer), appended as they are."""
        self._bits.extend(bits)

    def bits(self) -> list[int]:
        return list(self._bits)

    def __len__(self) -> int:
        return len(self._bits)

    def to_bytes(self) -> bytes:
        bits = self._bits + [0] * (-len(self._bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


class BitReader:
    def __init__(self, data: bytes, where: str = "parameters"):
        self._data = data
        self._pos = 0
        self._where = where

    def read(self, nbits: int) -> int:
        if self._pos + nbits > 8 * len(self._data):
            raise BitstreamError(f"{self._where}: truncated reparameterization payload")
        v = 0
        for _ in range(nbits):
            byte = self._data[self._pos >> 3]
            v = (v << 1) | ((byte >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return v

    def check_end(self) -> None:
        """Only zero padding (< 8 bits) may remain."""
        rest = 8 * len(self._data) - self._pos
        if rest >= 8 or (rest and self.read(rest) != 0):
            raise BitstreamError(f"{self._where}: unexpected bits after the payload")
