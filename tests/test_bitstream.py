
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amgap.bitstream import FrameRecord, Header, StreamRecord, pack, parse
from amgap.bitstream.container import uvar
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
    data = pack(h, frames[:1])
    hdr_end = len(pack(h, []))
    n = next(k for k in range(1, 6) if data[hdr_end + k - 1] < 0x80)
    data = data[:hdr_end] + uvar(0xFFFFFFF0) + data[hdr_end + n:]
    with pytest.raises(BitstreamError, match="bad length"):
        parse(data)


@given(st.integers(0, (1 << 32) - 1))
def test_uvar_roundtrip_shortest_form(value):
    from amgap.bitstream.container import _Cursor

    b = uvar(value)
    assert len(b) == max(1, -(-value.bit_length() // 7))
    cur = _Cursor(b, "test")
    assert cur.uvar("x") == value and cur.pos == len(b)


@pytest.mark.parametrize("raw", [b"\x80\x00", b"\xff\xff\xff\xff\x7f",
                                 b"\x80\x80\x80\x80\x80\x01", b"\x80"])
def test_uvar_refuses_long_forms_overflow_and_truncation(raw):
    from amgap.bitstream.container import _Cursor

    with pytest.raises(BitstreamError, match="variable-length|truncated"):
        _Cursor(raw, "test").uvar("x")


def test_record_fields_are_uvars_where_the_syntax_says():
    """A one-frame file is exactly the bytes the syntax tables add up to."""
    h, frames = _sample()
    f = frames[0]
    body = 1 + len(uvar(f.display_index)) + 8 + 1 + sum(
        1 + len(uvar(len(s.params))) + len(s.params) + len(uvar(len(s.data))) + len(s.data)
        for s in f.streams)
    assert len(pack(h, frames[:1])) - len(pack(h, [])) == len(uvar(body)) + body + 4


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
