"""Where the numerical reference fixtures are (see ``test/fixtures/README.md``).

The small ones are in the repository under ``test/fixtures/<folder>``; the large ones (the
depth-2 network with its outputs, 32 MB; the ~7 MB EVT3/mono streams) are not, and are looked up
in ``../shared/fixtures/<folder>`` beside the checkout, where the team's machines have them. Of
each large stream the repository holds its first packets (``<name>.head.npz``), used when the
full file is absent.

The environment variable ``FETRACK_SHARED_FIXTURES`` names another folder for the large files;
set to an empty string (or a folder that does not exist) it makes the tests run as on a fresh
clone, e.g. ``FETRACK_SHARED_FIXTURES= python -m pytest -rs test``.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENDORED_FIXTURES = REPO_ROOT / "test" / "fixtures"
SHARED_FIXTURES_ENV = "FETRACK_SHARED_FIXTURES"


def _shared_root() -> Path | None:
    if SHARED_FIXTURES_ENV in os.environ:
        value = os.environ[SHARED_FIXTURES_ENV]
        return Path(value).resolve() if value else None
    return REPO_ROOT.parent / "shared" / "fixtures"


#: Folder of the large fixtures, or None (``FETRACK_SHARED_FIXTURES`` set empty).
SHARED_FIXTURES = _shared_root()


def _roots() -> tuple[Path, ...]:
    return (VENDORED_FIXTURES,) if SHARED_FIXTURES is None else (VENDORED_FIXTURES, SHARED_FIXTURES)


def find_fixture(folder: str, name: str) -> Path | None:
    """``<folder>/<name>`` from the repository's fixtures, else from the shared folder."""
    for root in _roots():
        if (root / folder / name).is_file():
            return root / folder / name
    return None


def find_stream(folder: str, name: str) -> Path | None:
    """The full stream ``<folder>/<name>.npz`` from the shared folder, else the repository's
    ``<folder>/<name>.head.npz`` (its first packets, cut by ``test/fixtures/cut_streams.py``)."""
    return find_fixture(folder, f"{name}.npz") or find_fixture(folder, f"{name}.head.npz")
