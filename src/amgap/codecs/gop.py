"""GOP structures: which frame is coded when, with which type and references.

A plan is a list of :class:`CodingStep` in *coding* order; references are display
indices of frames coded earlier. The decoder derives the same plan from the header
and checks every frame record against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..bitstream.syntax import GopId
from .base import FrameType

__all__ = ["CodingStep", "GOP_STRUCTURES", "register_gop", "gop_plan", "last_use",
           "random_access",
           "default_structure", "native_structures", "missing_frame_types", "GOP_IDS"]


@dataclass(frozen=True)
class CodingStep:
    display_index: int
    ftype: FrameType
    refs: tuple[int, ...]


def random_access(step: CodingStep, gop_size: int) -> bool:
    """Whether ``step`` is a random-access point: an I frame at a multiple of the GOP size.
    Entropy-coding state (reparameterization parameters in force, adaptation history)
    resets there and only there, so the other I frames of a GOP (all-intra coding, the I
    frame closing a short last ``lhbdc`` GOP) can use what the GOP's earlier I frames sent."""
    return step.ftype == FrameType.I and step.display_index % gop_size == 0


GOP_STRUCTURES: dict[str, Callable[[int, int], list[CodingStep]]] = {}
GOP_IDS = {g.label: int(g) for g in GopId}  # header ids: bitstream.syntax


def register_gop(name: str):
    def deco(fn: Callable[[int, int], list[CodingStep]]):
        GOP_STRUCTURES[name] = fn
        return fn
    return deco


@register_gop("ssf")
def _ssf(num_frames: int, gop_size: int) -> list[CodingStep]:
    """I P P ... P per GOP of ``gop_size``; each P references the previous frame."""
    plan = []
    for start in range(0, num_frames, gop_size):
        plan.append(CodingStep(start, FrameType.I, ()))
        for i in range(start + 1, min(start + gop_size, num_frames)):
            plan.append(CodingStep(i, FrameType.P, (i - 1,)))
    return plan


def _hierarchy(a: int, b: int, plan: list[CodingStep]) -> None:
    """B frames strictly between coded frames ``a`` and ``b``: middle first, then each half."""
    if b - a < 2:
        return
    mid = (a + b) // 2
    plan.append(CodingStep(mid, FrameType.B, (a, b)))
    _hierarchy(a, mid, plan)
    _hierarchy(mid, b, plan)


@register_gop("lhbdc")
def _lhbdc(num_frames: int, gop_size: int) -> list[CodingStep]:
    """I at every multiple of ``gop_size``, hierarchical B between consecutive I frames.

    The I frame that closes a GOP (frame 16 of I0..I16) opens and is counted in the next
    one. The last GOP closes with an I frame on the video's last frame (a shorter
    hierarchy when the frames run out before the GOP does).
    """
    anchors = list(range(0, num_frames, gop_size))
    if anchors[-1] != num_frames - 1:
        anchors.append(num_frames - 1)
    plan = [CodingStep(0, FrameType.I, ())]
    for a, b in zip(anchors, anchors[1:], strict=False):
        plan.append(CodingStep(b, FrameType.I, ()))
        _hierarchy(a, b, plan)
    return plan


@register_gop("aivc")
def _aivc(num_frames: int, gop_size: int) -> list[CodingStep]:
    """Per GOP: I on its first frame, P on its last (referencing the I), hierarchical B
    between. A shorter last GOP ends its P on the video's last frame; a 1-frame GOP is
    just the I frame."""
    plan = []
    for start in range(0, num_frames, gop_size):
        end = min(start + gop_size, num_frames) - 1
        plan.append(CodingStep(start, FrameType.I, ()))
        if end > start:
            plan.append(CodingStep(end, FrameType.P, (start,)))
            _hierarchy(start, end, plan)
    return plan


@register_gop("intra")
def _intra(num_frames: int, gop_size: int) -> list[CodingStep]:
    """Every frame an I frame (image codecs; all-intra coding of any codec)."""
    return [CodingStep(i, FrameType.I, ()) for i in range(num_frames)]


def default_structure(frame_types) -> str:
    """The GOP a codec gets when none is asked for: ``ssf`` with P frames, ``lhbdc``
    with B frames only (I, B: e.g. LHBDC), ``intra`` for image codecs."""
    types = set(frame_types)
    if FrameType.P in types:
        return "ssf"
    return "lhbdc" if FrameType.B in types else "intra"


def native_structures(frame_types) -> list[str]:
    """The GOP structures a self-contained codec is measured on, its own first: I/P/B
    codecs (AIVC) ``aivc`` then ``ssf``, I/B codecs (LHBDC) ``lhbdc``, I/P ``ssf``, image
    codecs ``intra`` (model cards, ``benchmarks/rd_vs_classic.py``)."""
    types = set(frame_types)
    if FrameType.B in types:
        return ["aivc", "ssf"] if FrameType.P in types else ["lhbdc"]
    return [default_structure(types)]


def missing_frame_types(frame_types, plan: list[CodingStep]) -> list[FrameType]:
    """The frame types ``plan`` needs that a codec of ``frame_types`` does not code
    (empty: the GOP fits). The one test behind the encoder's refusal and the benchmarks'
    choice of GOPs."""
    return sorted({s.ftype for s in plan} - set(frame_types))


def gop_plan(structure: str, num_frames: int, gop_size: int = 16) -> list[CodingStep]:
    if structure not in GOP_STRUCTURES:
        raise ValueError(f"unknown GOP structure {structure!r} "
                         f"(available: {', '.join(sorted(GOP_STRUCTURES))})")
    if num_frames < 1 or gop_size < 1:
        raise ValueError("need at least one frame and a GOP size of at least 1")
    plan = GOP_STRUCTURES[structure](num_frames, gop_size)
    assert sorted(s.display_index for s in plan) == list(range(num_frames))
    return plan


def last_use(plan: list[CodingStep]) -> dict[int, int]:
    """Display index -> coding position after which its reconstruction can be dropped."""
    last = {s.display_index: pos for pos, s in enumerate(plan)}
    for pos, s in enumerate(plan):
        for r in s.refs:
            last[r] = max(last[r], pos)
    return last
