"""amgap: measure and close the amortization gap of neural video codecs.

The API (``docs/api.md``): :func:`load_model`, :func:`encode`, :func:`decode`,
:func:`open_decoder`, :func:`analyze`, :func:`evaluate`, :func:`register_codec`,
:func:`list_codecs`. They are imported on first use, so that ``import amgap`` (and
``amgap --version``) stay cheap.
"""

from ._version import __version__

_API = ("load_model", "encode", "decode", "open_decoder", "analyze", "evaluate", "register_codec",
        "list_codecs", "Analysis", "Table1Row", "InfoCell", "EncodeResult", "DecodeResult",
        "LoadedModel", "Architecture", "VideoDecoder")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'amgap' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
