"""Atomic file writes that respect the user's umask: the one copy every writer calls.

A reader must never see a half-written output (a killed run leaves the old file or
none), so outputs are written to a temporary file beside the target and renamed over
it. ``tempfile.mkstemp`` creates that file with mode 0600; left as is, every output
would be private to its owner whatever the user's umask says. The file is therefore
given ``0666 & ~umask`` (what ``open(path, "w")`` gives) before the rename.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

__all__ = ["umask_mode", "atomic_file", "atomic_path", "atomic_write", "fresh_folder"]

_PREFIX = ".amgap-"


def umask_mode(base: int = 0o666) -> int:
    """``base`` filtered by the process umask (read by setting it and putting it back:
    the only portable way; the window is two system calls)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return base & ~mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary file name beside ``path`` for writers that take a name (``torch.save``);
    renamed onto ``path`` with the umask's mode when the block succeeds, removed when not."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # the target's name as suffix: writers that derive names from it (torch.save's zip
    # archive) then see a normal name, not a bare dot-file
    fd, tmp = tempfile.mkstemp(prefix=_PREFIX, suffix="-" + os.path.basename(path), dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose content appears at ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically."""
    with atomic_file(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def fresh_folder(path: str | os.PathLike) -> Iterator[str]:
    """A new, empty folder beside ``path`` that replaces ``path`` when the block succeeds
    and is removed when it fails: a reader sees the old folder or the complete new one,
    never a mix of an earlier run's files and this run's. The caller has checked that
    ``path``, if it exists, holds nothing but replaceable outputs (two renames: the old
    folder moves aside, the new one in, then the old one is removed)."""
    import shutil

    path = os.path.abspath(os.fspath(path))
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=_PREFIX, dir=parent)
    try:
        yield tmp
        os.chmod(tmp, umask_mode(0o777))
        old = None
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=_PREFIX + "old-", dir=parent)
            os.replace(path, os.path.join(old, "x"))
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
