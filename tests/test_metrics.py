"""The one PSNR, PSNR-YUV (6:1:1) and MS-SSIM (CompressAI's conventions, labelled scales)."""

import math

import pytest
import torch

from amgap.io.color import rgb_to_planes, rgb_to_ycbcr
from amgap.metrics import frame_quality, mean_quality, ms_ssim, ms_ssim_scales, psnr, psnr_yuv


def _pair(h, w, noise=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(3, h, w, generator=g)
    b = (a + noise * torch.randn(3, h, w, generator=g)).clamp(0, 1)
    return a, b


def test_psnr_definition():
    a = torch.zeros(3, 4, 4)
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert psnr(a, a) == math.inf
    assert psnr(a * 255, a * 255 + 25.5, data_range=255) == pytest.approx(20.0)


def test_psnr_yuv_is_6_1_1_on_420_planes():
    a, b = _pair(36, 50)
    y, u, v, yuv = psnr_yuv(a, b)
    assert yuv == pytest.approx((6 * y + u + v) / 8)
    assert y == pytest.approx(psnr(rgb_to_ycbcr(a[None])[0, 0], rgb_to_ycbcr(b[None])[0, 0]))
    # chroma at 4:2:0: agrees with the 8-bit planes of the Y4M writer up to rounding
    pa, pb = rgb_to_planes(a), rgb_to_planes(b)
    u8 = psnr(torch.from_numpy(pa[1]).double(), torch.from_numpy(pb[1]).double(), 255)
    assert abs(u8 - u) < 0.3


@pytest.mark.parametrize("side,scales", [(161, 5), (160, 4), (81, 4), (80, 3), (41, 3),
                                         (40, 2), (21, 2), (20, 1), (11, 1), (10, 0)])
def test_ms_ssim_scales_by_size(side, scales):
    assert ms_ssim_scales(side, 1000) == scales == ms_ssim_scales(1000, side)


def test_ms_ssim_five_scales_is_pytorch_msssim():
    from pytorch_msssim import ms_ssim as reference

    from amgap.metrics import _ms_ssim_fewer

    a, b = _pair(176, 192)
    val, scales = ms_ssim(a, b)
    assert scales == 5
    assert val == pytest.approx(float(reference(a[None], b[None], data_range=1.0)), abs=1e-6)
    # the reduced-scale loop is the library's loop: equal at 5 scales (up to the weights
    # renormalization: the standard five sum to 1.0001)
    assert float(_ms_ssim_fewer(a[None], b[None], 5)) == pytest.approx(val, abs=1e-5)


def test_ms_ssim_small_frames_are_labelled():
    a, b = _pair(144, 176)  # QCIF/carphone: 4 scales
    val, scales = ms_ssim(a, b)
    assert scales == 4 and 0 < val < 1
    assert ms_ssim(a, a) == (pytest.approx(1.0), 4)
    worse, _ = ms_ssim(a, _pair(144, 176, noise=0.2)[1])
    assert worse < val
    q = frame_quality(*_pair(8, 30))
    assert q.ms_ssim is None and q.ms_ssim_scales == 0 and q.psnr_rgb > 0


def test_mean_quality():
    qs = [frame_quality(*_pair(48, 64, seed=s)) for s in range(3)]
    m = mean_quality(qs)
    assert m["psnr_rgb"] == pytest.approx(sum(q.psnr_rgb for q in qs) / 3)
    assert m["ms_ssim_scales"] == 3 and 0 < m["ms_ssim"] < 1


def test_encoder_can_leave_ms_ssim_out(carphone_frames, slim_init):
    """Same bytes and PSNRs; MS-SSIM is None per frame and in the summary."""
    from amgap.coding import encode_video

    frames = carphone_frames[:2]
    full = encode_video(frames, slim_init, fps=30, num_frames=2)
    lean = encode_video(frames, slim_init, fps=30, num_frames=2, ms_ssim=False)
    assert lean.to_bytes() == full.to_bytes()
    assert [s.psnr_rgb for s in lean.stats] == [s.psnr_rgb for s in full.stats]
    assert all(s.quality.ms_ssim is None for s in lean.stats)
    assert full.to_json()["ms_ssim"] is not None and lean.to_json()["ms_ssim"] is None
