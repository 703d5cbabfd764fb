"""rosbag2 sources and writer: real bags written with rosbags (sqlite3 and mcap) and read back."""
import numpy as np
import pytest
import yaml

from fetrack_ros.data import bags, synthetic_folders as synthetic
from fetrack_ros.data.bagwriter import BagWriter
from fetrack_ros.data.rostypes import TRACK, find_msg_dir, get_typestore
from fetrack_ros.data.sequence import SourceError

RGB, EV, GT = bags.DEFAULT_RGB_TOPIC, bags.DEFAULT_EVENT_FRAME_TOPIC, bags.DEFAULT_GT_TOPIC
T0 = 1_700_000_000_000_000_000


def _write_bag(path, storage, n=5, compressed=False, event_offset_ns=0, skip_event=None, skip_gt=None,
               h=30, w=40):
    rgb, event, gt = synthetic.make_frames(n, h, w, seed=1)
    stamps = T0 + np.arange(n, dtype=np.int64) * 33_000_000
    with BagWriter(path, storage) as writer:
        for i in range(n):
            if compressed:
                writer.write_compressed_image(RGB, int(stamps[i]), rgb[i])
            else:
                writer.write_image(RGB, int(stamps[i]), rgb[i])
            if i != skip_event:
                # event frames logged a little later than their image, like a real renderer
                writer.write_image(EV, int(stamps[i]) + event_offset_ns, event[i],
                                   log_time_ns=int(stamps[i]) + 5_000_000)
            if i != skip_gt:
                writer.write_track(GT, int(stamps[i]), gt[i], confidence=1.0)
    return rgb, event, gt, stamps


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
@pytest.mark.parametrize("compressed", [False, True])
def test_bag_round_trip(tmp_path, storage, compressed):
    rgb, event, gt, stamps = _write_bag(tmp_path / "b", storage, compressed=compressed)
    seq = bags.BagSequence(tmp_path / "b", gt_topic=GT)
    assert len(seq) == 5 and seq.name == "b"
    np.testing.assert_array_equal(seq.gt_xywh, gt)
    frames = list(seq.frames())
    assert [f.stamp_ns for f in frames] == stamps.tolist()
    for f, r, e, g in zip(frames, rgb, event, gt):
        np.testing.assert_array_equal(f.rgb, r)  # png is lossless
        np.testing.assert_array_equal(f.event_frame, e)
        np.testing.assert_array_equal(f.gt_xywh, g)
        assert f.rgb.flags.writeable
    assert len(list(seq)) == 5  # re-iterable


def test_event_frames_paired_by_nearest_stamp_within_tolerance(tmp_path):
    rgb, event, _, _ = _write_bag(tmp_path / "b", "sqlite3", event_offset_ns=400_000)
    frames = list(bags.BagSequence(tmp_path / "b", match_tolerance_ns=500_000).frames())
    for f, e in zip(frames, event):
        np.testing.assert_array_equal(f.event_frame, e)
    with pytest.raises(SourceError, match=r"5 of 5 RGB images have no event frame on /event_frames "
                                          r"within 100000 ns"):
        bags.BagSequence(tmp_path / "b", match_tolerance_ns=100_000)


def test_missing_event_frame_and_gt_are_reported(tmp_path):
    _write_bag(tmp_path / "a", "mcap", skip_event=2)
    with pytest.raises(SourceError, match="1 of 5 RGB images have no event frame"):
        bags.BagSequence(tmp_path / "a")
    _write_bag(tmp_path / "b", "mcap", skip_gt=4)
    with pytest.raises(SourceError, match="1 of 5 RGB images have no ground-truth box on /ground_truth"):
        bags.BagSequence(tmp_path / "b", gt_topic=GT)


