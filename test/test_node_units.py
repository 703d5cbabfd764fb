"""The node's ROS-independent pieces: conversions, parameters, synchronizer, diagnostics,
annotation, event decoding and clock mapping (no DDS)."""
import sys

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from fetrack_ros.node import parameters as P  # noqa: E402
from fetrack_ros.node.annotate import annotate  # noqa: E402
from fetrack_ros.messages import (ImageConversionError, check_image_msg, image_to_rgb,  # noqa: E402
                                         ns_to_stamp, rgb_to_image, stamp_to_ns)
from fetrack_ros.node.diagnostics import Diagnostics, RateMeter  # noqa: E402
from fetrack_ros.sync import EventFrameMatcher, PendingImages  # noqa: E402

RNG = np.random.default_rng(3)
RGB = RNG.integers(0, 256, (7, 10, 3), dtype=np.uint8)


def image(pixels: np.ndarray, encoding: str, pad: int = 0, bigendian: bool = False) -> Image:
    h, w = pixels.shape[:2]
    row = pixels.reshape(h, -1).view(np.uint8)
    if bigendian:
        row = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(h, -1).view(np.uint8)
    rows = np.concatenate([row, np.zeros((h, pad), np.uint8)], axis=1)
    return Image(height=h, width=w, encoding=encoding, step=rows.shape[1], is_bigendian=bigendian,
                 data=rows.tobytes())


# ---------------------------------------------------------------------------- conversions
def test_stamps_round_trip_in_nanoseconds():
    from builtin_interfaces.msg import Time

    ns = 1_750_000_123 * 1_000_000_000 + 987_654_321
    stamp = ns_to_stamp(ns, Time())
    assert (stamp.sec, stamp.nanosec) == (1_750_000_123, 987_654_321)
    assert stamp_to_ns(stamp) == ns


@pytest.mark.parametrize("encoding, pixels", [
    ("rgb8", RGB), ("bgr8", RGB[..., ::-1]),
    ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)])),
    ("bgra8", np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 9, np.uint8)])),
])
@pytest.mark.parametrize("pad", [0, 6])
def test_colour_encodings_become_rgb(encoding, pixels, pad):
    assert np.array_equal(image_to_rgb(image(np.ascontiguousarray(pixels), encoding, pad)), RGB)


def test_mono_16_bit_bayer_and_yuv_encodings():
    grey = RGB[..., 0]
    assert np.array_equal(image_to_rgb(image(grey, "mono8")), np.dstack([grey] * 3))
    grey16 = grey.astype(np.uint16) * 257
    for bigendian in (False, True):
        assert np.array_equal(image_to_rgb(image(grey16, "mono16", bigendian=bigendian)), np.dstack([grey] * 3))
    bayer = np.zeros((8, 8), np.uint8)
    bayer[0::2, 0::2], bayer[0::2, 1::2], bayer[1::2, 0::2], bayer[1::2, 1::2] = 200, 100, 100, 50  # R G / G B
    out = image_to_rgb(image(bayer, "bayer_rggb8"))
    assert out.shape == (8, 8, 3) and np.abs(out[3:5, 3:5].astype(int) - (200, 100, 50)).max() <= 2
    uyvy = np.full((4, 8, 2), 128, np.uint8)
    uyvy[..., 1] = 90  # Y = 90, neutral chroma; BT.601 video range: grey (90 - 16) * 255 / 219
    assert np.abs(image_to_rgb(image(uyvy, "yuv422")).astype(int) - 86).max() <= 1


def test_compressed_images_become_rgb():
    ok, jpeg = cv2.imencode(".png", RGB[..., ::-1])
    assert np.array_equal(image_to_rgb(CompressedImage(format="png", data=jpeg.tobytes())), RGB)
    with pytest.raises(ImageConversionError, match="could not be decoded"):
        image_to_rgb(CompressedImage(format="jpeg", data=b"\x00\x01"))


