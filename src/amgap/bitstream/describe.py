"""What ``amgap info`` shows: an ``.amg`` file's header and per-frame sizes, by name."""

from __future__ import annotations

import os

from .container import pack_frame, read_file
from .syntax import FrameType, GopId, ModelSource, ReparamMode, StreamKind

__all__ = ["describe_file", "describe_text"]


def _label(ids, value: int):
    """The id's name, or the raw number for an id this amgap does not know."""
    try:
        return ids(value).label
    except ValueError:
        return value


def describe_file(path: str | os.PathLike) -> dict:
    """Header fields and per-frame sizes (coding order) of an ``.amg`` file, as JSON."""
    header, records = read_file(path)
    size = os.path.getsize(path)
    kinds = [k.label for k in StreamKind]
    return {
        "file": str(path), "bytes": size, "width": header.width, "height": header.height,
        "frames": header.num_frames, "fps": header.fps_num / header.fps_den,
        "gop": _label(GopId, header.gop_structure), "gop_size": header.gop_size,
        "model": header.model_name, "quality": header.quality,
        "model_source": _label(ModelSource, header.model_source),
        "weights_hash": header.weights_hash.hex(),
        "reparam": _label(ReparamMode, header.reparam_mode),
        "bpp": size * 8 / (header.width * header.height * header.num_frames),
        "per_frame": [{"coding_index": i, "index": r.display_index,
                       "type": FrameType(r.frame_type).name, "bytes": len(pack_frame(r)),
                       "streams": {kinds[s.kind]: len(s.data) for s in r.streams},
                       "param_bytes": {kinds[s.kind]: len(s.params) for s in r.streams
                                       if s.params}}
                      for i, r in enumerate(records)],
    }


def describe_text(info: dict) -> str:
    """:func:`describe_file`'s figures as ``amgap info`` prints them."""
    lines = [f"{info['file']}: {info['frames']} frames {info['width']}x{info['height']} "
             f"@ {info['fps']:.3f} fps, GOP {info['gop']}/{info['gop_size']}, "
             f"model {info['model']} q{info['quality']} ({info['model_source']}), "
             f"reparam {info['reparam']}, {info['bytes']} bytes, {info['bpp']:.4f} bpp "
             "(stream sizes: rANS bytes + reparameterization bytes 'p')"]
    for f in info["per_frame"]:
        streams = " ".join(f"{k}={v}" + (f"+{f['param_bytes'][k]}p" if k in f["param_bytes"]
                                         else "") for k, v in f["streams"].items())
        lines.append(f"  #{f['coding_index']:<4d} frame {f['index']:<4d} {f['type']} "
                     f"{f['bytes']:>8d} B  {streams}")
    return "\n".join(lines)