def test_ground_truth_from_file(tmp_path):
    _, _, gt, _ = _write_bag(tmp_path / "b", "sqlite3")
    (tmp_path / "gt.txt").write_text("\n".join("\t".join(str(v) for v in row) for row in gt) + "\n")
    seq = bags.BagSequence(tmp_path / "b", gt_file=tmp_path / "gt.txt")
    np.testing.assert_array_equal(seq.gt_xywh, gt)
    (tmp_path / "gt.txt").write_text("1,2,3,4\n")
    with pytest.raises(SourceError, match="1 ground-truth lines for 5 RGB images"):
        bags.BagSequence(tmp_path / "b", gt_file=tmp_path / "gt.txt")


def test_missing_topic_lists_the_bag_topics(tmp_path):
    _write_bag(tmp_path / "b", "sqlite3")
    with pytest.raises(SourceError, match=r"no RGB image topic '/cam/rgb'; its topics: /event_frames "
                                          r"\(sensor_msgs/msg/Image, 5 msgs\), /ground_truth \(fetrack_ros/msg/Track, "
                                          r"5 msgs\), /image \(sensor_msgs/msg/Image, 5 msgs\)"):
        bags.BagSequence(tmp_path / "b", rgb_topic="/cam/rgb")
    with pytest.raises(SourceError, match=r"ground-truth topic '/image' carries sensor_msgs/msg/Image; "
                                          r"expected fetrack_ros/msg/Track"):
        bags.BagSequence(tmp_path / "b", gt_topic=RGB)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_corrupt_bag_is_reported(tmp_path, storage):
    _write_bag(tmp_path / "b", storage)
    data_file = next(p for p in (tmp_path / "b").iterdir() if p.suffix in (".db3", ".mcap"))
    data_file.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(SourceError, match=r"(cannot open bag|corrupt or unreadable)"):
        list(bags.BagSequence(tmp_path / "b").frames())


def test_truncated_mcap_is_reported(tmp_path):
    _write_bag(tmp_path / "b", "mcap")
    data_file = tmp_path / "b" / "b.mcap" if (tmp_path / "b" / "b.mcap").exists() else \
        next((tmp_path / "b").glob("*.mcap"))
    data = data_file.read_bytes()
    data_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"(cannot open bag|corrupt or unreadable)"):
        list(bags.BagSequence(tmp_path / "b").frames())


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_empty_storage_identifier_is_inferred_from_the_file_extension(tmp_path, storage):
    """Some recorders (e.g. event_camera_py's test data) leave ``storage_identifier: ""``;
    ros2 bag then goes by the file extension, and so do we."""
    rgb, event, gt, stamps = _write_bag(tmp_path / "b", storage)
    metadata = tmp_path / "b" / "metadata.yaml"
    text = metadata.read_text()
    assert f"storage_identifier: {storage}" in text
    metadata.write_text(text.replace(f"storage_identifier: {storage}", 'storage_identifier: ""'))
    seq = bags.BagSequence(tmp_path / "b", gt_topic=GT)
    frames = list(seq.frames())
    assert [f.stamp_ns for f in frames] == stamps.tolist()
    for f, r, e, g in zip(frames, rgb, event, gt):
        np.testing.assert_array_equal(f.rgb, r)
        np.testing.assert_array_equal(f.event_frame, e)
        np.testing.assert_array_equal(f.gt_xywh, g)
    # several storage files and no identifier: no guess, a clear message
    data_file = next(p for p in (tmp_path / "b").iterdir() if p.suffix in (".db3", ".mcap"))
    info = yaml.safe_load(metadata.read_text())
    info["rosbag2_bagfile_information"]["relative_file_paths"].append(f"other{data_file.suffix}")
    metadata.write_text(yaml.safe_dump(info))
    (tmp_path / "b" / f"other{data_file.suffix}").write_bytes(data_file.read_bytes())
    with pytest.raises(SourceError, match="names no storage_identifier"):
        bags.BagSequence(tmp_path / "b")


def test_missing_bag(tmp_path):
    with pytest.raises(SourceError, match="bag not found"):
        bags.BagSequence(tmp_path / "none")


