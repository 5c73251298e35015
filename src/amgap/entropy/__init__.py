"""Entropy modelling: learned tables, information streams, coding and bit accounting."""

from .coder import ideal_bits, rans_decode, rans_encode, symbol_bits
from .streams import INFO_KINDS, InfoKind, InfoStream
from .tables import TableSet

__all__ = ["TableSet", "InfoKind", "InfoStream", "INFO_KINDS", "rans_encode", "rans_decode",
           "ideal_bits", "symbol_bits"]
