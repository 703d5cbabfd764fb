"""Reading and writing box files (ground truth and results), one ``x y w h`` box per line."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .sequence import SourceError

_SEPARATORS = re.compile(r"[,\s;]+")


def read_boxes(path: str | Path) -> np.ndarray:
    """Read a box file: one ``x,y,w,h`` per line, separated by commas, tabs or spaces.

    Blank lines are skipped; ``nan`` is accepted (the metrics reject it with a clear message).
    Returns (N, 4) float64. Raises :class:`SourceError` naming the file and line for anything else.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SourceError(f"box file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read box file {path}: {exc}") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = [f for f in _SEPARATORS.split(line) if f]
        if len(fields) != 4:
            raise SourceError(f"{path}:{lineno}: expected 4 numbers x,y,w,h, got {len(fields)}: {line!r}")
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise SourceError(f"{path}:{lineno}: not a number in {line!r}") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def _format_value(value: float) -> str:
    # Shortest text that reads back to the same float; integral values without ".0".
    return str(int(value)) if value.is_integer() else repr(value)


def write_boxes(path: str | Path, boxes_xywh, *, truncate_to_int: bool = False) -> Path:
    """Write boxes in the reference's result format: ``x<TAB>y<TAB>w<TAB>h`` per line.

    By default values are written exactly (shortest round-trip text). ``truncate_to_int=True``
    truncates toward zero as the reference tracker does before writing (``astype(int)``), for
    results meant to be scored exactly like published numbers. Returns the path.
    """
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    if not np.isfinite(boxes).all():
        raise ValueError(f"cannot write non-finite boxes to {path}")
    if truncate_to_int:
        boxes = np.trunc(boxes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Written to a temporary file first so that an interrupted run never leaves a partial file
    # that a resumed run would take for a finished sequence.
    tmp.write_text("".join("\t".join(_format_value(float(v)) for v in row) + "\n" for row in boxes))
    tmp.replace(path)
    return path
