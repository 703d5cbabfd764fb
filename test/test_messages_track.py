"""The ROS-free Track codes of :mod:`fetrack_ros.messages.track` are those of ``msg/Track.msg``."""
import re
from pathlib import Path

import pytest

from fetrack_ros.messages import track as codes
from fetrack_ros.tracking import TrackStatus

TRACK_MSG = Path(__file__).resolve().parents[1] / "msg" / "Track.msg"


def msg_constants() -> dict[str, int]:
    """``NAME=value`` constants of msg/Track.msg (comments stripped)."""
    found = {}
    for line in TRACK_MSG.read_text().splitlines():
        match = re.fullmatch(r"\s*uint8\s+([A-Z_]+)\s*=\s*(\d+)\s*", line.split("#")[0])
        if match:
            found[match[1]] = int(match[2])
    return found


def test_codes_equal_the_constants_of_track_msg():
    constants = msg_constants()
    assert set(constants) == {"STATUS_UNINITIALIZED", "STATUS_TRACKING", "STATUS_LOW_CONFIDENCE", "STATUS_LOST",
                              "EVENT_WINDOW_COMPLETE", "EVENT_WINDOW_INCOMPLETE"}
    assert {name: getattr(codes, name) for name in constants} == constants
    assert sorted(codes.STATUS_CODES.values()) == sorted(v for k, v in constants.items() if k.startswith("STATUS_"))
    for name, code in codes.STATUS_CODES.items():
        assert constants[f"STATUS_{name.upper()}"] == code


def test_codes_equal_the_generated_and_rosbags_messages():
    from fetrack_ros.data.rostypes import TRACK, get_typestore

    rosbags_track = get_typestore().types[TRACK]
    for name, value in msg_constants().items():
        assert getattr(rosbags_track, name) == value, name
    generated = pytest.importorskip("fetrack_ros.msg").Track
    for name, value in msg_constants().items():
        assert getattr(generated, name) == value, name


def test_every_tracker_status_has_a_code_and_back():
    assert set(codes.STATUS_CODES) == {s.value for s in TrackStatus} | {"uninitialized"}
    for status in TrackStatus:
        assert codes.status_code(status) == codes.status_code(status.value) == codes.STATUS_CODES[status.value]
        assert codes.status_name(codes.status_code(status)) == status.value
    assert codes.status_code(TrackStatus.LOST) == 3 and codes.status_name(0) == "uninitialized"


def test_unknown_status_or_code_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown track status 'gone'; expected one of"):
        codes.status_code("gone")
    with pytest.raises(KeyError, match="unknown Track status code 7"):
        codes.status_name(7)


def test_debug_image_has_a_colour_for_every_status():
    from fetrack_ros.node.annotate import STATUS_COLOURS

    assert set(STATUS_COLOURS) == set(codes.STATUS_CODES)
