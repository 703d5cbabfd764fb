"""Shared pytest fixtures.

Numerical fixtures generated from public reference code live in ``../shared/fixtures``
beside the checkout (read-only, never copied into the repository). Tests that need them
are skipped with a clear reason when that folder is absent.
"""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def _fixture_dir(name: str) -> Path:
    path = SHARED_FIXTURES / name
    if not path.is_dir():
        pytest.skip(f"shared fixtures not found at {path} (only present on the team's machines)")
    return path


@pytest.fixture(scope="session")
def official_fixtures() -> Path:
    """Folder of fixtures generated from the public Mamba-FETrack V2 reference."""
    return _fixture_dir("official")


@pytest.fixture(scope="session")
def evt3_fixtures() -> Path:
    """Folder of EVT3/mono streams decoded by the real event_camera_py."""
    return _fixture_dir("evt3")


def pytest_configure(config):
    """Give this test session its own ROS 2 graph: a private domain on loopback only.

    Set before any rclpy import or node start, and inherited by node subprocesses, so
    parallel test runs on one machine (and other ROS users) never see each other.
    """
    import os

    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
