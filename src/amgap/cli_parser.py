"""The ``amgap`` argument parser: one function per subcommand, choices from the syntax
tables (``bitstream.syntax``), list options that take ``1 2`` and ``1,2`` alike."""

from __future__ import annotations

import argparse

from ._argtypes import int_mapping, list_of, positive_fraction
from ._version import __version__
from .bitstream.syntax import EVAL_MODES, GopId, ReparamMode, names
from .errors import UsageError

__all__ = ["build_parser", "GOPS", "MODES"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(message)


GOPS = names(GopId)
MODES = names(ReparamMode)


def _add_checkpoint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="checkpoint file: amgap's, a raw or DDP state dict, "
                                        "or CompressAI examples/train.py output")
    p.add_argument("--arch", help="architecture of --checkpoint (amgap archs); amgap "
                                  "checkpoints carry theirs")


def _add_model_args(p: argparse.ArgumentParser, quality_default: int | None = 4) -> None:
    p.add_argument("--model", help="zoo model name, 'ssf2020', or 'init:ARCH' (seeded untrained)")
    _add_checkpoint_args(p)
    p.add_argument("--quality", "-q", type=int, default=quality_default,
                   help="zoo quality (1 = lowest rate); the seed for init:ARCH")


def _add_input_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file (.y4m, .yuv, mp4/avi/mkv...), PNG folder, or "
                                 "a sample name (carphone, bikes, ...)")
    p.add_argument("--frames", "-n", type=int, default=None, help="number of frames")
    p.add_argument("--start", type=int, default=0, help="first frame (0-based)")
    p.add_argument("--width", type=int, help="raw YUV width (when not in the file name)")
    p.add_argument("--height", type=int, help="raw YUV height")
    p.add_argument("--fps", type=positive_fraction, help="frame rate for raw YUV / PNG folders")
    p.add_argument("--bitdepth", type=int, help="raw YUV bit depth")


def _add_json_quiet(p: argparse.ArgumentParser, json_help: str = "print a JSON report on "
                    "stdout") -> None:
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _encode(sub) -> None:
    p = sub.add_parser("encode", help="encode a video into an .amg bitstream")
    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="output .amg file")
    _add_model_args(p)
    p.add_argument("--gop", choices=GOPS, help="GOP structure (default: ssf; lhbdc for I/B "
                   "codecs, intra for image codecs; lhbdc and aivc need a model with B frames)")
    p.add_argument("--gop-size", type=int, default=16,
                   help="frames per GOP; every GOP starts with a random-access I frame, "
                   "where the reparameterization state resets (intra: 1 = every frame)")
    p.add_argument("--reparam", choices=MODES, default="optimal",
                   help="per-frame table replacement (decoded frames are identical)")
    _add_json_quiet(p)


def _decode(sub) -> None:
    p = sub.add_parser("decode", help="decode an .amg bitstream to Y4M or a PNG folder")
    p.add_argument("input", help=".amg file")
    p.add_argument("-o", "--output", required=True,
                   help="output .y4m, .yuv (raw 4:2:0), - (Y4M on stdout), or a folder / a "
                        "name without extension (PNG frames)")
    _add_checkpoint_args(p)
    p.add_argument("--reference", help="original video, to report PSNR and MS-SSIM")
    p.add_argument("--start", type=int, default=0,
                   help="first reference frame: the --start the stream was encoded with")
    p.add_argument("--force", action="store_true",
                   help="decode even on model mismatch; report every mismatching frame")
    p.add_argument("--max-pixels", type=int, default=1 << 22,
                   help="refuse frames larger than this (memory bound; default 4194304)")
    _add_json_quiet(p)


def _analyze(sub) -> None:
    p = sub.add_parser("analyze", help="amortization gap: Table I, report.json, figures")
    p.add_argument("inputs", nargs="+", help="videos (files, folders or sample names)")
    p.add_argument("--model")
    _add_checkpoint_args(p)
    p.add_argument("--quality", "-q", default=[1, 4], **list_of(int))
    p.add_argument("--gop", choices=GOPS,
                   help="default: ssf, lhbdc for I/B codecs, intra for image codecs")
    p.add_argument("--reparam", choices=MODES, default="optimal",
                   help="mode whose real savings fill the Saving columns")
    p.add_argument("--frames", type=int, default=16, help="frames per GOP (the 'video')")
    p.add_argument("--gops", type=int, default=1, help="consecutive GOPs per input")
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    _add_json_quiet(p, "print report.json on stdout")


