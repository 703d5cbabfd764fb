"""Errors raised while reading, checking or reshaping FEMamba weights."""


class CheckpointError(ValueError):
    """The file is not a usable checkpoint for this network (with what was wrong)."""


class UnsafeCheckpointError(CheckpointError):
    """The file's pickle tried to run code (it was refused, nothing was executed)."""
