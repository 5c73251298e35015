from fractions import Fraction

import numpy as np
import pytest
import torch

from amgap.errors import VideoFormatError
from amgap.io import (
    crop,
    open_video,
    pad_to_multiple,
    parse_yuv_name,
    write_png_folder,
    write_y4m,
)
from amgap.io.color import planes_to_rgb, rgb_to_planes
from helpers import raw_y4m


def _planes(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (h, w), dtype=np.uint8),
            rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8),
            rng.integers(0, 256, ((h + 1) // 2, (w + 1) // 2), dtype=np.uint8))


def test_carphone_is_real_video(carphone_frames):
    f = carphone_frames[0]
    assert f.shape == (3, 144, 176) and f.dtype == torch.float32
    assert 0.0 <= f.min() and f.max() <= 1.0 and f.std() > 0.1
    assert not torch.equal(carphone_frames[0], carphone_frames[1])


def test_y4m_matches_yuv_conversion(tmp_path):
    planes = [_planes(36, 50, s) for s in range(3)]
    raw_y4m(tmp_path / "a.y4m", 50, 36, "420jpeg", planes)
    r = open_video(tmp_path / "a.y4m")
    assert (r.info.width, r.info.height, r.info.fps) == (50, 36, Fraction(25))
    frames = list(r)
    assert len(frames) == 3
    assert torch.equal(frames[1], planes_to_rgb(*planes[1]))
    # selection
    sel = list(r.frames(start=1, count=1))
    assert len(sel) == 1 and torch.equal(sel[0], frames[1])


def test_y4m_write_read_roundtrip_odd_size(tmp_path, carphone_frames):
    frames = [f[:, :37, :51] for f in carphone_frames[:2]]
    write_y4m(tmp_path / "o.y4m", frames, Fraction(30))
    back = list(open_video(tmp_path / "o.y4m"))
    assert back[0].shape == (3, 37, 51)
    # writing again what was read must be lossless (8-bit 4:2:0 fixed point)
    y0 = rgb_to_planes(back[0])
    write_y4m(tmp_path / "o2.y4m", back, Fraction(30))
    y1 = rgb_to_planes(list(open_video(tmp_path / "o2.y4m"))[0])
    for a, b in zip(y0, y1, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_y4m_10bit_and_mono(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 1024, (16, 16))
    uv = rng.integers(0, 1024, (8, 8))
    raw_y4m(tmp_path / "ten.y4m", 16, 16, "420p10", [(y, uv, uv)], np.dtype("<u2"))
    r = open_video(tmp_path / "ten.y4m")
    assert r.info.bitdepth == 10
    f = next(iter(r))
    assert torch.allclose(f, planes_to_rgb(y, uv, uv, bitdepth=10))
    raw_y4m(tmp_path / "mono.y4m", 16, 16, "mono", [(y.astype(np.uint8),)])
    g = next(iter(open_video(tmp_path / "mono.y4m")))
    assert torch.allclose(g[0], g[1], atol=1e-5) and torch.allclose(g[1], g[2], atol=1e-5)


def test_y4m_refusals(tmp_path):
    p = tmp_path / "bad.y4m"
    p.write_bytes(b"YUV4MPEG2 W16 H16 F25:1 C411\nFRAME\n" + bytes(16 * 16 * 2))
    with pytest.raises(VideoFormatError, match="C411"):
        open_video(p)
    p.write_bytes(b"YUV4MPEG2 W16 H16 F25:1 C420jpeg\nFRAME\n" + bytes(100))
    with pytest.raises(VideoFormatError, match="truncated"):
        list(open_video(p))
    p.write_bytes(b"YUV4MPEG2 W0 H16\n")
    with pytest.raises(VideoFormatError, match="size"):
        open_video(p)


@pytest.mark.parametrize("name,expected", [
    ("BasketballDrill_832x480_50.yuv", (832, 480, Fraction(50), None)),
    ("Beauty_1920x1080_120fps_420_8bit_YUV.yuv", (1920, 1080, Fraction(120), 8)),
    ("foreman_cif.yuv", (None, None, None, None)),
    ("Kimono_1920x1080_24_10bit.yuv", (1920, 1080, Fraction(24), 10)),
])
def test_parse_yuv_name(name, expected):
    assert parse_yuv_name(name) == expected


def test_raw_yuv(tmp_path):
    planes = [_planes(24, 32, s) for s in range(4)]
    p = tmp_path / "Clip_32x24_25.yuv"
    p.write_bytes(b"".join(q.tobytes() for pl in planes for q in pl))
    r = open_video(p)
    assert (r.info.width, r.info.height, r.info.num_frames, r.info.fps) == (32, 24, 4, 25)
    got = list(r.frames(start=2, count=5))
    assert len(got) == 2 and torch.equal(got[0], planes_to_rgb(*planes[2]))
    with pytest.raises(VideoFormatError, match="not a multiple"):
        open_video(p, width=30, height=24)
    q = tmp_path / "noname.yuv"
    q.write_bytes(p.read_bytes())
    with pytest.raises(VideoFormatError, match="--width"):
        open_video(q)
    assert open_video(q, width=32, height=24).info.num_frames == 4


def test_png_folder(tmp_path, carphone_frames):
    write_png_folder(tmp_path / "png", carphone_frames[:3])
    r = open_video(tmp_path / "png")
    back = list(r)
    assert len(back) == 3
    assert (back[0] - carphone_frames[0]).abs().max() <= 0.5 / 255 + 1e-6
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoFormatError, match="no .png"):
        open_video(tmp_path / "empty")


def test_av_reader_matches_y4m_dump(tmp_path, carphone_frames):
    from amgap.io import sample_path

    r = open_video(sample_path("carphone"))
    assert r.info.source == "av" and r.info.num_frames == 120
    # an mp4 frame equals the RGB of its own 4:2:0 planes (no swscale conversion)
    assert torch.equal(next(iter(r)), carphone_frames[0])


def test_unknown_format(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_text("this is not a video")
    with pytest.raises(VideoFormatError):
        list(open_video(p))


def test_pad_crop():
    x = torch.rand(1, 3, 37, 51)
    y = pad_to_multiple(x, 16)
    assert y.shape[-2:] == (48, 64)
    assert torch.equal(y[..., 47, 63], x[..., 36, 50])
    assert torch.equal(crop(y, 37, 51), x)
