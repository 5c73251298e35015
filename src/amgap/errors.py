"""User-facing errors.

Every failure a user can cause (bad file, wrong size, missing model) is raised as an
:class:`AmgapError` subclass whose message is one readable line; the CLI prints it
and exits non-zero instead of showing a traceback.
"""


class AmgapError(Exception):
    """Base class: a problem with the user's input; exit code 1."""

    exit_code = 1


class UsageError(AmgapError):
    """Bad command-line usage (wrong flag combination, bad value); exit code 2."""

    exit_code = 2


class VideoFormatError(AmgapError):
    """An input video that cannot be read or is not supported."""


class ModelError(AmgapError):
    """A model or checkpoint that cannot be found or loaded."""


class BitstreamError(AmgapError):
    """A malformed, corrupt or truncated ``.amg`` stream."""


class DesyncError(BitstreamError):
    """The decoder's reconstruction differs from the encoder's (or the model differs)."""
