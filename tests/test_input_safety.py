"""Bad input loses nothing and gets one line (README, "Exit codes"): outputs that are
inputs, header values a stream cannot carry, a Y4M whose last frame is cut off."""

import numpy as np
import pytest

from amgap.bitstream import parse
from amgap.cli import main
from amgap.io import open_video

W, H = 64, 48


def _y4m(path, header="F25:1", frames=3, tail=b""):
    rng = np.random.default_rng(0)
    body = b"".join(b"FRAME\n" + rng.integers(0, 255, W * H * 3 // 2, dtype=np.uint8).tobytes()
                    for _ in range(frames))
    path.write_bytes(f"YUV4MPEG2 W{W} H{H} {header} C420jpeg\n".encode() + body + tail)
    return path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "Traceback" not in err and "internal error" not in err, err
    return err.splitlines()[-1]


def test_encode_refuses_to_write_over_its_input(tmp_path, capsys):
    src = _y4m(tmp_path / "v.y4m")
    before = src.read_bytes()
    assert main(["encode", str(src), "-o", str(src), "--quiet"]) == 2
    assert "also an input" in _one_line(capsys)
    assert src.read_bytes() == before


def test_decode_refuses_to_write_over_its_reference(tmp_path, capsys):
    src = _y4m(tmp_path / "v.y4m")
    amg = tmp_path / "v.amg"
    assert main(["encode", str(src), "-o", str(amg), "--model", "init:ssf-slim",
                 "--quiet"]) == 0
    capsys.readouterr()
    ref = tmp_path / "ref.y4m"
    ref.write_bytes(src.read_bytes())
    assert main(["decode", str(amg), "-o", str(ref), "--reference", str(ref), "--quiet"]) == 2
    assert "also an input" in _one_line(capsys)
    assert ref.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("argv, words", [
    (["-o", ""], "empty output name"),
    (["--gop-size", "2000"], "GOP size 2000"),  # the decoder's limit, not only the field's
    (["--gop-size", "70000"], "gop_size 70000"),
])
def test_encode_refuses_what_its_decoder_would_refuse(tmp_path, capsys, argv, words):
    src = _y4m(tmp_path / "v.y4m")
    out = ["-o", str(tmp_path / "x.amg")] if argv[0] != "-o" else []
    assert main(["encode", str(src), *out, *argv, "--model", "init:ssf-slim",
                 "--quiet"]) == 2
    assert words in _one_line(capsys)
    assert not (tmp_path / "x.amg").exists()


@pytest.mark.parametrize("rate", ["F0:1", "F-25:1", "F1:3000000"])  # the last rounds to 0
def test_y4m_frame_rate_that_no_stream_can_carry(tmp_path, capsys, rate):
    src = _y4m(tmp_path / "v.y4m", header=rate)
    assert main(["encode", str(src), "-o", str(tmp_path / "x.amg"), "--model",
                 "init:ssf-slim", "--quiet"]) == 2
    assert "frame rate" in _one_line(capsys)


def test_encoded_header_is_one_the_decoder_accepts(tmp_path, capsys):
    """The other side of the checks: a legal odd rate encodes and parses."""
    src = _y4m(tmp_path / "v.y4m", header="F30000:1001", frames=1)
    out = tmp_path / "x.amg"
    assert main(["encode", str(src), "-o", str(out), "--model", "init:ssf-slim",
                 "--quiet"]) == 0
    h = parse(out.read_bytes())[0]
    assert (h.fps_num, h.fps_den) == (30000, 1001)


def test_y4m_cut_off_last_frame_is_reported_not_dropped(tmp_path):
    src = _y4m(tmp_path / "v.y4m", tail=b"FRAME\n" + bytes(1000))
    reader = open_video(src)
    assert reader.info.num_frames == 4  # the cut-off frame counts: reading reaches it
    assert len(list(reader.frames(0, 3))) == 3
    with pytest.raises(Exception, match="frame 3 is truncated"):
        list(reader.frames())
    junk = _y4m(tmp_path / "j.y4m", tail=b"junk")
    with pytest.raises(Exception, match="frame 3: missing FRAME marker"):
        list(open_video(junk).frames())


def test_y4m_frame_headers_with_parameters_are_counted(tmp_path):
    src = _y4m(tmp_path / "v.y4m")
    src.write_bytes(src.read_bytes().replace(b"FRAME\n", b"FRAME Ixyz\n"))
    reader = open_video(src)
    assert reader.info.num_frames == 3 and len(list(reader.frames())) == 3


def test_raw_yuv_negative_size(tmp_path, capsys):
    src = tmp_path / "c_64x48_25.yuv"
    src.write_bytes(bytes(W * H * 3))
    assert main(["encode", str(src), "--width", "-64", "--height", "48", "-o",
                 str(tmp_path / "x.amg"), "--quiet"]) == 1
    assert "bad frame size -64x48" in _one_line(capsys)
