"""Where the numerical reference fixtures are (see ``test/fixtures/README.md``).

The small ones are in the repository under ``test/fixtures/<folder>``; the large ones (the
depth-2 network with its outputs, 32 MB; the ~7 MB EVT3/mono streams) are not, and are looked up
in ``../shared/fixtures/<folder>`` beside the checkout, where the team's machines have them.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENDORED_FIXTURES = REPO_ROOT / "test" / "fixtures"
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def find_fixture(folder: str, name: str) -> Path | None:
    """``<folder>/<name>`` from the repository's fixtures, else from ``../shared/fixtures``."""
    for root in (VENDORED_FIXTURES, SHARED_FIXTURES):
        if (root / folder / name).is_file():
            return root / folder / name
    return None
