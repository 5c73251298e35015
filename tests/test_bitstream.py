import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amgap.bitstream import FrameRecord, Header, StreamRecord, pack, parse
from amgap.errors import BitstreamError


def _sample():
    h = Header(width=176, height=144, num_frames=2, fps_num=30000, fps_den=1001,
               gop_structure=0, gop_size=16, model_source=2, quality=3,
               weights_hash=bytes(range(16)), model_name="init:ssf-slim")
    frames = [FrameRecord(0, 0, b"abcdefgh", [StreamRecord(2, b"x" * 12), StreamRecord(3, b"")]),
              FrameRecord(1, 1, b"12345678", [StreamRecord(k, bytes([k]) * 8, b"p" * k)
                                              for k in range(4)])]
    return h, frames


def test_roundtrip():
    h, frames = _sample()
    h2, f2 = parse(pack(h, frames))
    assert h2 == h and f2 == frames


def test_bad_magic_and_version():
    data = bytearray(pack(*_sample()))
    with pytest.raises(BitstreamError, match="magic"):
        parse(b"NOTANAMG" + bytes(data[8:]))
    data[8] = 9
    with pytest.raises(BitstreamError, match="version"):
        parse(bytes(data))


def test_crc_catches_every_single_bit_flip_in_a_record():
    data = pack(*_sample())
    start = len(data) - 60
    for pos in range(start, len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(BitstreamError):
            parse(bytes(bad))


def test_every_truncation_is_refused():
    data = pack(*_sample())
    for n in range(len(data)):
        with pytest.raises(BitstreamError):
            parse(data[:n])


def test_huge_length_fields_do_not_allocate():
    h, frames = _sample()
    data = bytearray(pack(h, frames[:1]))
    hdr_end = len(pack(h, []))
    data[hdr_end:hdr_end + 4] = struct.pack(">I", 0xFFFFFFF0)
    with pytest.raises(BitstreamError, match="bad length"):
        parse(bytes(data))


def test_header_limits():
    h, frames = _sample()
    h.width = 0
    with pytest.raises(BitstreamError, match="frame size"):
        parse(pack(h, frames))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 400))
def test_random_garbage_never_crashes(blob, cut):
    data = pack(*_sample())
    mixed = data[:cut] + blob
    try:
        parse(mixed)
    except BitstreamError:
        pass