def _evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="RD, BD-rate, gap and saving over a dataset")
    p.add_argument("dataset", nargs="+", help="video files, folders, sample names")
    p.add_argument("--model")
    _add_checkpoint_args(p)
    p.add_argument("--gop", default=None, help="GOP structures, space or comma list (default: "
                   "ssf, or intra for image codecs)", **list_of(str, GOPS, "GOP"))
    p.add_argument("--quality", "-q", default=[1, 2, 3, 4], **list_of(int))
    p.add_argument("--reparam", default=list(EVAL_MODES), help="modes (space or comma "
                   f"list; default: {', '.join(EVAL_MODES)})",
                   **list_of(str, MODES, "mode"))
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--engine", choices=["local", "dask", "serial"], default="local",
                   help="local process pool (default), a Dask cluster, or serial")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="Dask scheduler address, or 'local' for a local cluster")
    p.add_argument("--workers", type=int, default=1, help="local processes / local Dask workers")
    p.add_argument("--metric", choices=["psnr", "ms-ssim"], default="psnr",
                   help="quality axis of the RD plots and BD-rates (MS-SSIM in dB)")
    _add_json_quiet(p)


def _info(sub) -> None:
    p = sub.add_parser("info", help="show an .amg header and per-frame sizes")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")


def _zoo(sub) -> None:
    p = sub.add_parser("zoo", help="list shipped models and their model cards")
    p.add_argument("--json", action="store_true")


def _archs(sub) -> None:
    p = sub.add_parser("archs", help="list registered architectures (plug-ins included)")
    p.add_argument("--json", action="store_true")


def _train(sub) -> None:
    p = sub.add_parser("train", help="train a codec (rate-distortion, CompressAI conventions)")
    p.add_argument("--out", required=True, help="run folder (resumes when it holds state.pt)")
    p.add_argument("--arch", default="ssf-slim")
    p.add_argument("--width-config", default=None, type=int_mapping,
                   help="architecture widths, k=v comma list (default: the architecture's; "
                        "ssf-slim/bflow-slim: mid=64,latent=64,hyper=48,hyper_depth=2)")
    p.add_argument("--lambda", dest="lmbda", type=float, default=0.0483)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--minutes", type=float, default=None,
                   help="train for about this much wall time instead of --steps: the run "
                   "plans its steps from its measured speed from step 60 on (a cosine "
                   "warm-up must last that long; --recipe v2's does with the default "
                   "--steps)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--clip-frames", type=int, default=None,
                   help="frames per training clip (default 2; 3 for B-frame architectures; "
                   "1 trains the I-frame codec alone)")
    p.add_argument("--recipe", choices=("v1", "v2"),
                   help="the zoo's training recipe (amgap.train.recipes; v2: warm-up + cosine "
                   "from 2e-4, halved with --init, 3-frame clips, three scales, photographs); "
                   "flags given here override it. Default: none (constant --lr, a 10x drop "
                   "for the last 15 %% of the steps)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 1e-4; with --recipe its peak, default the "
                   "recipe's, halved for a run from --init as the zoo's fine-tunes)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: torch's; 2 with --recipe v2)")
    p.add_argument("--warp-weight", type=float, default=0.0,
                   help="motion warm-up weight (LHBDC, AIVC: their training forward returns "
                   "a prediction MSE), falling linearly to 0 over --warp-steps")
    p.add_argument("--warp-steps", type=int, default=0)
    p.add_argument("--objective", choices=("rd", "motion"), default="rd",
                   help="rd: rate-distortion; motion: the motion estimator alone on its "
                   "photometric loss (LHBDC's SpyNet, before the rd stage)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", help="fine-tune from this checkpoint (raw state dicts: as --arch)")
    p.add_argument("--videos", nargs="+", help="training videos (default: registry videos)")
    p.add_argument("--max-frames", type=int, default=300)
    p.add_argument("--quiet", action="store_true")


SUBCOMMANDS = (_encode, _decode, _analyze, _evaluate, _info, _zoo, _archs, _train)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="amgap", description="Measure and close the amortization gap of "
                 "neural video codecs on real bitstreams.")
    ap.add_argument("--version", action="version", version=f"amgap {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(sub)
    return ap
