"""Files the package ships beside its Python code: message definitions and the default model.

They live in the repository's top-level folders (``msg/``, ``resource/``) and are installed to
``<prefix>/share/fetrack_ros/`` by colcon (CMakeLists.txt) and by pip (setup.py ``data_files``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "fetrack_ros"
DEFAULT_MODEL = "resource/default_model.pt"


def _candidates(relative: str) -> list[Path]:
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / relative]  # source checkout: <repo>/<relative>
    # installed: <prefix>/share/fetrack_ros/<relative>, <prefix> above site-packages
    candidates += [parent / "share" / PACKAGE / relative for parent in here.parents]
    candidates += [Path(prefix) / "share" / PACKAGE / relative
                   for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if prefix]
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / relative)
    return list(dict.fromkeys(candidates))


def find_shared(relative: str) -> Path:
    """The first existing ``relative`` path (e.g. ``"msg/Track.msg"``) of a checkout or install.

    Raises FileNotFoundError listing every place it looked.
    """
    candidates = _candidates(relative)
    for path in candidates:
        if path.exists():
            return path
    looked = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"{PACKAGE} file {relative!r} not found; looked in:\n  {looked}")
