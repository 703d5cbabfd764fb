"""rosbag2 sources and writer: real bags written with rosbags (sqlite3 and mcap) and read back."""
import numpy as np
import pytest

from fetrack_ros.evaluation import bags, synthetic
from fetrack_ros.evaluation.bagwriter import BagWriter
from fetrack_ros.evaluation.rostypes import TRACK, find_msg_dir, get_typestore
from fetrack_ros.evaluation.sequence import SourceError

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
        "header", "status", "x", "y", "width", "height", "confidence", "template_updated", "num_events"]
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
