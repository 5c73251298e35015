"""Do the small AIVC / LHBDC networks learn? A short CPU run on registry video.

    PYTHONPATH=src python scripts/arch_sanity.py aivc 300
    PYTHONPATH=src python scripts/arch_sanity.py lhbdc 300

Trains on (before, current, after) 64x64 crops of ``bigbuckbunny`` frames 0-87 (frame
spacing 1-4), every frame type per step, and prints held-out (frames 100+) bpp and
PSNR per frame type from the training forward (noisy rates), before and after. Not a
training recipe: no schedule, no checkpoint; it only shows that the losses move.
"""

from __future__ import annotations

import sys
import time

import torch

from amgap.codecs.aivc_net import AIVCNet
from amgap.codecs.lhbdc_net import LHBDCNet
from amgap.codecs.net_blocks import rd_loss
from amgap.io import open_video

LAMBDA = 0.0483  # amgap's q4


def _crops(frames: torch.Tensor, g: torch.Generator, first: int, span: int,
           n: int = 4, size: int = 64) -> list[torch.Tensor]:
    _, _, h, w = frames.shape
    t0 = torch.randint(first, first + span, (n,), generator=g)
    d = torch.randint(1, 5, (n,), generator=g)
    ys = torch.randint(0, h - size + 1, (n,), generator=g)
    xs = torch.randint(0, w - size + 1, (n,), generator=g)

    def crop(t: torch.Tensor) -> torch.Tensor:
        return torch.stack([frames[int(t[i]), :, int(ys[i]):int(ys[i]) + size,
                                   int(xs[i]):int(xs[i]) + size] for i in range(n)])

    return [crop(t0), crop(t0 + d), crop(t0 + 2 * d)]


def _forwards(net, before, x, after) -> dict:
    outs = {"I": net.forward_keyframe(x), "B": net.forward_b(x, before, after)}
    if isinstance(net, AIVCNet):
        outs["P"] = net.forward_p(x, before)
    return outs


@torch.no_grad()
def _evaluate(net, frames: torch.Tensor) -> dict:
    net.eval()
    before, x, after = _crops(frames, torch.Generator().manual_seed(123), 100, 1)
    res = {}
    for k, (x_hat, lk) in _forwards(net, before, x, after).items():
        psnr = -10 * torch.log10(torch.mean((x_hat.clamp(0, 1) - x) ** 2))
        res[k] = (round(rd_loss(x, x_hat, lk, LAMBDA)[1].item(), 3), round(psnr.item(), 2))
    net.train()
    return res


def main(which: str, steps: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    frames = torch.stack(list(open_video("bigbuckbunny").frames(0, 120)))
    net = AIVCNet() if which == "aivc" else LHBDCNet()
    named = list(net.named_parameters())
    opt = torch.optim.Adam([p for n, p in named if not n.endswith("quantiles")], 2e-4)
    aux = torch.optim.Adam([p for n, p in named if n.endswith("quantiles")], 1e-3)
    print("start", _evaluate(net, frames), flush=True)
    g, t = torch.Generator().manual_seed(1), time.time()
    for step in range(steps):
        before, x, after = _crops(frames, g, 0, 80)
        outs = _forwards(net, before, x, after).values()
        loss = sum(rd_loss(x, x_hat, lk, LAMBDA)[0] for x_hat, lk in outs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        aux.zero_grad()
        net.aux_loss().backward()
        aux.step()
        if (step + 1) % 50 == 0:
            print(step + 1, round(loss.item(), 3), f"{time.time() - t:.0f}s", flush=True)
    print("end", _evaluate(net, frames), f"steps {steps}, {time.time() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
