"""Flow units of the slim SSF (``SlimConfig.flow_ref``; CompressAI issue #307).

CompressAI's warp reads the decoded flow in grid_sample's [-1, 1] coordinates of the
frame being coded, so one network output moves pixels proportionally to the frame's
width. With ``flow_ref=N`` the flow means the same pixel displacement at any size."""

from __future__ import annotations

import torch

from amgap.codecs.ssf import SlimConfig, SlimScaleSpaceFlow
from amgap.models import weights_hash

SHARP = -1.0  # scale field -1: level 0 of the scale-space volume (no blur)


def _shift_of(model: SlimScaleSpaceFlow, width: int, flow_x: float) -> float:
    """Horizontal pixel shift the warp applies to a ramp image of ``width`` columns."""
    torch.manual_seed(0)
    ramp = torch.arange(width, dtype=torch.float32).expand(1, 3, 32, width).contiguous()
    info = torch.zeros(1, 3, 32, width)
    info[:, 0] = flow_x
    info[:, 2] = SHARP
    out = model.forward_prediction(ramp, info)
    mid = out[0, 0, 16, width // 4: 3 * width // 4]  # away from the border clamp
    return float((mid - ramp[0, 0, 16, width // 4: 3 * width // 4]).mean())


def test_flow_ref_is_a_pixel_unit():
    tiny = dict(mid=8, latent=8, hyper=8)
    compressai_units = SlimScaleSpaceFlow(SlimConfig(**tiny))
    pixel_units = SlimScaleSpaceFlow(SlimConfig(**tiny, flow_ref=128))
    f = 1 / 16  # 4 px on a 128-px frame
    assert abs(_shift_of(compressai_units, 128, f) - 4) < 1e-3
    assert abs(_shift_of(pixel_units, 128, f) - 4) < 1e-3
    assert abs(_shift_of(compressai_units, 512, f) - 16) < 1e-3  # grows with the width
    assert abs(_shift_of(pixel_units, 512, f) - 4) < 1e-3  # as trained


def test_flow_ref_leaves_training_size_untouched_and_is_hashed():
    tiny = dict(mid=8, latent=8, hyper=8)
    torch.manual_seed(1)
    a = SlimScaleSpaceFlow(SlimConfig(**tiny))
    b = SlimScaleSpaceFlow(SlimConfig(**tiny, flow_ref=128))
    b.load_state_dict(a.state_dict())
    x, info = torch.rand(2, 3, 128, 128), torch.randn(2, 3, 128, 128) * 0.1
    assert torch.equal(a.forward_prediction(x, info), b.forward_prediction(x, info))
    assert weights_hash(a) != weights_hash(b)  # other frames elsewhere: another model
