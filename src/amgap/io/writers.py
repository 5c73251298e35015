"""Decoded-video outputs: the writer is picked from the output name; any other name is
refused before any work, with the list of what is supported.

* ``NAME.y4m``: 8-bit 4:2:0 Y4M (``C420jpeg``), written atomically;
* ``-``: the same Y4M on standard output (for pipes: ``amgap decode x.amg -o - | ffplay -``);
* ``NAME.yuv``: raw 8-bit 4:2:0 planes, written atomically (no header: name it
  ``Name_WxH_FPS.yuv`` to read it back);
* a folder, or a name without extension: PNG frames ``00000.png, 00001.png, ...``. A
  folder is written only when new or holding nothing but such frames (never a user's
  other files); frames are written beside it and moved in.

Containers such as ``.mp4`` would need a lossy re-encode of the decoded frames, which
would change what is measured; they are refused rather than approximated.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import torch

from ..errors import UsageError
from .png import write_png_folder
from .y4m import write_y4m
from .yuv import write_yuv

__all__ = ["OutputTarget", "SUPPORTED_OUTPUTS", "output_target", "check_output",
           "check_file_output", "write_video"]

SUPPORTED_OUTPUTS = ("NAME.y4m (8-bit 4:2:0 Y4M), - (Y4M on stdout), NAME.yuv (raw 8-bit "
                     "4:2:0), or a folder / a name without extension (PNG frames)")
_PNG_NAME = re.compile(r"^\d{5}\.png$")


@dataclass(frozen=True)
class OutputTarget:
    path: str
    kind: str  # "y4m" | "stdout" | "yuv" | "png"


def _named(path: str | os.PathLike) -> str:
    """The output path as a string; an empty name is refused (every output's entry)."""
    path = os.fspath(path)
    if not path:
        raise UsageError("-o: empty output name")
    return path


def output_target(path: str | os.PathLike) -> OutputTarget:
    """What ``path`` asks for; a :class:`UsageError` naming the supported outputs if
    it asks for anything else."""
    path = _named(path)
    if path == "-":
        return OutputTarget(path, "stdout")
    if os.path.isdir(path):
        return OutputTarget(path, "png")
    ext = os.path.splitext(path.rstrip("/"))[1].lower()
    kinds = {".y4m": "y4m", ".yuv": "yuv", "": "png"}
    if ext not in kinds:
        raise UsageError(f"{path}: cannot write {ext} files; supported outputs: "
                         f"{SUPPORTED_OUTPUTS}")
    return OutputTarget(path, kinds[ext])


def _check_folder(folder: str, what: str) -> None:
    if not os.path.isdir(folder):
        raise UsageError(f"{folder}: no such folder (for {what})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{folder}: folder is not writable (for {what})")


def check_not_input(output: str | os.PathLike, *inputs: str | os.PathLike | None) -> None:
    """Refuse an output that is one of the command's inputs (``encode x.y4m -o x.y4m``,
    ``decode --reference x.y4m -o x.y4m``): writing it would destroy what it reads."""
    out = os.fspath(output)
    if out == "-" or not os.path.exists(out):
        return
    for src in inputs:
        if src is not None and os.path.exists(src) and os.path.samefile(out, src):
            raise UsageError(f"{out}: is also an input of this command; give another "
                             "output name")


def check_file_output(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output file that cannot be created: a directory, or
    a folder that does not exist or is not writable (also used for ``encode -o``)."""
    path = _named(path)
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, expected an output file name")
    _check_folder(os.path.dirname(os.path.abspath(path)), path)


def check_output(target: OutputTarget) -> None:
    """Refuse, before any work, an output that cannot be written or would clobber a
    user's files."""
    path = target.path
    if target.kind == "stdout":
        if sys.stdout.isatty():
            raise UsageError("-o - writes binary Y4M on stdout: redirect it or pipe it")
        return
    if target.kind != "png":
        check_file_output(path)
        return
    parent = os.path.dirname(os.path.abspath(path.rstrip("/")))
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"{path}: exists and is not a folder (use a .y4m name for Y4M)")
        foreign = [f for f in os.listdir(path) if not _PNG_NAME.match(f)]
        if foreign:
            raise UsageError(f"{path}: folder holds other files ({foreign[0]}); "
                             "give an empty or new folder")
        _check_folder(path, path)
    _check_folder(parent, path)


def _write_png_output(out: str, frames: Iterable[torch.Tensor]) -> int:
    """Frames written into a temporary folder beside ``out``, then moved in (earlier
    amgap frames there are replaced; :func:`check_output` refused anything else)."""
    parent = os.path.dirname(os.path.abspath(out.rstrip("/")))
    tmp = tempfile.mkdtemp(prefix=".amgap-", dir=parent)
    try:
        n = write_png_folder(tmp, frames)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if _PNG_NAME.match(f):
                os.unlink(os.path.join(out, f))
        for f in sorted(os.listdir(tmp)):
            os.replace(os.path.join(tmp, f), os.path.join(out, f))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return n


def write_video(target: OutputTarget | str, frames: Iterable[torch.Tensor],
                fps: Fraction) -> int:
    """Write RGB frames ``[3,H,W]`` as ``target`` asks; returns the number of frames."""
    if not isinstance(target, OutputTarget):
        target = output_target(target)
    check_output(target)
    if target.kind == "stdout":
        n = write_y4m(sys.stdout.buffer, frames, fps)
        sys.stdout.buffer.flush()
        return n
    if target.kind == "y4m":
        return write_y4m(target.path, frames, fps)
    if target.kind == "yuv":
        return write_yuv(target.path, frames)
    return _write_png_output(target.path, frames)
