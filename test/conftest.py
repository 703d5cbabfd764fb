"""Shared pytest fixtures.

Numerical fixtures generated from public reference code (``test/fixtures/README.md``) are
resolved file by file by :func:`fixture_paths.find_fixture`: the repository's copy, else
``../shared/fixtures`` (or the folder ``FETRACK_SHARED_FIXTURES`` names). A test that needs a
file found in neither place (one of the large ones kept out of the repository) is skipped,
naming the file and where it was looked for. The large event streams are resolved by
:meth:`FixtureFolder.stream`: the full file where present, else the first packets kept in the
repository, so that their tests run everywhere.
"""
from pathlib import Path

import pytest

from fixture_paths import SHARED_FIXTURES, SHARED_FIXTURES_ENV, VENDORED_FIXTURES, find_fixture, find_stream


class FixtureFolder:
    """A fixture folder whose files are resolved one by one: ``folder / "file"`` is the first
    existing copy, or skips the calling test naming what is missing."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _missing(self, name: str) -> None:
        shared = (f"{SHARED_FIXTURES / self.folder}" if SHARED_FIXTURES is not None
                  else f"no shared folder ({SHARED_FIXTURES_ENV} is empty)")
        pytest.skip(f"fixture {self.folder}/{name} not found in {VENDORED_FIXTURES / self.folder} or "
                    f"{shared} (a large file kept out of the repository; see test/fixtures/README.md)")

    def __truediv__(self, name: str) -> Path:
        path = find_fixture(self.folder, name)
        if path is None:
            self._missing(name)
        return path

    def stream(self, name: str) -> Path:
        """The full stream ``name.npz`` where present, else the repository's ``name.head.npz``."""
        path = find_stream(self.folder, name)
        if path is None:
            self._missing(f"{name}.npz")
        return path


@pytest.fixture(scope="session")
def official_fixtures() -> FixtureFolder:
    """Fixtures generated from the public Mamba-FETrack V2 reference."""
    return FixtureFolder("official")


@pytest.fixture(scope="session")
def femamba_depth2() -> dict:
    """The dict of ``official/femamba_depth2.pt``: the file where present, else rebuilt from the
    repository's ``femamba_depth2.extract.npz`` (bit for bit the same weights, inputs and small
    outputs; no ``outputs["backbone_feat"]``, no ``intermediates``: tests of those use the file)."""
    import torch

    full = find_fixture("official", "femamba_depth2.pt")
    if full is not None:
        return torch.load(full, weights_only=True)
    return _depth2_module().rebuild(find_fixture("official", "femamba_depth2.extract.npz"))


@pytest.fixture(scope="session")
def femamba_depth2_path(femamba_depth2, tmp_path_factory) -> Path:
    """A ``femamba_depth2.pt`` on disk: the file where present, else the rebuilt dict saved."""
    import torch

    full = find_fixture("official", "femamba_depth2.pt")
    if full is not None:
        return full
    path = tmp_path_factory.mktemp("rebuilt") / "femamba_depth2.pt"
    torch.save(femamba_depth2, path)
    return path


def _depth2_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("femamba_depth2_rebuild",
                                                  VENDORED_FIXTURES / "femamba_depth2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def evt3_fixtures() -> FixtureFolder:
    """EVT3/mono streams decoded by the real event_camera_py / event_camera_codecs."""
    return FixtureFolder("evt3")


def pytest_configure(config):
    """Give this test session its own ROS 2 graph: a private domain on loopback only.

    Set before any rclpy import or node start, and inherited by node subprocesses, so
    parallel test runs on one machine (and other ROS users) never see each other.
    """
    import os

    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