@pytest.mark.parametrize("msg, match", [
    (Image(height=2, width=2, encoding="no_such", step=6, data=bytes(12)), "not supported"),
    (Image(height=2, width=2, encoding="rgb8", step=4, data=bytes(12)), "step 4 is smaller"),
    (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(7)), "has 7 bytes"),
    (Image(height=0, width=2, encoding="rgb8", step=6, data=b""), "empty"),
    (Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16)), "32FC1"),
])
def test_bad_images_raise_a_clear_error(msg, match):
    with pytest.raises(ImageConversionError, match=match):
        image_to_rgb(msg)
    if match != "32FC1":  # known layout, but not convertible to RGB: found by the conversion only
        with pytest.raises(ImageConversionError, match=match):
            check_image_msg(msg)


def test_rgb_to_image_round_trip():
    msg = rgb_to_image(RGB, Image().header, Image)
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("rgb8", 30, 7, 10)
    assert np.array_equal(image_to_rgb(msg), RGB)


# ---------------------------------------------------------------------------- parameters
def test_every_spec_default_is_valid_and_names_are_unique():
    assert len({s.name for s in P.SPECS}) == len(P.SPECS)
    for spec in P.SPECS:
        assert P.validate(spec.name, spec.default) is None, spec.name
    assert P.tracker_params({s.name: s.default for s in P.SPECS}) == P.TrackerParams()


@pytest.mark.parametrize("name, value, reason", [
    ("template_update_threshold", 1.2, "outside [0.0, 1.0]"),
    ("template_update_threshold", "x", "must be a float"),
    ("queue_policy", "random", "not one of newest, oldest"),
    ("device", "tpu", "does not match"),
    ("initial_box", [1.0, 2.0, 0.0, 4.0], "w, h > 0"),
    ("initial_box", [1.0, 2.0], "4 numbers"),
    ("template_update_interval", True, "must be a int"),
])
def test_validate_gives_the_reason(name, value, reason):
    assert reason in P.validate(name, value)


def test_integers_become_doubles_only_where_a_double_is_declared():
    assert P.as_declared_type("template_update_threshold", 1) == 1.0
    assert isinstance(P.as_declared_type("template_update_threshold", 1), float)
    assert P.as_declared_type("initial_box", [10, 20, 30, 40]) == [10.0, 20.0, 30.0, 40.0]
    assert all(isinstance(v, float) for v in P.as_declared_type("initial_box", [10, 20, 30, 40]))
    assert P.as_declared_type("template_update_interval", 3) == 3  # an integer parameter stays one
    for name, value in (("template_update_threshold", True), ("template_update_threshold", "1"),
                        ("initial_box", [1, 2.5]), ("initial_box", []), ("use_sim_time", 1)):
        assert P.as_declared_type(name, value) is value  # left to rclpy and validate()


def test_tracker_changes_are_checked_as_a_whole():
    current = {s.name: s.default for s in P.TRACKER_SPECS}
    params, reason = P.check_tracker_change(current, {"template_update_threshold": 0.7})
    assert reason is None and params.template_update_threshold == 0.7
    params, reason = P.check_tracker_change(current, {"wider_search_factor": 3.0})
    assert params is None and "wider_search_factor" in reason and "search_factor" in reason
    assert P.initial_box([0.0]) is None and P.initial_box([1, 2, 3, 4]) == [1.0, 2.0, 3.0, 4.0]


def test_qos_profiles_from_names():
    from rclpy.qos import ReliabilityPolicy

    from fetrack_ros.node.qos import qos_profile
    assert qos_profile("best_effort", 1000).reliability == ReliabilityPolicy.BEST_EFFORT
    assert qos_profile("reliable", 5).depth == 5
    with pytest.raises(ValueError, match="reliability"):
        qos_profile("sometimes", 5)


# ---------------------------------------------------------------------------- waiting images
def window_passed(reached_ns):
    """The stream-time completeness rule, for PendingImages on its own."""
    return lambda pending: reached_ns is not None and reached_ns >= pending.window[1]


def test_images_wait_until_the_stream_passes_their_window_or_max_wait():
    pending = PendingImages(max_wait_s=0.5)
    pending.add("a", 100, (50, 100), now_s=0.0)
    pending.add("b", 200, (100, 200), now_s=0.1)
    assert pending.release(window_passed(99), now_s=0.2) == []
    released = pending.release(window_passed(150), now_s=0.2)
    assert [(r.item, r.complete) for r in released] == [("a", True)]
    assert pending.release(window_passed(None), now_s=0.55) == []
    (late,) = pending.release(window_passed(None), now_s=0.61)
    assert (late.item, late.complete) == ("b", False) and late.waited_s == pytest.approx(0.51)


