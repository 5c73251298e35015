"""The ``.amg`` container: the only module that packs or parses bytes.

The syntax is specified in ``docs/bitstream.md``; this module implements it. Every
length and dimension is checked against fixed limits and against the bytes that are
actually left before anything is allocated.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

from .._fs import atomic_write
from ..errors import BitstreamError
from .syntax import (
    FRAME_FIELDS,
    HEADER_FIELDS,
    HEADER_STRUCT,
    RECORD_FIELDS,
    STREAM_FIELDS,
    UVAR,
    UVAR_MAX_BYTES,
    FrameType,
    StreamKind,
)

__all__ = ["MAGIC", "VERSION", "Header", "StreamRecord", "FrameRecord", "pack", "pack_header",
           "pack_frame", "parse",
           "write_file", "read_file", "LIMITS", "header_problem"]

MAGIC = b"\x8bAMG\r\n\x1a\n"
# 5: reparameterization state resets at random-access I frames only, integer adapted rows;
# 4: adapt_all; 3: uvar lengths and indices; 2: reparameterization syntax v2
VERSION = 5

LIMITS = {
    "dimension": 16384,
    "frames": 1_000_000,
    "gop_size": 1024,
    "streams": 8,
    "record_bytes": 256 * 1024 * 1024,
    "header_bytes": 4096,
}

_HEADER = HEADER_STRUCT  # fixed part of the header body (syntax.HEADER_FIELDS)


def uvar(value: int) -> bytes:
    """``value`` as a ``uvar`` (``syntax.UVAR``)."""
    if not 0 <= value < 1 << 32:
        raise ValueError(f"uvar out of range: {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _pack_fields(fields, values) -> bytes:
    return b"".join(uvar(v) if f.code == UVAR else struct.pack(">" + f.code, v)
                    for f, v in zip(fields, values, strict=True))


@dataclass
class Header:
    width: int
    height: int
    num_frames: int
    fps_num: int
    fps_den: int
    gop_structure: int
    gop_size: int
    model_source: int  # syntax.ModelSource
    quality: int
    weights_hash: bytes  # 16 bytes
    model_name: str
    precision: int = 16
    bypass_precision: int = 4
    reparam_mode: int = 0


@dataclass
class StreamRecord:
    kind: int  # syntax.StreamKind
    data: bytes
    params: bytes = b""


@dataclass
class FrameRecord:
    frame_type: int
    display_index: int
    recon_checksum: bytes  # 8 bytes
    streams: list[StreamRecord] = field(default_factory=list)


def pack_header(h: Header) -> bytes:
    name = h.model_name.encode("utf-8")
    if len(name) > 255 or len(h.weights_hash) != 16:
        raise ValueError("model name too long or bad weights hash")
    body = _HEADER.pack(*(getattr(h, f.name) for f in HEADER_FIELDS)) \
        + bytes([len(name)]) + name
    head = MAGIC + bytes([VERSION]) + struct.pack(">I", len(body)) + body
    return head + struct.pack(">I", zlib.crc32(head))


def pack_frame(f: FrameRecord) -> bytes:
    kind, plen, dlen = STREAM_FIELDS
    parts = [_pack_fields(FRAME_FIELDS, (f.frame_type, f.display_index, f.recon_checksum,
                                         len(f.streams)))]
    for s in f.streams:
        parts += [_pack_fields((kind, plen), (s.kind, len(s.params))), s.params,
                  _pack_fields((dlen,), (len(s.data),)), s.data]
    body = b"".join(parts)
    length, crc = RECORD_FIELDS
    return _pack_fields((length,), (len(body),)) + body + \
        _pack_fields((crc,), (zlib.crc32(body),))


def pack(header: Header, frames: list[FrameRecord]) -> bytes:
    return pack_header(header) + b"".join(pack_frame(f) for f in frames)


class _Cursor:
    def __init__(self, buf: bytes, where: str):
        self.buf, self.pos, self.where = buf, 0, where

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise BitstreamError(f"{self.where}: truncated (needs {n} bytes at offset "
                                 f"{self.pos}, {len(self.buf) - self.pos} left)")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        s = struct.Struct(fmt)
        return s.unpack(self.take(s.size))

    def uvar(self, name: str) -> int:
        value = 0
        for i in range(UVAR_MAX_BYTES):
            (byte,) = self.take(1)
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if (i and not byte) or value >= 1 << 32:  # not the shortest form / too big
                    break
                return value
        raise BitstreamError(f"{self.where}: bad {name} (malformed variable-length integer)")

    def fields(self, fields) -> list:
        return [self.uvar(f.name) if f.code == UVAR else self.unpack(">" + f.code)[0]
                for f in fields]


def _parse_header(cur: _Cursor) -> Header:
    if len(cur.buf) < len(MAGIC) or cur.buf[:len(MAGIC)] != MAGIC:
        raise BitstreamError("not an .amg file (bad magic)")
    cur.take(len(MAGIC))
    (version,) = cur.unpack(">B")
    if version != VERSION:
        raise BitstreamError(f"unsupported .amg version {version} (this amgap reads {VERSION})")
    (length,) = cur.unpack(">I")
    if not _HEADER.size + 1 <= length <= LIMITS["header_bytes"]:
        raise BitstreamError(f"header: bad length {length}")
    body = cur.take(length)
    (crc,) = cur.unpack(">I")
    if zlib.crc32(cur.buf[:cur.pos - 4]) != crc:
        raise BitstreamError("header: CRC mismatch (corrupt file)")
    fields = _HEADER.unpack(body[:_HEADER.size])
    name_len = body[_HEADER.size]
    name_bytes = body[_HEADER.size + 1:]
    if len(name_bytes) != name_len:
        raise BitstreamError("header: bad model-name length")
    try:
        name = name_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BitstreamError("header: model name is not UTF-8") from exc
    h = Header(**{f.name: v for f, v in zip(HEADER_FIELDS, fields, strict=True)},
               model_name=name)
    problem = header_problem(h)
    if problem:
        raise BitstreamError(f"header: {problem}")
    return h


def header_problem(h: Header) -> str | None:
    """Why a header cannot be written or would be refused by the decoder (None: it is
    fine). One rule for both sides: the encoder checks its header before coding, so it
    never writes a file its decoder refuses."""
    for f in HEADER_FIELDS:  # what the fields' widths hold (parsed values always fit)
        v = getattr(h, f.name)
        if isinstance(v, int) and not 0 <= v < 1 << 8 * struct.calcsize(">" + f.code):
            return f"{f.name} {v} does not fit its field ({f.doc_type})"
    lim = LIMITS
    if not (0 < h.width <= lim["dimension"] and 0 < h.height <= lim["dimension"]):
        return f"bad frame size {h.width}x{h.height} (1..{lim['dimension']} each)"
    if not 0 < h.num_frames <= lim["frames"]:
        return f"bad frame count {h.num_frames} (1..{lim['frames']})"
    if h.fps_num == 0 or h.fps_den == 0:
        return "bad frame rate"
    if not 0 < h.gop_size <= lim["gop_size"]:
        return f"bad GOP size {h.gop_size} (1..{lim['gop_size']})"
    if (h.precision, h.bypass_precision) != (16, 4):
        return (f"unsupported entropy settings (precision {h.precision}, "
                f"bypass {h.bypass_precision})")
    return None


def _parse_frame(cur: _Cursor, index: int) -> FrameRecord:
    where = f"frame record {index}"
    cur.where = where
    (length,) = cur.fields(RECORD_FIELDS[:1])
    if length > LIMITS["record_bytes"] or length > len(cur.buf) - cur.pos - 4:
        raise BitstreamError(f"{where}: truncated or bad length {length}")
    body = cur.take(length)
    (crc,) = cur.fields(RECORD_FIELDS[1:])
    if zlib.crc32(body) != crc:
        raise BitstreamError(f"{where}: CRC mismatch (corrupt data)")
    bc = _Cursor(body, where)
    ftype, display, checksum, n_streams = bc.fields(FRAME_FIELDS)
    if ftype >= len(FrameType):
        raise BitstreamError(f"{where}: bad frame type {ftype}")
    if n_streams > LIMITS["streams"]:
        raise BitstreamError(f"{where}: bad stream count {n_streams}")
    streams = []
    for _ in range(n_streams):
        kind, plen = bc.fields(STREAM_FIELDS[:2])
        if kind >= len(StreamKind):
            raise BitstreamError(f"{where}: bad stream kind {kind}")
        params = bc.take(plen)
        (dlen,) = bc.fields(STREAM_FIELDS[2:])
        streams.append(StreamRecord(kind, bc.take(dlen), params))
    if bc.pos != len(body):
        raise BitstreamError(f"{where}: {len(body) - bc.pos} unexpected trailing bytes")
    return FrameRecord(ftype, display, checksum, streams)


def parse(buf: bytes) -> tuple[Header, list[FrameRecord]]:
    """Parse a whole ``.amg`` stream; raises :class:`BitstreamError` with a one-line reason."""
    cur = _Cursor(buf, "header")
    header = _parse_header(cur)
    frames = []
    while cur.pos < len(buf):
        if len(frames) >= header.num_frames:
            raise BitstreamError(f"{len(buf) - cur.pos} bytes after the last frame record")
        frames.append(_parse_frame(cur, len(frames)))
    if len(frames) != header.num_frames:
        raise BitstreamError(f"truncated: {len(frames)} of {header.num_frames} frame records")
    return header, frames


def write_file(path: str | os.PathLike, data: bytes) -> None:
    """Write atomically: a reader never sees a half-written file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise BitstreamError(f"{path}: is a directory, expected an output file name")
    atomic_write(path, data)


def read_file(path: str | os.PathLike) -> tuple[Header, list[FrameRecord]]:
    try:
        with open(path, "rb") as fh:
            buf = fh.read()
    except IsADirectoryError as exc:
        raise BitstreamError(f"{path}: is a directory") from exc
    except OSError as exc:
        raise BitstreamError(f"{path}: cannot read ({exc.strerror})") from exc
    return parse(buf)
