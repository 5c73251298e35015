"""Output writers (picked from the output name, or refused) and atomic writes that keep
the user's umask."""

import io
import os
import stat
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch

from amgap.errors import UsageError
from amgap.io import open_video, output_target, write_video
from amgap.io.color import rgb_to_planes


def _clip(n=2, h=10, w=14):
    g = torch.Generator().manual_seed(1)
    return [torch.rand(3, h, w, generator=g) for _ in range(n)]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.mark.parametrize("name,kind", [("a.y4m", "y4m"), ("a.Y4M", "y4m"), ("a.yuv", "yuv"),
                                       ("-", "stdout"), ("frames", "png"), ("frames/", "png")])
def test_output_kind_from_name(name, kind):
    assert output_target(name).kind == kind


@pytest.mark.parametrize("name", ["out.mp4", "out.png", "out.avi", "x.amg"])
def test_unsupported_output_is_refused_with_the_list(name):
    with pytest.raises(UsageError, match=r"supported outputs: NAME\.y4m .* - .* NAME\.yuv"):
        output_target(name)


def test_y4m_yuv_png_roundtrip(tmp_path):
    frames = _clip()
    assert write_video(str(tmp_path / "o.y4m"), frames, Fraction(25)) == 2
    y4m = list(open_video(tmp_path / "o.y4m"))
    yuv_path = tmp_path / "o_14x10_25.yuv"
    assert write_video(str(yuv_path), frames, Fraction(25)) == 2
    assert yuv_path.stat().st_size == 2 * (14 * 10 + 2 * 7 * 5)
    yuv = list(open_video(yuv_path))
    for a, b in zip(y4m, yuv, strict=True):
        assert torch.equal(a, b)  # same 8-bit 4:2:0 planes either way
    planes = rgb_to_planes(frames[1])
    raw = np.frombuffer(yuv_path.read_bytes(), np.uint8)[14 * 10 + 2 * 7 * 5:]
    assert np.array_equal(raw[:140].reshape(10, 14), planes[0])
    assert write_video(str(tmp_path / "png"), frames, Fraction(25)) == 2
    assert sorted(os.listdir(tmp_path / "png")) == ["00000.png", "00001.png"]


def test_y4m_to_stdout(tmp_path, monkeypatch):
    buf = io.BytesIO()

    class Out:
        buffer = buf

        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stdout", Out())
    assert write_video("-", _clip(), Fraction(30)) == 2
    (tmp_path / "s.y4m").write_bytes(buf.getvalue())
    assert buf.getvalue().startswith(b"YUV4MPEG2 W14 H10 F30:1")
    assert len(list(open_video(tmp_path / "s.y4m"))) == 2


def test_output_checks_before_work(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        write_video(str(tmp_path / "missing" / "o.y4m"), iter(()), Fraction(25))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(UsageError, match="other files"):
        write_video(str(tmp_path / "mine"), _clip(), Fraction(25))
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_outputs_follow_umask(tmp_path, umask_022):
    from amgap.bitstream.container import write_file

    write_file(tmp_path / "a.amg", b"x")
    write_video(str(tmp_path / "o.y4m"), _clip(1), Fraction(25))
    write_video(str(tmp_path / "o.yuv"), _clip(1), Fraction(25))
    write_video(str(tmp_path / "png"), _clip(1), Fraction(25))
    for p in ("a.amg", "o.y4m", "o.yuv", "png/00000.png"):
        assert _mode(tmp_path / p) == 0o644, p
    os.umask(0o077)
    write_file(tmp_path / "b.amg", b"x")
    assert _mode(tmp_path / "b.amg") == 0o600
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".amgap-")]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    from amgap._fs import atomic_file

    p = tmp_path / "keep.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(p) as fh:
        fh.write(b"half")
        raise RuntimeError("killed")
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["keep.bin"]
