"""Command-line value types shared by every subcommand.

* :func:`list_of`: every option that takes a list accepts both ``--quality 1 2`` and
  ``--quality 1,2`` (and mixes), so no user has to remember which option wants which.
* :func:`positive_fraction`: a frame rate; 0 or negative is refused at parse time
  (it used to become 30 fps silently, or fail deep inside a reader).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import Any

__all__ = ["list_of", "positive_fraction", "int_mapping"]


class _Flatten(argparse.Action):
    """``nargs="+"`` whose tokens each parsed to a list: store one flat list."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, [v for part in values for v in part])


def list_of(item: Callable[[str], Any], choices: Iterable[Any] | None = None,
            name: str | None = None) -> dict:
    """``add_argument`` keywords for a list option: space- and/or comma-separated items,
    each converted by ``item`` and checked against ``choices``."""
    allowed = list(choices) if choices is not None else None
    label = name or getattr(item, "__name__", "value")

    def parse(token: str) -> list:
        parts = [p.strip() for p in token.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"empty list {token!r}")
        out = []
        for p in parts:
            try:
                v = item(p)
            except (ValueError, TypeError) as exc:
                raise argparse.ArgumentTypeError(f"invalid {label} value: {p!r}") from exc
            if allowed is not None and v not in allowed:
                raise argparse.ArgumentTypeError(
                    f"invalid choice: {p!r} (choose from {', '.join(map(str, allowed))})")
            out.append(v)
        return out

    parse.__name__ = label
    return {"nargs": "+", "type": parse, "action": _Flatten}


def int_mapping(text: str) -> dict[str, int]:
    """``k=v,k=v`` with integer values (architecture widths)."""
    try:
        return {k: int(v) for k, v in (kv.split("=") for kv in text.split(",") if kv)}
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad --width-config {text!r} (k=v,k=v with "
                                         "integer values)") from exc


def positive_fraction(text: str) -> Fraction:
    """A frame rate such as ``25``, ``29.97`` or ``30000/1001``; must be > 0."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise argparse.ArgumentTypeError(f"invalid frame rate {text!r}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"frame rate must be positive, got {text}")
    return value
