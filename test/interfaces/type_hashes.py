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

#: The hashes of the real packages, computed by :func:`type_hashes` from their public sources
#: (README.md names the commits); the copies here must have the same.
REAL_TYPE_HASHES = {
    "event_camera_msgs/msg/EventPacket": "RIHS01_d6fa176260b1f37e5a40845305315e150a0f18191241eb64f407442aa29844aa",
    "dvs_msgs/msg/Event": "RIHS01_51cfc8e311acf01bf39b01e0e8f2fee8f9fa97e7979cf505c0610c8a8bc3fc3a",
    "dvs_msgs/msg/EventArray": "RIHS01_0ea4aa5f4670adab1336550158b2e3c9bf60fe515a284c4215ed605bd559c995",
    "prophesee_event_msgs/msg/Event": "RIHS01_ac23767ec35f4371abd366cf2b523fa84ae732e64e60f282d3bef3eb8efd4b63",
    "prophesee_event_msgs/msg/EventArray":
        "RIHS01_9581cad55eb44695901e91e5b4483e859f082498085746d6dfb2a8f3bac7ce18",
    "vision_msgs/msg/Point2D": "RIHS01_eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247",
    "vision_msgs/msg/Pose2D": "RIHS01_b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648",
    "vision_msgs/msg/BoundingBox2D": "RIHS01_008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
    "vision_msgs/msg/ObjectHypothesis": "RIHS01_51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90",
    "vision_msgs/msg/ObjectHypothesisWithPose":
        "RIHS01_41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc",
    "vision_msgs/msg/Detection2D": "RIHS01_0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea",
    "vision_msgs/msg/Detection2DArray": "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
}


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
