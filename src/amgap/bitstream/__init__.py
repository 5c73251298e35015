"""The ``.amg`` container (syntax: ``docs/bitstream.md``)."""

from .container import (
    LIMITS,
    MAGIC,
    VERSION,
    FrameRecord,
    Header,
    StreamRecord,
    header_problem,
    pack,
    pack_frame,
    pack_header,
    parse,
    read_file,
    write_file,
)

__all__ = ["MAGIC", "VERSION", "LIMITS", "Header", "FrameRecord", "StreamRecord", "pack",
           "pack_frame", "pack_header", "parse", "read_file", "write_file", "header_problem"]
