"""Codecs: frame types, GOP plans, latent-coder parts and the architecture registry.

``amgap.codecs`` is where an architecture is registered (:func:`register_codec`, or the
``amgap.codecs`` entry-point group) and looked up (:func:`get_codec`).
"""

from .base import EncodedFrame, FrameCodec, FrameType, SymbolReader
from .registry import (
    ENTRY_POINT_GROUP,
    Architecture,
    architectures,
    codec_names,
    get_codec,
    load_plugins,
    plugin_errors,
    refusals,
    refuse_codec,
    register_codec,
)

__all__ = ["Architecture", "register_codec", "refuse_codec", "get_codec", "codec_names",
           "architectures", "refusals", "load_plugins", "plugin_errors", "ENTRY_POINT_GROUP",
           "FrameType", "FrameCodec", "SymbolReader", "EncodedFrame"]
