"""Does a model's motion path predict anything? Prediction PSNR against copying a reference.

    python benchmarks/motion_use.py [--model amgap-aivc] [--quality 4] [--checkpoint PATH]
        [--clip carphone] [--distances 1,2,4]

For AIVC, LHBDC and SSF models (zoo name or checkpoint): the I frames are coded (rounded
latents, eval mode), then each inter frame at distance ``d`` is predicted from them with
its *decoded* motion latent, as the decoder would: P frames (AIVC, SSF) from frame 0,
B frames from frames 0 and 2d. Printed per (type, d): PSNR-RGB of the motion-compensated
prediction, of the best plain copy of a reference (for B also their average), the motion
latent's rate (bpp, from the likelihoods), and for AIVC the share of pixels sent through
the frame codec (``alpha`` > 0.5) and the mean bi-prediction weight ``beta``; for SSF
the residual's rate and the reconstructed frame's PSNR (what the residual adds to the
prediction).

Why: Table I's motion rows describe a motion latent; if the prediction is worse than a
copy (AIVC's shipped instances were: ``alpha`` ~ 1 everywhere), those rows measure bits
that buy nothing, and a reader should know before comparing them with the paper's. For
SSF it says where a P frame's bits go (how far the zoo is from x264 on video, issue 12).
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

SSF_ARCHS = ("ssf-slim", "ssf2020")


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
    if arch in SSF_ARCHS:
        return _ssf_motion(net, x, refs[0])
    y_m_hat, lk = latent_forward(net.mv_compressor, net.motion_analysis(x, refs))
    mo = net.motion_synthesis(y_m_hat, refs)
    return mo.prediction, lk, {"mask": float(mo.mask.mean())}


def _ssf_motion(net, x: torch.Tensor, ref: torch.Tensor):
    """SSF's P frame as its training forward codes it (CompressAI's layers, rounded
    latents in eval mode); the extras carry the residual's rate and the reconstruction."""
    y_m_hat, lk = net.motion_hyperprior(net.motion_encoder(torch.cat((x, ref), dim=1)))
    pred = net.forward_prediction(ref, net.motion_decoder(y_m_hat))
    y_r_hat, lk_r = net.res_hyperprior(net.res_encoder(x - pred))
    recon = pred + net.res_decoder(torch.cat((y_r_hat, y_m_hat), dim=1))
    return pred, lk, {"residual_lk": lk_r, "recon": recon}


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
    if arch not in ("aivc", "lhbdc", *SSF_ARCHS):
        raise SystemExit(f"motion_use: {arch} models are not measured "
                         f"(aivc, lhbdc, {', '.join(SSF_ARCHS)})")
    dists = [int(d) for d in args.distances.split(",")]
    frames = list(open_video(args.clip).frames(0, 2 * max(dists) + 1))
    m = 128 if arch == "ssf2020" else \
        net.config.side_stride if arch in SSF_ARCHS else net.config.pad_multiple
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
            kinds = [("P", FrameType.P, [i0])] if arch in ("aivc", *SSF_ARCHS) else []
            if arch not in SSF_ARCHS:
                kinds.append(("B", FrameType.B, [i0, i2]))
            for name, ftype, refs in kinds:
                pred, lk, extra = _motion(net, arch, ftype, x, refs)
                copies = [_psnr(r[crop], frames[d][None]) for r in refs]
                copy = f"{max(copies):.2f}"
                if len(refs) == 2:
                    copy += f" (mean {_psnr(((refs[0] + refs[1]) / 2)[crop], frames[d][None]):.2f})"
                if "recon" in extra:  # SSF: the residual's rate and what it adds
                    extra = {"residual bpp": _bpp(extra["residual_lk"], h * w),
                             "reconstruction dB": _psnr(extra["recon"][crop],
                                                        frames[d][None])}
                other = ", ".join(f"{k} {v:.3f}" for k, v in extra.items())
                print(f"| {name} | {d} | {_psnr(pred[crop], frames[d][None]):.2f} | {copy} "
                      f"| {_bpp(lk, h * w):.4f} | {other} |")


if __name__ == "__main__":
    main()
