"""``amgap`` command line: encode, decode, info, train, zoo.

Every user error ends as one line on stderr and a non-zero exit (2 usage, 1 bad data);
``--json`` prints exactly one JSON object on stdout; progress bars go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from fractions import Fraction
from pathlib import Path

from ._argtypes import list_of, positive_fraction
from ._version import __version__
from .errors import AmgapError, UsageError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise UsageError(message)


GOPS = ["ssf", "lhbdc", "aivc", "intra"]
MODES = ["off", "paper", "optimal"]


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


def _build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="amgap", description="Measure and close the amortization gap of "
                 "neural video codecs on real bitstreams.")
    ap.add_argument("--version", action="version", version=f"amgap {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("encode", help="encode a video into an .amg bitstream")
    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="output .amg file")
    _add_model_args(p)
    p.add_argument("--gop", choices=GOPS, help="GOP structure (default: ssf; lhbdc for I/B "
                   "codecs, intra for image codecs; lhbdc and aivc need a model with B frames)")
    p.add_argument("--gop-size", type=int, default=16)
    p.add_argument("--reparam", choices=["off", "paper", "optimal"], default="optimal",
                   help="per-frame table replacement (decoded frames are identical)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

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
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("analyze", help="amortization gap: Table I, report.json, figures")
    p.add_argument("inputs", nargs="+", help="videos (files, folders or sample names)")
    p.add_argument("--model")
    _add_checkpoint_args(p)
    p.add_argument("--quality", "-q", default=[1, 4], **list_of(int))
    p.add_argument("--gop", choices=GOPS,
                   help="default: ssf, lhbdc for I/B codecs, intra for image codecs")
    p.add_argument("--reparam", choices=["off", "paper", "optimal"], default="optimal",
                   help="mode whose real savings fill the Saving columns")
    p.add_argument("--frames", type=int, default=16, help="frames per GOP (the 'video')")
    p.add_argument("--gops", type=int, default=1, help="consecutive GOPs per input")
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print report.json on stdout")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("evaluate", help="RD, BD-rate, gap and saving over a dataset")
    p.add_argument("dataset", nargs="+", help="video files, folders, sample names")
    p.add_argument("--model")
    _add_checkpoint_args(p)
    p.add_argument("--gop", default=None, help="GOP structures, space or comma list (default: "
                   "ssf, or intra for image codecs)", **list_of(str, GOPS, "GOP"))
    p.add_argument("--quality", "-q", default=[1, 2, 3, 4], **list_of(int))
    p.add_argument("--reparam", default=MODES, help="modes (space or comma list)",
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
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("info", help="show an .amg header and per-frame sizes")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("zoo", help="list shipped models and their model cards")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("archs", help="list registered architectures (plug-ins included)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="train a codec (rate-distortion, CompressAI conventions)")
    p.add_argument("--out", required=True, help="run folder (resumes when it holds state.pt)")
    p.add_argument("--arch", default="ssf-slim")
    p.add_argument("--width-config", default=None,
                   help="architecture widths, k=v comma list (default: the architecture's; "
                        "ssf-slim/bflow-slim: mid=64,latent=64,hyper=48,hyper_depth=2)")
    p.add_argument("--lambda", dest="lmbda", type=float, default=0.0483)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--clip-frames", type=int, default=None,
                   help="frames per training clip (default 2; 3 for B-frame architectures)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", help="fine-tune from this checkpoint (raw state dicts: as --arch)")
    p.add_argument("--videos", nargs="+", help="training videos (default: registry videos)")
    p.add_argument("--max-frames", type=int, default=300)
    p.add_argument("--quiet", action="store_true")
    return ap


def _open_input(args):
    from .io import open_video

    if args.start < 0 or (args.frames is not None and args.frames < 1):
        raise UsageError("--start must be >= 0 and --frames >= 1")
    reader = open_video(args.input, width=args.width, height=args.height, fps=args.fps,
                        bitdepth=args.bitdepth)
    return reader


def _load(args, quality: int):
    from .api import load_model

    return load_model(name=args.model, checkpoint=args.checkpoint, arch=args.arch,
                      quality=quality)


def _pick_model(args, gops: list[str] | None, quality: int) -> str | None:
    """``--model`` for these GOPs (the zoo's B-frame model when none was named and a GOP
    needs B frames; refused before any work when the named one has none)."""
    from .api import B_GOPS, model_for_gops

    if not gops:
        return args.model
    name = model_for_gops(args.model, gops, checkpoint=args.checkpoint, arch=args.arch,
                          quality=quality)
    if name != args.model:
        need = ", ".join(g for g in gops if g in B_GOPS)
        print(f"amgap: GOP {need} needs B frames: using --model {name}",
              file=sys.stderr)
    return name


def cmd_encode(args) -> int:
    from .api import encode
    from .bitstream import write_file
    from .codecs.gop import GOP_IDS

    if os.path.isdir(args.output):
        raise UsageError(f"{args.output}: is a directory, expected an output .amg file")
    from .io import check_file_output
    check_file_output(args.output)  # a missing or read-only folder fails now, not after encoding
    reader = _open_input(args)
    args.model = _pick_model(args, [args.gop] if args.gop else None, args.quality)
    loaded = _load(args, args.quality)
    res = encode(reader, loaded, frames=args.frames, start=args.start, gop=args.gop,
                 gop_size=args.gop_size, progress=not args.quiet, reparam=args.reparam,
                 keep_streams=False)  # frames are read and released segment by segment
    data = res.to_bytes()
    write_file(args.output, data)
    h = res.header
    report = res.to_json()
    gop = {v: k for k, v in GOP_IDS.items()}[h.gop_structure]
    report.update(model=loaded.name, arch=loaded.arch, quality=loaded.quality, gop=gop,
                  output=args.output, reparam=args.reparam,
                  input_files=reader.files_read(args.start, h.num_frames))
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.output}: {report['frames']} frames {h.width}x{h.height}, {len(data)} bytes, "
              f"{report['bpp']:.4f} bpp, PSNR-RGB {report['psnr_rgb']:.2f} dB, "
              f"PSNR-Y {report['psnr_y']:.2f} dB ({loaded.name} q{loaded.quality})",
              file=sys.stderr)
    return 0


def _open_reference(path: str, start: int, header):
    """The reference video for ``decode --reference``, checked before any decoding: its
    frames from ``start`` must cover the stream (same size, at least as many frames)."""
    from .io import open_video

    if start < 0:
        raise UsageError("--start must be >= 0")
    reader = open_video(path)
    info, n = reader.info, header.num_frames
    if (info.width, info.height) != (header.width, header.height):
        raise UsageError(f"{path}: frames are {info.width}x{info.height}, the stream's are "
                         f"{header.width}x{header.height}")
    if info.num_frames is not None and info.num_frames - start < n:
        raise UsageError(f"{path}: {max(0, info.num_frames - start)} frames from --start "
                         f"{start}, fewer than the stream's {n}")
    return reader


def _measured(frames, reader, start: int, n: int):
    """Decoded frames (display order), each measured against its reference frame as it
    passes: neither video is held whole."""
    ref = reader.frames(start, n)
    for st, rec in frames:
        orig = next(ref, None)
        if orig is None:
            raise UsageError(f"{reader.path}: fewer frames from --start {start} than the "
                             f"stream's {n}")
        st.measure(orig, rec)
        yield st, rec


def cmd_decode(args) -> int:
    from .api import open_decoder
    from .coding import summary
    from .io import check_output, output_target, write_video

    target = output_target(args.output)  # a supported output, or one line listing them
    check_output(target)  # before any work: writable, and never clobbering a user's folder
    if target.kind == "stdout" and args.json:
        raise UsageError("-o - writes the video on stdout: --json cannot share it")
    dec = open_decoder(args.input, checkpoint=args.checkpoint, arch=args.arch,
                       force=args.force, max_pixels=args.max_pixels)
    header = dec.header
    frames = dec.frames(progress=not args.quiet)
    if args.reference:
        reader = _open_reference(args.reference, args.start, header)
        frames = _measured(frames, reader, args.start, header.num_frames)
    out = args.output
    # frames are decoded, measured and written one at a time (a file output appears
    # only when complete)
    write_video(target, (rgb for _, rgb in frames), Fraction(header.fps_num, header.fps_den))
    size = os.path.getsize(args.input)
    report = summary(header, size, dec.stats)
    report.update(verified=dec.verified, first_mismatch=dec.first_mismatch, output=out,
                  model=header.model_name, quality=header.quality)
    if args.json:
        print(json.dumps(report))
    else:
        state = "verified" if dec.verified else \
            f"NOT verified (first mismatch: frame {dec.first_mismatch})"
        print(f"{out}: {header.num_frames} frames {header.width}x{header.height}, {state}",
              file=sys.stderr)
    return 0 if dec.verified else 1


def cmd_info(args) -> int:
    from .bitstream import pack_frame, read_file
    from .codecs.gop import GOP_IDS

    header, records = read_file(args.input)
    gops = {v: k for k, v in GOP_IDS.items()}
    kinds = ["motion-side", "motion-main", "residual-side", "residual-main"]
    info = {
        "file": args.input, "bytes": os.path.getsize(args.input), "width": header.width,
        "height": header.height, "frames": header.num_frames,
        "fps": header.fps_num / header.fps_den, "gop": gops.get(header.gop_structure, "?"),
        "gop_size": header.gop_size, "model": header.model_name, "quality": header.quality,
        "model_source": ["zoo", "checkpoint", "init"][header.model_source]
        if header.model_source < 3 else header.model_source,
        "weights_hash": header.weights_hash.hex(),
        "reparam": {0: "off", 1: "paper", 2: "optimal"}.get(header.reparam_mode,
                                                           header.reparam_mode),
        "per_frame": [{"coding_index": i, "index": r.display_index,
                       "type": "IPB"[r.frame_type], "bytes": len(pack_frame(r)),
                       "streams": {kinds[s.kind]: len(s.data) for s in r.streams},
                       "param_bytes": {kinds[s.kind]: len(s.params) for s in r.streams
                                       if s.params}}
                      for i, r in enumerate(records)],
    }
    info["bpp"] = info["bytes"] * 8 / (header.width * header.height * header.num_frames)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{args.input}: {info['frames']} frames {header.width}x{header.height} "
          f"@ {info['fps']:.3f} fps, GOP {info['gop']}/{header.gop_size}, "
          f"model {header.model_name} q{header.quality} ({info['model_source']}), "
          f"reparam {info['reparam']}, {info['bytes']} bytes, {info['bpp']:.4f} bpp "
          "(stream sizes: rANS bytes + reparameterization bytes 'p')")
    for f in info["per_frame"]:
        streams = " ".join(f"{k}={v}" + (f"+{f['param_bytes'][k]}p" if k in f["param_bytes"]
                                         else "") for k, v in f["streams"].items())
        print(f"  #{f['coding_index']:<4d} frame {f['index']:<4d} {f['type']} "
              f"{f['bytes']:>8d} B  {streams}")
    return 0


def cmd_zoo(args) -> int:
    from .zoo import default_model_name, zoo_entries

    entries = zoo_entries()
    if args.json:
        print(json.dumps({"default": default_model_name(), "models": entries}))
        return 0
    if not entries:
        print("zoo is empty; use --model init:ssf-slim (untrained) or --checkpoint PATH")
    for e in entries:
        rd = e.get("carphone_rd") or {}
        extra = f"  carphone: {rd.get('bpp', 0):.3f} bpp {rd.get('psnr_rgb', 0):.2f} dB" \
            if rd else ""
        print(f"{e.get('name')} q{e.get('quality')}  {e.get('arch')}  λ={e.get('lambda')}  "
              f"{e.get('steps')} steps  {e['size_bytes'] / 1e6:.1f} MB{extra}")
    return 0


def cmd_train(args) -> int:
    from .train import TrainConfig, train
    from .train.loop import check_config

    widths = None
    if args.width_config is not None:
        try:
            widths = {k: int(v) for k, v in (kv.split("=") for kv in
                                             args.width_config.split(",") if kv)}
        except ValueError as exc:
            raise UsageError(f"bad --width-config {args.width_config!r}") from exc
    kw = {"videos": args.videos} if args.videos else {}
    cfg = check_config(TrainConfig(
        out=args.out, arch=args.arch, config=widths, lmbda=args.lmbda, steps=args.steps,
        batch=args.batch, crop=args.crop, frames=args.clip_frames, lr=args.lr, seed=args.seed,
        init=args.init, max_frames=args.max_frames, **kw))
    try:
        final = train(cfg, progress=not args.quiet)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    print(f"trained: {final}", file=sys.stderr)
    return 0


def cmd_analyze(args) -> int:
    from .api import analyze

    model = _pick_model(args, [args.gop] if args.gop else None, args.quality[0])
    res = analyze(args.inputs, model, checkpoint=args.checkpoint, arch=args.arch,
                  qualities=args.quality, gop=args.gop, frames=args.frames, gops=args.gops,
                  start=args.start, reparam=args.reparam, out=args.out,
                  progress=not args.quiet)
    if args.json:
        print(json.dumps(res.report))
    else:
        print(Path(args.out, "table1.md").read_text())
    return 0


def cmd_evaluate(args) -> int:
    from .api import evaluate

    gops = list(dict.fromkeys(args.gop)) if args.gop else None
    modes = list(dict.fromkeys(args.reparam))
    engine = "dask" if args.dask else args.engine
    model = _pick_model(args, gops, args.quality[0])
    try:
        summary = evaluate(args.dataset, model, checkpoint=args.checkpoint, arch=args.arch,
                           gops=gops, qualities=args.quality, modes=modes, frames=args.frames,
                           start=args.start, out=args.out, engine=engine, address=args.dask,
                           workers=args.workers, progress=not args.quiet,
                           metric=args.metric)
    except ImportError as exc:
        raise UsageError(f"--engine dask needs Dask: pip install 'amgap[cluster]' ({exc})") \
            from exc
    if args.json:
        print(json.dumps(summary))
    else:
        print(Path(args.out, "summary.md").read_text())
    return 0


def cmd_archs(args) -> int:
    from .api import list_codecs

    info = list_codecs()
    if args.json:
        print(json.dumps(info))
        return 0
    for a in info["architectures"]:
        base = f" (extends {a['extends_base']})" if a["extends_base"] else ""
        print(f"{a['name']:<28} {'/'.join(a['frame_types']):<6} {a['origin']:<24} "
              f"{a['description']}{base}")
    for name, why in info["refused"].items():
        print(f"{name:<28} refused: {why}")
    for err in info["plugin_errors"]:
        print(f"plug-in error: {err}")
    return 0


COMMANDS = {"analyze": cmd_analyze, "evaluate": cmd_evaluate, "encode": cmd_encode,
            "decode": cmd_decode, "info": cmd_info, "zoo": cmd_zoo, "train": cmd_train,
            "archs": cmd_archs}


EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away


def _stdout_closed() -> int:
    """stdout's reader went away (``amgap ... | head``): stop quietly with 141, as a C tool
    killed by SIGPIPE does, so ``set -o pipefail`` scripts see a cut output, not success.
    stdout is pointed at /dev/null so Python's flush at exit cannot fail a second time."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured)
        pass
    return EXIT_PIPE


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        rc = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe surfaces here, not at interpreter exit
        return rc
    except BrokenPipeError:
        return _stdout_closed()
    except AmgapError as exc:
        print(f"amgap: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("amgap: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("amgap: error: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for users; AMGAP_DEBUG=1 shows it
        if os.environ.get("AMGAP_DEBUG"):
            raise
        msg = str(exc).splitlines()[0][:200] if str(exc) else ""
        print(f"amgap: internal error: {type(exc).__name__}: {msg} "
              "(set AMGAP_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