def test_pending_images_are_bounded_and_leave_in_order():
    pending = PendingImages(max_wait_s=1.0, max_pending=2)
    assert pending.add(1, 1, (0, 1), 0) == [] and pending.add(2, 2, (1, 2), 0) == []
    assert [p.item for p in pending.add(3, 3, (2, 3), 0)] == [1]
    assert [r.item for r in pending.release(window_passed(10), 0)] == [2, 3]


def test_event_frames_match_the_nearest_stamp_within_tolerance():
    matcher = EventFrameMatcher(tolerance_ns=5, keep=3)
    for stamp in (100, 110, 120):
        matcher.add(stamp, f"f{stamp}")
    assert matcher.match(112) == ("f110", 2) and matcher.match(118) == ("f120", 2)
    assert matcher.match(126) == (None, None)
    matcher.add(130, "f130")  # keep=3: f100 forgotten
    assert matcher.match(100) == (None, None)
    from fetrack_ros.sync.pending import PendingImage
    assert matcher.is_complete(PendingImage(None, 130, None, 0)) and not matcher.is_complete(PendingImage(None, 131, None, 0))
    matcher.add(10, "restart")  # a bag loop: 120 ns back > reset? no: only beyond reset_backward_ns
    assert matcher.resets == 0
    matcher.add(-10**9, "loop")
    assert matcher.resets == 1 and matcher.match(-10**9) == ("loop", 0)


# ---------------------------------------------------------------------------- diagnostics, annotate
def test_diagnostics_count_named_reasons_only():
    diag = Diagnostics()
    diag.count("dropped.bad_image")
    diag.count("dropped.bad_image", 2)
    diag.latency(12.0, 3.0)
    diag.latency(13.0, None)  # no tracker call (no target): latency only
    snapshot = diag.snapshot()
    assert snapshot["dropped.bad_image"] == "3" and snapshot["latency_ms.max"] == "13.00"
    assert snapshot["inference_ms.median"] == snapshot["inference_ms.max"] == "3.00"
    assert diag.dropped_total() == 3
    with pytest.raises(KeyError, match="unknown diagnostics reason"):
        diag.count("dropped.because")


def test_rate_meter():
    meter = RateMeter(window_s=1.0)
    for k in range(11):
        meter.add(1.0, now=k * 0.1)
    assert meter.rate(now=1.0) == pytest.approx(11.0)
    assert meter.rate(now=5.0) == 0.0


def test_annotate_draws_box_and_label_without_touching_the_input():
    rgb = np.zeros((100, 120, 3), np.uint8)
    out = annotate(rgb, (20, 30, 40, 20), 0.87, "tracking")
    assert not rgb.any() and out.shape == rgb.shape
    assert tuple(out[30, 40]) == (40, 220, 40)  # top edge of the box, tracking green
    assert annotate(rgb, None, None, "uninitialized").any()


# ---------------------------------------------------------------------------- event decoding
def packet(events_us, offset_ns, width=64, height=48, encoding="evt3"):
    from ros_node_harness import evt3_packets

    (msg,) = evt3_packets(events_us, width, height, offset_ns, packet_us=10**9)
    msg.encoding = encoding
    return msg


def events_us(t_us):
    from fetrack_ros.events import make_events

    n = len(t_us)
    return make_events(np.arange(n) % 64, np.arange(n) % 48, np.asarray(t_us), np.arange(n) % 2)


def test_event_decoding_maps_sensor_time_with_header_stamps():
    from fetrack_ros.messages import EventDecoding

    decoding = EventDecoding("event_packet", "header")
    offset = 1_700_000_000_000_000_000
    events, malformed = decoding.decode(packet(events_us([1000, 1001, 1500]), offset))
    assert not malformed and decoding.geometry == (48, 64)
    assert list(events["t"]) == [1000 * 1000 + offset, 1001 * 1000 + offset, 1500 * 1000 + offset]
    assert list(events["x"]) == [0, 1, 2] and list(events["p"]) == [0, 1, 0]


