"""Classic-codec reference points, measured exactly like amgap's own.

Video: x264 (and x265) through the libraries bundled in PyAV's wheel (no ``ffmpeg``
binary needed): ``veryslow``, ``tune=psnr``, one GOP (``keyint`` = ``min-keyint`` = the
GOP size, no scene cut), 4:2:0, a CRF grid. Still images: Pillow's JPEG and WebP over a
quality grid. Every point decodes what was produced and measures it as ``amgap encode``
does: RGB PSNR (amgap's :func:`amgap.coding.psnr`) against the input frames, frames
converted with amgap's BT.709 code, averaged over frames. The rate is every byte the
encoder produced: the whole Annex B stream (parameter sets and x264's settings SEI
included: :attr:`AnchorPoint.banner_bytes` says how much of it is the encoder's settings
banner) or the whole image file.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from ..io.color import planes_to_rgb, rgb_to_planes, rgb_to_ycbcr
from ..metrics import psnr

__all__ = ["AnchorPoint", "Planes", "x264_points", "image_points", "read_planes", "quality",
           "banner_bytes",
           "VIDEO_CODECS", "IMAGE_CODECS"]

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # 8-bit Y, Cb, Cr (4:2:0)
VIDEO_CODECS = {"x264": ("libx264", "h264"), "x265": ("libx265", "hevc")}
IMAGE_CODECS = {"jpeg": "JPEG", "webp": "WEBP"}


@dataclass(frozen=True)
class AnchorPoint:
    """One RD point of a classic codec (``setting``: CRF or quality)."""

    codec: str
    setting: int
    frames: int
    bits: int
    bpp: float
    psnr_rgb: float
    psnr_y: float
    banner_bytes: int = 0  # x264/x265's settings SEI: counted in ``bits``, not needed to decode

    def to_json(self) -> dict:
        return asdict(self)


def quality(orig: torch.Tensor, rec: torch.Tensor) -> tuple[float, float]:
    """(RGB PSNR, PSNR-Y) of one frame, as ``amgap encode`` reports them."""
    rec = rec.clamp(0, 1)
    return (psnr(orig, rec),
            psnr(rgb_to_ycbcr(orig[None])[0, 0], rgb_to_ycbcr(rec[None])[0, 0]))


def read_planes(path: str | Path, count: int, start: int = 0) -> list[Planes]:
    """The first decoded 4:2:0 planes of a video file, untouched (what x264 should get)."""
    out: list[Planes] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i < start:
                continue
            if len(out) == count:
                break
            if frame.format.name not in ("yuv420p", "yuvj420p"):
                frame = frame.reformat(format="yuv420p")
            out.append(tuple(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)
                             [:, : p.width].copy() for p in frame.planes[:3]))
    return out


def banner_bytes(stream: bytes) -> int:
    """Bytes of the Annex B NAL units that carry the encoder's banner (x264/x265 write
    their version and every setting as a ~0.7 kB SEI message), start codes included."""
    starts = [m.start() for m in re.finditer(b"\x00\x00\x01", stream)] + [len(stream)]
    units = [stream[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    return sum(len(u) for u in units if b"x264 - core" in u or b"x265 (build" in u)


def _rd_point(codec: str, setting: int, originals: list[torch.Tensor],
              decoded: list[torch.Tensor], nbytes: int, banner: int = 0) -> AnchorPoint:
    if len(decoded) != len(originals):
        raise RuntimeError(f"{codec} {setting}: decoded {len(decoded)} of {len(originals)} "
                           "frames")
    q = [quality(o, d) for o, d in zip(originals, decoded, strict=True)]
    h, w = originals[0].shape[-2:]
    n = len(originals)
    return AnchorPoint(codec, setting, n, nbytes * 8, nbytes * 8 / (w * h * n),
                       sum(p[0] for p in q) / n, sum(p[1] for p in q) / n, banner)


def _encode_video(planes: list[Planes], crf: int, codec: str, gop: int,
                  bframes: int | None) -> list[av.Packet]:
    lib, _ = VIDEO_CODECS[codec]
    h, w = planes[0][0].shape
    enc = av.CodecContext.create(lib, "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base = Fraction(1, 25)
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0"
    params += "" if bframes is None else f":bframes={bframes}"
    if codec == "x264":
        params += ":threads=1"  # frame threads change x264's decisions: keep it reproducible
        enc.options = {"preset": "veryslow", "tune": "psnr", "crf": str(crf),
                       "x264-params": params}
    else:
        enc.options = {"preset": "veryslow", "tune": "psnr", "crf": str(crf),
                       "x265-params": params + ":log-level=none:pools=1:frame-threads=1"}
    packets: list[av.Packet] = []
    for i, (y, u, v) in enumerate(planes):
        frame = av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)]),
                                           format="yuv420p")
        frame.pts = i
        packets += enc.encode(frame)
    packets += enc.encode(None)
    return packets


def x264_points(originals: list[torch.Tensor], crfs: list[int], *,
                planes: list[Planes] | None = None, gop: int = 16, codec: str = "x264",
                bframes: int | None = None) -> list[AnchorPoint]:
    """RD points of x264 (or ``codec="x265"``) ``veryslow``/``tune=psnr`` over ``crfs``.

    ``planes``: the source's own 4:2:0 planes (:func:`read_planes`) when it has them, so
    that x264 codes the source and not a re-subsampled copy; else the RGB frames are
    converted with amgap's :func:`~amgap.io.color.rgb_to_planes`. ``bframes``: None
    keeps the preset's B-frame decision (veryslow: up to 8)."""
    if codec not in VIDEO_CODECS:
        raise ValueError(f"unknown video codec {codec!r} ({', '.join(VIDEO_CODECS)})")
    h, w = originals[0].shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"{w}x{h}: 4:2:0 video anchors need even frame sizes")
    planes = planes if planes is not None else [rgb_to_planes(f) for f in originals]
    if len(planes) != len(originals) or planes[0][0].shape != (h, w):
        raise ValueError("planes do not match the frames")
    out = []
    for crf in crfs:
        packets = _encode_video(planes, crf, codec, gop, bframes)
        dec = av.CodecContext.create(VIDEO_CODECS[codec][1], "r")
        frames = [f for p in packets for f in dec.decode(p)] + list(dec.decode(None))
        decoded = [planes_to_rgb(*(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)
                                   [:, : p.width] for p in f.planes[:3])) for f in frames]
        stream = b"".join(bytes(p) for p in packets)
        out.append(_rd_point(codec, crf, originals, decoded, len(stream), banner_bytes(stream)))
    return out


def image_points(frame: torch.Tensor, qualities: list[int],
                 codec: str = "jpeg") -> list[AnchorPoint]:
    """RD points of Pillow's JPEG (optimized Huffman tables) or WebP (``method=6``) on one
    RGB frame; the rate is the whole file."""
    if codec not in IMAGE_CODECS:
        raise ValueError(f"unknown image codec {codec!r} ({', '.join(IMAGE_CODECS)})")
    rgb8 = (frame.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(np.ascontiguousarray(rgb8), "RGB")
    extra = {"optimize": True} if codec == "jpeg" else {"method": 6}
    out = []
    for q in qualities:
        buf = io.BytesIO()
        img.save(buf, format=IMAGE_CODECS[codec], quality=q, **extra)
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            dec = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)
        out.append(_rd_point(codec, q, [frame], [dec.float() / 255.0], len(buf.getvalue())))
    return out
