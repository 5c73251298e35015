"""Peak memory of ``amgap encode`` and ``amgap decode`` on a synthetic video.

The encoder and decoder hold one segment (a GOP) at a time, so their peak memory should
not grow with the video's length. This writes a synthetic 8-bit 4:2:0 Y4M (a panned crop
of an opencv-doc photo, or a generated texture when that is not installed) to a temporary
folder, then runs ``amgap encode`` and ``amgap decode -o out.y4m --reference video.y4m``
each in a fresh process and reports each one's peak resident set size (``ru_maxrss``),
in MiB and as a ratio to the video's raw size (8-bit 4:2:0 bytes, and float32 RGB as the
codec sees it), beside the peak of a process that only imports the libraries and loads
the model (about 1 GiB with a CUDA build of PyTorch: the floor of every run). The target
of issue 15: at most 2 GB for 300 frames of 1080p at GOP 16.

The full measurement (long: minutes per frame count on a laptop CPU, and about 1 GB of
temporary disk for the input and as much for the decoded output)::

    python benchmarks/memory.py --frames 300 --size 1920x1080 --gop-size 16

A quick run::

    python benchmarks/memory.py --frames 32 --size 640x360

Run twice at two frame counts (e.g. 16 and 64) to see that the peak does not grow with
the length of the video.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/baboon.jpg")


def _canvas(width: int, height: int, frames: int) -> torch.Tensor:
    """An RGB picture larger than a frame by the pan's extent (2 px/frame right, 1 down)."""
    cw, ch = width + 2 * frames, height + frames
    if PHOTO.exists():
        from PIL import Image

        with Image.open(PHOTO) as im:
            arr = np.asarray(im.convert("RGB").resize((cw, ch), Image.BICUBIC))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.arange(ch), torch.arange(cw), indexing="ij")
    waves = torch.stack([torch.sin(x / 7.0 + c) * torch.cos(y / 11.0 - c) for c in range(3)])
    return (0.5 + 0.35 * waves + 0.15 * torch.rand(3, ch, cw, generator=g)).clamp(0, 1)


def write_synthetic(path: Path, width: int, height: int, frames: int, fps: int = 30) -> None:
    """A moving video written frame by frame (never held whole)."""
    from amgap.io import write_y4m

    canvas = _canvas(width, height, frames)
    crops = (canvas[:, i:i + height, 2 * i:2 * i + width] for i in range(frames))
    write_y4m(path, crops, Fraction(fps))


def _baseline(model: str | None) -> int:
    """What every run pays before its first frame: the libraries and the model."""
    import amgap.coding  # noqa: F401  (what encode and decode import)
    from amgap.api import load_model
    from amgap.models import make_codec

    make_codec(load_model(name=model))
    return 0


def _child(argv: list[str]) -> None:
    """Run one amgap command in this process; print its peak RSS (MiB) and time."""
    from amgap.cli import main

    t0 = time.perf_counter()
    rc = _baseline(argv[1] or None) if argv[0] == "baseline" else main(argv)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"rc": rc, "peak_mib": peak, "seconds": time.perf_counter() - t0}))


def measure(argv: list[str]) -> dict:
    """Peak RSS of ``amgap ARGV`` in a fresh interpreter (its own ``ru_maxrss``)."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(argv)],
                         check=True, capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"amgap {' '.join(argv)} failed ({res['rc']}): {out.stderr[-500:]}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT")
    ap.add_argument("--gop-size", type=int, default=16)
    ap.add_argument("--model", default=None, help="zoo model (default: the zoo's default)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return _child(json.loads(args.child))
    width, height = (int(v) for v in args.size.lower().split("x"))
    model = ["--model", args.model] if args.model else []
    with tempfile.TemporaryDirectory(prefix="amgap-mem-") as tmp:
        video, amg = Path(tmp, "video.y4m"), Path(tmp, "video.amg")
        write_synthetic(video, width, height, args.frames)
        base = measure(["baseline", args.model or ""])
        enc = measure(["encode", str(video), "-o", str(amg), "--gop-size",
                       str(args.gop_size), "--quiet", *model])
        dec = measure(["decode", str(amg), "-o", str(Path(tmp, "out.y4m")), "--reference",
                       str(video), "--quiet"])
    raw420 = args.frames * width * height * 1.5
    raw_rgb32 = args.frames * width * height * 3 * 4
    print(f"{args.frames} frames {width}x{height}, GOP {args.gop_size}: raw 4:2:0 "
          f"{raw420 / 1e6:.0f} MB, float32 RGB {raw_rgb32 / 1e6:.0f} MB (measured under "
          f"whatever else runs on this machine)")
    print(f"  libraries + model (no frames): {base['peak_mib']:.0f} MiB")
    for name, r in (("encode", enc), ("decode", dec)):
        mib = r["peak_mib"]
        work = mib - base["peak_mib"]
        print(f"  {name}: peak RSS {mib:.0f} MiB ({mib * 2**20 / raw420:.2f}x raw 4:2:0, "
              f"{mib * 2**20 / raw_rgb32:.2f}x float RGB; {work:.0f} MiB above the "
              f"libraries), {r['seconds']:.0f} s"
              f"{'  [over the 2 GiB target]' if mib > 2048 else ''}")


if __name__ == "__main__":
    main()
