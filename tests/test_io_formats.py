"""Every PNG colour type and every Y4M colour space FFmpeg writes: read at the true
value or refused with one line, never measured against a wrongly read frame."""

import numpy as np
import pytest
import torch
from PIL import Image

from amgap.errors import VideoFormatError
from amgap.io import open_video
from amgap.io.color import planes_to_rgb
from helpers import raw_png, raw_y4m

RNG = np.random.default_rng(7)
H, W = 6, 5


def _only_frame(folder):
    frames = list(open_video(folder))
    assert len(frames) == 1 and frames[0].shape == (3, H, W)
    return frames[0]


def _expect_rgb(got, rgb):
    assert torch.allclose(got, torch.from_numpy(np.asarray(rgb, np.float32)).permute(2, 0, 1),
                          atol=1e-6)


def test_png_natural_order_and_files_read(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    for i in (1, 2, 10, 9):
        Image.fromarray(np.full((H, W), i, np.uint8)).save(d / f"frame_{i}.png")
    r = open_video(d)
    assert [p.name for p in r.files] == ["frame_1.png", "frame_2.png", "frame_9.png",
                                         "frame_10.png"]
    levels = [round(float(f[0, 0, 0]) * 255) for f in r.frames()]
    assert levels == [1, 2, 9, 10]
    assert [n.rsplit("/", 1)[1] for n in r.files_read(1, 2)] == ["frame_2.png", "frame_9.png"]


def test_png_grey_8_and_16_bit(tmp_path):
    g8 = RNG.integers(0, 256, (H, W), dtype=np.uint8)
    (tmp_path / "a").mkdir()
    Image.fromarray(g8).save(tmp_path / "a" / "0.png")
    _expect_rgb(_only_frame(tmp_path / "a"), np.repeat(g8[..., None] / 255.0, 3, 2))
    g16 = RNG.integers(0, 65536, (H, W)).astype(np.uint16)
    (tmp_path / "b").mkdir()
    im16 = Image.fromarray(g16)
    assert im16.mode == "I;16"
    im16.save(tmp_path / "b" / "0.png")  # Pillow writes 16-bit grey
    r = open_video(tmp_path / "b")
    assert r.info.bitdepth == 16 and r.info.chroma == "mono"
    _expect_rgb(_only_frame(tmp_path / "b"), np.repeat(g16[..., None] / 65535.0, 3, 2))


def test_png_16_bit_colour(tmp_path):
    rgb16 = RNG.integers(0, 65536, (H, W, 3))
    (tmp_path / "c").mkdir()
    raw_png(tmp_path / "c" / "0.png", rgb16, color_type=2, bitdepth=16)
    _expect_rgb(_only_frame(tmp_path / "c"), rgb16 / 65535.0)
    rgba16 = np.concatenate([rgb16, np.full((H, W, 1), 65535)], axis=2)
    (tmp_path / "d").mkdir()
    raw_png(tmp_path / "d" / "0.png", rgba16, color_type=6, bitdepth=16)
    _expect_rgb(_only_frame(tmp_path / "d"), rgb16 / 65535.0)
    la16 = np.stack([rgb16[..., 0], np.full((H, W), 65535)], axis=2)
    (tmp_path / "e").mkdir()
    raw_png(tmp_path / "e" / "0.png", la16, color_type=4, bitdepth=16)
    _expect_rgb(_only_frame(tmp_path / "e"), np.repeat(rgb16[..., :1] / 65535.0, 3, 2))


def test_png_palette_and_opaque_alpha(tmp_path):
    rgb = RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)
    pal = Image.fromarray(rgb).quantize(colors=16)
    (tmp_path / "p").mkdir()
    pal.save(tmp_path / "p" / "0.png")
    _expect_rgb(_only_frame(tmp_path / "p"), np.asarray(pal.convert("RGB")) / 255.0)
    (tmp_path / "ga").mkdir()
    la = np.stack([rgb[..., 1], np.full((H, W), 255, np.uint8)], axis=2)
    Image.fromarray(la).save(tmp_path / "ga" / "0.png")
    _expect_rgb(_only_frame(tmp_path / "ga"), np.repeat(rgb[..., 1:2] / 255.0, 3, 2))
    (tmp_path / "rgba").mkdir()
    rgba = np.concatenate([rgb, np.full((H, W, 1), 255, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "rgba" / "0.png")
    _expect_rgb(_only_frame(tmp_path / "rgba"), rgb / 255.0)


def test_png_transparency_is_refused(tmp_path):
    rgba = RNG.integers(0, 256, (H, W, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    (tmp_path / "t").mkdir()
    Image.fromarray(rgba).save(tmp_path / "t" / "0.png")
    with pytest.raises(VideoFormatError, match="1 of 30 pixels are not fully opaque"):
        list(open_video(tmp_path / "t"))
    idx = np.ones((H, W), np.uint8)
    idx[2, 3] = 0  # palette entry 0 is transparent (tRNS)
    pal = Image.fromarray(idx, "L").convert("P")
    pal.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    (tmp_path / "tp").mkdir()
    pal.save(tmp_path / "tp" / "0.png", transparency=0)
    with pytest.raises(VideoFormatError, match="1 of 30 pixels"):
        list(open_video(tmp_path / "tp"))


@pytest.mark.parametrize("cs,chroma,depth", [
    ("420p9", "420", 9), ("422p9", "422", 9), ("444p9", "444", 9),
    ("420p10", "420", 10), ("422p10", "422", 10), ("444p10", "444", 10),
    ("420p12", "420", 12), ("422p12", "422", 12), ("444p12", "444", 12),
    ("420p14", "420", 14), ("422p14", "422", 14), ("444p14", "444", 14),
    ("420p16", "420", 16), ("422p16", "422", 16), ("444p16", "444", 16),
    ("mono9", "mono", 9), ("mono10", "mono", 10), ("mono12", "mono", 12),
    ("mono16", "mono", 16),
])
def test_y4m_high_bit_depth(tmp_path, cs, chroma, depth):
    w, h = 10, 6
    cw, ch = {"420": (5, 3), "422": (5, 6), "444": (10, 6), "mono": (0, 0)}[chroma]
    top = (1 << depth) - 1
    frames = []
    for _ in range(2):
        y = RNG.integers(0, top + 1, (h, w))
        frames.append((y,) if chroma == "mono" else
                      (y, RNG.integers(0, top + 1, (ch, cw)), RNG.integers(0, top + 1, (ch, cw))))
    raw_y4m(tmp_path / "v.y4m", w, h, cs, frames, np.dtype("<u2"))
    r = open_video(tmp_path / "v.y4m")
    assert (r.info.chroma, r.info.bitdepth, r.info.num_frames) == (chroma, depth, 2)
    got = list(r)
    for f, planes in zip(got, frames, strict=True):
        want = planes_to_rgb(planes[0], None, None, depth) if chroma == "mono" else \
            planes_to_rgb(*planes, bitdepth=depth)
        assert torch.equal(f, want)


def test_y4m_xyscss_when_no_c_tag(tmp_path):
    """FFmpeg's older extension names the layout when the C tag is absent."""
    y = RNG.integers(0, 1024, (4, 4))
    uv = RNG.integers(0, 1024, (2, 2))
    p = tmp_path / "x.y4m"
    with open(p, "wb") as fh:
        fh.write(b"YUV4MPEG2 W4 H4 F25:1 Ip XYSCSS=420P10\nFRAME\n")
        for a in (y, uv, uv):
            fh.write(a.astype("<u2").tobytes())
    r = open_video(p)
    assert r.info.bitdepth == 10
    assert torch.equal(next(iter(r)), planes_to_rgb(y, uv, uv, bitdepth=10))


def test_png_16_bit_transparency_key_is_refused(tmp_path):
    g16 = RNG.integers(1, 65536, (H, W)).astype(np.uint16)
    g16[1, 1] = 0
    (tmp_path / "k").mkdir()
    Image.fromarray(g16).save(tmp_path / "k" / "0.png", transparency=0)
    with pytest.raises(VideoFormatError, match="1 of 30 pixels"):
        list(open_video(tmp_path / "k"))
