"""The test copies of message packages in test/interfaces have the real packages' type hashes.

The expected hashes were computed from the real packages' public sources (test/interfaces/README.md);
over DDS the node announces them too (test_node_legacy.py).
"""
from pathlib import Path

import pytest

pytest.importorskip("rosidl_generator_type_description", reason="rosidl tools not installed: run `make test`")

from interfaces.type_hashes import REAL_TYPE_HASHES, installed_type_hash, type_hashes  # noqa: E402

COPIES = Path(__file__).parent / "interfaces"
PACKAGES = sorted({name.split("/")[0] for name in REAL_TYPE_HASHES})


@pytest.mark.parametrize("package", PACKAGES)
def test_copy_sources_hash_like_the_real_package(package):
    computed = type_hashes(package, sorted((COPIES / package / "msg").glob("*.msg")))
    expected = {name: value for name, value in REAL_TYPE_HASHES.items() if name.startswith(f"{package}/")}
    assert computed == expected


@pytest.mark.parametrize("type_name", sorted(REAL_TYPE_HASHES))
def test_installed_package_has_the_real_type_hash(type_name):
    """What `make setup` installed (the copy, or a real package where one is installed)."""
    assert installed_type_hash(type_name) == REAL_TYPE_HASHES[type_name]
