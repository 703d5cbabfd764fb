#!/usr/bin/env python3
"""RIHS01 type hashes of ``.msg`` files, computed with the rosidl tools of the environment.

    python test/interfaces/type_hashes.py PACKAGE FILE.msg [FILE.msg ...]

prints ``PACKAGE/msg/Name RIHS01_...`` for every file, as ``rosidl_generate_interfaces`` would
compute them when building PACKAGE from these files (rosidl_adapter turns each .msg into .idl,
rosidl_generator_type_description hashes the type description). Types of other packages that
the messages use (std_msgs/Header, ...) are read from their installed type descriptions.
Run it on the real package's sources to get the hashes the copies here must have (README.md).
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from pathlib import Path


def type_hashes(package: str, msg_files) -> dict[str, str]:
    """``{"package/msg/Name": "RIHS01_..."}`` of ``msg_files`` taken as the messages of ``package``."""
    from ament_index_python.packages import get_resources
    from rosidl_adapter import convert_to_idl
    from rosidl_generator_type_description import generate_type_hash

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        source, idl, out = scratch / "source" / package, scratch / "idl", scratch / "out"
        (source / "msg").mkdir(parents=True)
        idl_tuples = []
        for msg_file in map(Path, msg_files):
            shutil.copyfile(msg_file, source / "msg" / msg_file.name)
            with contextlib.redirect_stdout(sys.stderr):  # the adapter reports each file it writes
                convert_to_idl(source, package, Path("msg", msg_file.name), idl)
            idl_tuples.append(f"{idl}:msg/{msg_file.stem}.idl")
        # every other installed interface package: the generator opens only those referenced
        includes = [f"{name}:{Path(prefix, 'share', name)}"
                    for name, prefix in get_resources("rosidl_interfaces").items() if name != package]
        arguments = scratch / "arguments.json"
        arguments.write_text(json.dumps({"package_name": package, "output_dir": str(out),
                                         "idl_tuples": idl_tuples, "include_paths": includes}))
        hashes = {}
        for path in generate_type_hash(str(arguments)):
            first = json.loads(Path(path).read_text())["type_hashes"][0]
            hashes[first["type_name"]] = first["hash_string"]
    return hashes


def installed_type_hash(type_name: str) -> str:
    """The hash in the installed type description of ``package/msg/Name`` (whichever package
    the ament index finds first: the real one or a copy)."""
    from ament_index_python.packages import get_package_share_directory

    package, kind, name = type_name.split("/")
    description = Path(get_package_share_directory(package), kind, f"{name}.json")
    return json.loads(description.read_text())["type_hashes"][0]["hash_string"]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    for type_name, hash_string in sorted(type_hashes(argv[0], argv[1:]).items()):
        print(type_name, hash_string)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
