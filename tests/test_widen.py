"""Function-preserving widening of the slim transforms (amgap.train.widen)."""

import copy

import pytest
import torch

from amgap.codecs.layers import analysis_stack, synthesis_stack
from amgap.models import init_model, load_checkpoint, save_checkpoint
from amgap.train.widen import widen_ssf_image_codec, widen_stack


@pytest.mark.parametrize("make,cin,shape", [(analysis_stack, 3, (2, 3, 64, 48)),
                                            (synthesis_stack, 16, (2, 16, 4, 3))])
def test_widened_stack_computes_the_same_function(make, cin, shape):
    torch.manual_seed(0)
    narrow = make(cin, 12, 8 if make is analysis_stack else 3)
    wide = widen_stack(narrow, 29, seed=3)
    x = torch.randn(*shape)
    assert torch.allclose(narrow(x), wide(x), atol=1e-5)
    assert wide[0].weight.shape[1 if make is synthesis_stack else 0] == 29


def test_copies_of_a_channel_get_different_gradients():
    torch.manual_seed(0)
    wide = widen_stack(analysis_stack(3, 4, 4), 8, seed=0)
    wide(torch.randn(1, 3, 32, 32)).square().sum().backward()
    g = wide[0].weight.grad  # channels 4..7 are copies of channels 0..3
    first = wide[0].weight.detach()
    for j in range(4, 8):
        parent = next(i for i in range(4) if torch.equal(first[i], first[j]))
        assert not torch.allclose(g[j], g[parent])


def test_narrowing_is_refused():
    with pytest.raises(ValueError, match="cannot narrow"):
        widen_stack(analysis_stack(3, 16, 8), 8)


def test_widened_ssf_checkpoint_loads_with_its_width(tmp_path):
    loaded = init_model("ssf-slim", seed=1)
    model = loaded.model.float().eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before = model.img_decoder(model.img_encoder(x))
        wide = widen_ssf_image_codec(copy.deepcopy(model), 2 * model.config.mid)
    save_checkpoint(tmp_path / "w.pth", wide, loaded.arch, wide.config_dict())
    back = load_checkpoint(tmp_path / "w.pth").model.eval()
    assert back.config.img_mid == 2 * model.config.mid
    with torch.no_grad():
        assert torch.allclose(back.img_decoder(back.img_encoder(x)), before, atol=1e-4)