def test_image_encodings_and_padding():
    ts = get_typestore()
    Image = ts.types["sensor_msgs/msg/Image"]
    header = ts.types["std_msgs/msg/Header"](stamp=ts.types["builtin_interfaces/msg/Time"](sec=0, nanosec=0),
                                             frame_id="")
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    bgr = rgb[..., ::-1]
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = bgr.reshape(2, 9)
    msg = Image(header=header, height=2, width=3, encoding="bgr8", is_bigendian=0, step=12, data=padded.reshape(-1))
    np.testing.assert_array_equal(bags.image_msg_to_rgb(msg), rgb)
    mono = Image(header=header, height=1, width=2, encoding="mono8", is_bigendian=0, step=2,
                 data=np.array([7, 9], np.uint8))
    np.testing.assert_array_equal(bags.image_msg_to_rgb(mono), [[[7, 7, 7], [9, 9, 9]]])
    short = Image(header=header, height=2, width=3, encoding="rgb8", is_bigendian=0, step=9,
                  data=np.zeros(10, np.uint8))
    with pytest.raises(SourceError, match="image data has 10 bytes, expected 18"):
        bags.image_msg_to_rgb(short)
    bad = Image(header=header, height=1, width=1, encoding="nonsense", is_bigendian=0, step=1,
                data=np.zeros(1, np.uint8))
    with pytest.raises(SourceError, match="image encoding 'nonsense' is not supported"):
        bags.image_msg_to_rgb(bad)


def test_typestore_uses_the_repository_track_definition():
    assert (find_msg_dir() / "Track.msg").is_file()
    track = get_typestore().types[TRACK]
    assert (track.STATUS_UNINITIALIZED, track.STATUS_TRACKING, track.STATUS_LOW_CONFIDENCE,
            track.STATUS_LOST) == (0, 1, 2, 3)
    assert [f for f in track.__dataclass_fields__ if not f.isupper() and not f.startswith("_")] == [
        "header", "status", "x", "y", "width", "height", "confidence", "template_updated", "num_events",
        "event_window"]
    assert "event_camera_msgs/msg/EventPacket" in get_typestore().types


def test_track_and_event_packet_round_trip(tmp_path):
    with BagWriter(tmp_path / "r", "mcap") as writer:
        writer.write_track("/track", T0, [1.5, 2.5, 30.25, 40.0], status=2, confidence=0.25,
                           template_updated=True, num_events=123)
        writer.write_event_packet("/events", T0, b"\x01\x02\x03", encoding="evt3", width=346, height=260,
                                  seq=7, time_base=11)
    with pytest.raises(FileExistsError):
        BagWriter(tmp_path / "r")
    reader = bags.open_reader(tmp_path / "r")
    ts = get_typestore()
    got = {c.topic: ts.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()}
    reader.close()
    t = got["/track"]
    assert (t.status, t.x, t.y, t.width, t.height, t.confidence, t.template_updated, t.num_events) == \
        (2, 1.5, 2.5, 30.25, 40.0, 0.25, True, 123)
    assert t.header.stamp.sec * 10**9 + t.header.stamp.nanosec == T0
    p = got["/events"]
    assert (p.encoding, p.width, p.height, p.seq, p.time_base, bytes(p.events)) == \
        ("evt3", 346, 260, 7, 11, b"\x01\x02\x03")


