"""``amgap`` command line: argument parsing (``cli_parser``) and printing over the API.

Every user error ends as one line on stderr and a non-zero exit (2 usage, 1 bad data);
``--json`` prints exactly one JSON object on stdout; progress bars go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from fractions import Fraction
from pathlib import Path

from .cli_parser import build_parser
from .errors import AmgapError, UsageError


def _emit(args, obj: dict, text: str | None = None, rc: int = 0) -> int:
    """``--json``: the object on stdout; else ``text`` (when given) on stdout."""
    if args.json:
        print(json.dumps(obj))
    elif text is not None:
        print(text)
    return rc


def _open_input(args):
    from .io import open_video

    if args.start < 0 or (args.frames is not None and args.frames < 1):
        raise UsageError("--start must be >= 0 and --frames >= 1")
    return open_video(args.input, width=args.width, height=args.height, fps=args.fps,
                      bitdepth=args.bitdepth)


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
    from .bitstream.syntax import GopId
    from .io import check_file_output, check_not_input

    check_file_output(args.output)  # a folder, missing or read-only: now, not after encoding
    check_not_input(args.output, args.input)
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
    report.update(model=loaded.name, arch=loaded.arch, quality=loaded.quality,
                  gop=GopId(h.gop_structure).label, output=args.output, reparam=args.reparam,
                  input_files=reader.files_read(args.start, h.num_frames))
    if not args.json:
        print(f"{args.output}: {report['frames']} frames {h.width}x{h.height}, {len(data)} bytes, "
              f"{report['bpp']:.4f} bpp, PSNR-RGB {report['psnr_rgb']:.2f} dB, "
              f"PSNR-Y {report['psnr_y']:.2f} dB ({loaded.name} q{loaded.quality})",
              file=sys.stderr)
    return _emit(args, report)


def cmd_decode(args) -> int:
    from .api import measured, open_decoder
    from .coding import summary
    from .io import check_not_input, check_output, output_target, write_video

    target = output_target(args.output)  # a supported output, or one line listing them
    check_output(target)  # before any work: writable, and never clobbering a user's folder
    check_not_input(args.output, args.input, args.reference)
    if target.kind == "stdout" and args.json:
        raise UsageError("-o - writes the video on stdout: --json cannot share it")
    dec = open_decoder(args.input, checkpoint=args.checkpoint, arch=args.arch,
                       force=args.force, max_pixels=args.max_pixels)
    header = dec.header
    frames = dec.frames(progress=not args.quiet)
    if args.reference:
        frames = measured(frames, args.reference, args.start, header)
    # decoded, measured and written one frame at a time (a file appears when complete)
    write_video(target, (rgb for _, rgb in frames), Fraction(header.fps_num, header.fps_den))
    report = summary(header, os.path.getsize(args.input), dec.stats)
    report.update(verified=dec.verified, first_mismatch=dec.first_mismatch,
                  output=args.output, model=header.model_name, quality=header.quality)
    if not args.json:
        state = "verified" if dec.verified else \
            f"NOT verified (first mismatch: frame {dec.first_mismatch})"
        print(f"{args.output}: {header.num_frames} frames {header.width}x{header.height}, "
              f"{state}", file=sys.stderr)
    return _emit(args, report, rc=0 if dec.verified else 1)


def cmd_info(args) -> int:
    from .bitstream.describe import describe_file, describe_text

    info = describe_file(args.input)
    return _emit(args, info, describe_text(info))


def cmd_zoo(args) -> int:
    from .zoo import default_model_name, zoo_entries

    entries = zoo_entries()
    if args.json:
        return _emit(args, {"default": default_model_name(), "models": entries})
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
    from .train import TrainConfig, recipe, train
    from .train.loop import check_config

    kw = recipe(args.recipe, args.lr, args.steps, fine_tune=bool(args.init)) \
        if args.recipe else {"lr": 1e-4 if args.lr is None else args.lr, "steps": args.steps,
                             "frames": None}  # None: the architecture's clip length
    given = {"videos": args.videos, "frames": args.clip_frames, "threads": args.threads}
    kw.update({k: v for k, v in given.items() if v is not None})
    cfg = check_config(TrainConfig(
        out=args.out, arch=args.arch, config=args.width_config, lmbda=args.lmbda,
        batch=args.batch, crop=args.crop, seed=args.seed, init=args.init,
        max_frames=args.max_frames, warp_weight=args.warp_weight,
        warp_steps=args.warp_steps, objective=args.objective,
        wall_budget=60.0 * (args.minutes or 0.0), **kw))
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
    return _emit(args, res.report, Path(args.out, "table1.md").read_text())


def cmd_evaluate(args) -> int:
    from .api import evaluate

    gops = list(dict.fromkeys(args.gop)) if args.gop else None
    modes = list(dict.fromkeys(args.reparam))
    engine = "dask" if args.dask else args.engine
    model = _pick_model(args, gops, args.quality[0])
    summary = evaluate(args.dataset, model, checkpoint=args.checkpoint, arch=args.arch,
                       gops=gops, qualities=args.quality, modes=modes, frames=args.frames,
                       start=args.start, out=args.out, engine=engine, address=args.dask,
                       workers=args.workers, progress=not args.quiet, metric=args.metric)
    return _emit(args, summary, Path(args.out, "summary.md").read_text())


def cmd_archs(args) -> int:
    from .api import list_codecs

    info = list_codecs()
    if args.json:
        return _emit(args, info)
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
    parser = build_parser()
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
