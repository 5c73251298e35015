"""Does a model's motion path predict anything? Prediction PSNR against copying a reference.

    python benchmarks/motion_use.py [--model amgap-aivc] [--quality 4] [--checkpoint PATH]
        [--clip carphone] [--distances 1,2,4]

For AIVC and LHBDC models (zoo name or checkpoint): the I frames are coded (rounded
latents, eval mode), then each inter frame at distance ``d`` is predicted from them with
its *decoded* motion latent, as the decoder would: P frames (AIVC) from frame 0, B frames
from frames 0 and 2d. Printed per (type, d): PSNR-RGB of the motion-compensated
prediction, of the best plain copy of a reference (for B also their average), the motion
latent's rate (bpp, from the likelihoods), and for AIVC the share of pixels sent through
the frame codec (``alpha`` > 0.5) and the mean bi-prediction weight ``beta``.

Why: Table I's motion rows describe a motion latent; if the prediction is worse than a
copy (AIVC's shipped instances were: ``alpha`` ~ 1 everywhere), those rows measure bits
that buy nothing, and a reader should know before comparing them with the paper's.
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F

from amgap.codecs.gop import FrameType
from amgap.codecs.net_blocks import latent_forward
from amgap.io import open_video
from amgap.models import load_model


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return -10.0 * math.log10(float(F.mse_loss(a.clamp(0, 1), b)))


def _bpp(lk: dict, pixels: int) -> float:
    return float(sum(-torch.log2(v).sum() for v in lk.values())) / pixels


def _motion(net, arch: str, ftype: FrameType, x: torch.Tensor, refs: list[torch.Tensor]):
    """(prediction, motion likelihoods, extra figures) from the decoded motion latent."""
    if arch == "aivc":
        y_m_hat, lk = latent_forward(net.mnet, net.motion_analysis(ftype, x, refs))
        mo = net.motion_synthesis(ftype, y_m_hat, refs)
        extra = {"coded": float((mo.alpha > 0.5).float().mean()),
                 "beta": float(mo.beta.mean())}
        return mo.prediction, lk, extra
    y_m_hat, lk = latent_forward(net.mv_compressor, net.motion_analysis(x, refs))
    mo = net.motion_synthesis(y_m_hat, refs)
    return mo.prediction, lk, {"mask": float(mo.mask.mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="amgap-aivc")
    ap.add_argument("--quality", type=int, default=4)
    ap.add_argument("--checkpoint")
    ap.add_argument("--arch")
    ap.add_argument("--clip", default="carphone")
    ap.add_argument("--distances", default="1,2,4")
    args = ap.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(name=None if args.checkpoint else args.model,
                        checkpoint=args.checkpoint, arch=args.arch, quality=args.quality)
    net, arch = loaded.model.eval(), loaded.arch
    if arch not in ("aivc", "lhbdc"):
        raise SystemExit(f"motion_use: {arch} models are not measured (aivc, lhbdc)")
    dists = [int(d) for d in args.distances.split(",")]
    frames = list(open_video(args.clip).frames(0, 2 * max(dists) + 1))
    m = net.config.pad_multiple
    h, w = frames[0].shape[-2:]
    pad = [F.pad(f[None], (0, (-w) % m, 0, (-h) % m), mode="replicate") for f in frames]
    crop = (..., slice(0, h), slice(0, w))
    print(f"{loaded.name or args.checkpoint} q{args.quality} on {args.clip} ({w}x{h})")
    print("| frame | d | prediction dB | copy dB | motion bpp | other |")
    print("|---|---|---|---|---|---|")
    with torch.no_grad():
        i0 = net.forward_keyframe(pad[0])[0]
        for d in dists:
            x = pad[d]
            i2 = net.forward_keyframe(pad[2 * d])[0]
            kinds = [("P", FrameType.P, [i0])] if arch == "aivc" else []
            kinds.append(("B", FrameType.B, [i0, i2]))
            for name, ftype, refs in kinds:
                pred, lk, extra = _motion(net, arch, ftype, x, refs)
                copies = [_psnr(r[crop], frames[d][None]) for r in refs]
                copy = f"{max(copies):.2f}"
                if len(refs) == 2:
                    copy += f" (mean {_psnr(((refs[0] + refs[1]) / 2)[crop], frames[d][None]):.2f})"
                other = ", ".join(f"{k} {v:.3f}" for k, v in extra.items())
                print(f"| {name} | {d} | {_psnr(pred[crop], frames[d][None]):.2f} | {copy} "
                      f"| {_bpp(lk, h * w):.4f} | {other} |")


if __name__ == "__main__":
    main()