def _write_packet_bag(path, storage, n=5, latency_ns=200_000, h=30, w=40):
    """RGB images every 33 ms plus an EVT3 stream in 1 ms packets (sensor time from 0; header
    stamps = T0 + sensor time of the packet's first event + latency, like a driver)."""
    from fetrack_ros.events import make_events
    from fetrack_ros.events.evt3_encoder import encode_evt3
    rng = np.random.default_rng(3)
    rgb, _, gt = synthetic.make_frames(n, h, w, seed=2)
    stamps = T0 + np.arange(1, n + 1, dtype=np.int64) * 33_000_000  # frame 0's window has events too
    count = 4000
    t_us = np.sort(rng.integers(0, (n + 1) * 33_000 + 5_000, count))
    events = make_events(rng.integers(0, w, count), rng.integers(0, h, count), t_us * 1000, rng.integers(0, 2, count))
    with BagWriter(path, storage) as writer:
        items = [(int(s), "rgb", i) for i, s in enumerate(stamps)]
        for k, start_us in enumerate(range(0, int(t_us[-1]) + 1, 1000)):
            part = events[(t_us >= start_us) & (t_us < start_us + 1000)]
            if len(part):
                items.append((T0 + int(part["t"][0]) + latency_ns, "packet", (k, part)))
        for stamp, kind, payload in sorted(items, key=lambda item: item[0]):
            if kind == "rgb":
                writer.write_image(RGB, stamp, rgb[payload])
                writer.write_track(GT, stamp, gt[payload])
            else:
                seq, part = payload
                writer.write_event_packet("/events", stamp, encode_evt3(part), encoding="evt3", width=w, height=h,
                                          seq=seq)
    return rgb, events, stamps


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_evt3_packets_are_windowed_and_rendered_like_the_node(tmp_path, storage):
    from fetrack_ros.events import render_ahu
    rgb, events, stamps = _write_packet_bag(tmp_path / "b", storage)
    seq = bags.BagSequence(tmp_path / "b", event_topic="/events", gt_topic=GT, event_clock="fixed",
                           event_offset_ns=T0)
    assert seq.event_packets and seq.sensor_hw == (30, 40)
    frames = list(seq.frames())
    assert len(frames) == 5 and seq.input_problems == {}
    ros_t = events["t"] + T0
    for i, f in enumerate(frames):
        t0 = stamps[i - 1] if i else stamps[0] - 33_000_000  # default window: previous image to this one
        expected = events[(ros_t >= t0) & (ros_t < stamps[i])]
        assert len(expected) > 50
        np.testing.assert_array_equal(f.events["x"], expected["x"])
        np.testing.assert_array_equal(f.events["t"], expected["t"] + T0)
        np.testing.assert_array_equal(f.events["p"], expected["p"])
        np.testing.assert_array_equal(f.event_frame, render_ahu(expected, 30, 40))
        np.testing.assert_array_equal(f.rgb, rgb[i])
    # the header clock (the node's estimator) maps sensor time with about the driver latency added
    header = list(bags.BagSequence(tmp_path / "b", event_topic="/events").frames())
    got = np.concatenate([f.events for f in header])
    first = int(np.searchsorted(ros_t, got["t"][0] - 250_000))
    original = events[first:first + len(got)]
    np.testing.assert_array_equal(got["x"], original["x"])
    offset = got["t"] - (original["t"] + T0)
    assert offset.min() >= 200_000 and offset.max() <= 220_000
    for i, f in enumerate(header):
        t0 = stamps[i - 1] if i else stamps[0] - 33_000_000
        assert f.events["t"].min() >= t0 and f.events["t"].max() < stamps[i]


def test_eval_run_counts_events_from_packets(tmp_path):
    from fetrack_ros.evaluation.run import ModelSpec, RunOptions, run_evaluation
    _write_packet_bag(tmp_path / "b", "mcap", n=3, h=64, w=80)
    seq = bags.BagSequence(tmp_path / "b", event_topic="/events", gt_topic=GT, event_clock="fixed",
                           event_offset_ns=T0)
    result = run_evaluation([seq], RunOptions(out_dir=tmp_path / "out", model=ModelSpec("vim_t", overrides=(
        ("depth", 1),)), write_bags=False), progress=False, log=lambda s: None)
    assert result["runs"]["b"].num_events.tolist() == [len(f.events) for f in seq.frames()]
