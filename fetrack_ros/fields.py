"""Checking names given for a dataclass's fields (configs, parameters) before building it."""
from __future__ import annotations

import dataclasses
from typing import Iterable


def reject_unknown_fields(cls, names: Iterable[str], what: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` naming every name in ``names`` that is not a field of dataclass ``cls``,
    and the fields it has; ``what`` says where the names came from (``"ModelConfig"``,
    ``"data.pairs"``)."""
    known = sorted(f.name for f in dataclasses.fields(cls))
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise error(f"unknown field(s) {unknown} in {what}; known: {known}")