def test_event_decoding_fixed_offset_and_errors():
    from fetrack_ros.messages import EventDecoding, EventInputError

    decoding = EventDecoding("event_packet", "fixed", fixed_offset_ns=5)
    events, _ = decoding.decode(packet(events_us([7]), 123456))
    assert list(events["t"]) == [7005]
    with pytest.raises(EventInputError) as info:
        decoding.decode(packet(events_us([8]), 0, encoding="libcaer_cmp"))
    assert info.value.reason == "events.unknown_encoding" and "event_camera_py" in str(info.value)
    with pytest.raises(EventInputError) as info:
        decoding.decode(packet(events_us([9]), 0, width=0))
    assert info.value.reason == "events.bad_geometry"
    bad = packet(events_us([10]), 0)
    bad.events = bytes(bad.events) + np.array([0x9000], np.uint16).tobytes()
    events, malformed = decoding.decode(bad)
    assert malformed and len(events) == 1


def test_missing_message_package_names_it(monkeypatch):
    from fetrack_ros.node.event_input import MissingPackageError, message_type

    assert message_type("event_packet").__name__ == "EventPacket"
    monkeypatch.setitem(sys.modules, "dvs_msgs.msg", None)  # as if dvs_msgs were not installed
    with pytest.raises(MissingPackageError, match="dvs_msgs"):
        message_type("dvs_event_array")


def test_mono_packets_decode_with_their_time_base():
    from event_camera_msgs.msg import EventPacket

    from fetrack_ros.events import encode_mono
    from fetrack_ros.messages import EventDecoding

    source = events_us([0, 0, 0])
    source["t"] = [5_000_000, 5_000_400, 5_001_000]  # ns
    data, time_base = encode_mono(source)
    msg = EventPacket(height=48, width=64, encoding="mono", time_base=time_base, events=data)
    events, malformed = EventDecoding("event_packet", "fixed", fixed_offset_ns=100).decode(msg)
    assert not malformed and list(events["t"]) == [5_000_100, 5_000_500, 5_001_100]
    assert list(events["x"]) == list(source["x"])


def test_legacy_event_arrays_decode_with_ros_time_stamps():
    from types import SimpleNamespace as Msg

    from fetrack_ros.messages import EventDecoding

    def event(x, y, sec, nanosec, polarity):
        return Msg(x=x, y=y, ts=Msg(sec=sec, nanosec=nanosec), polarity=polarity)

    msg = Msg(height=260, width=346, header=Msg(stamp=Msg(sec=10, nanosec=0)),
              events=[event(1, 2, 10, 5, True), event(3, 4, 10, 7, False)])
    events, malformed = EventDecoding("dvs_event_array", "fixed").decode(msg)
    assert not malformed
    assert list(events["t"]) == [10_000_000_005, 10_000_000_007] and list(events["p"]) == [1, 0]


def test_batched_evt3_decoding_equals_packet_by_packet():
    from ros_node_harness import evt3_packets

    from fetrack_ros.messages import EventDecoding

    rng = np.random.default_rng(5)
    n = 5000
    source = events_us(np.sort(rng.integers(1_000_000, 1_020_000, n)))
    packets = evt3_packets(source, 64, 48, 10**18, packet_us=500)
    packets[3].events = bytes(packets[3].events) + b"\x01"  # an odd trailing byte inside a batch
    # fixed clock: in header mode the clock estimate is updated once per decoder call, so the
    # two ways differ by the estimator's slow rise (by design), not by decoding
    one_by_one = EventDecoding("event_packet", "fixed", fixed_offset_ns=10**18)
    singles = [one_by_one.decode(p)[0] for p in packets]
    batched = EventDecoding("event_packet", "fixed", fixed_offset_ns=10**18)
    chunks, malformed, errors = batched.decode_many(packets)
    assert not errors and malformed == 1 and len(packets) > 10
    assert np.array_equal(np.concatenate(chunks), np.concatenate(singles))
