"""Event frames rendered from raw aedat4 recordings (dataset folders) and their conversion to
bags with EVT3 packets, written with dv-processing and read back through the real readers."""
import argparse
import shutil

import numpy as np
import pytest

from fetrack_ros.events import EVENT_DTYPE, WindowPolicy, render_ahu
from fetrack_ros.data import bags, datasets, synthetic_folders as synthetic
from fetrack_ros.cli import convert as convert_cli
from fetrack_ros.data.sequence import SourceError

H, W, N = 48, 64, 6
T0_US = 1_700_000_123_456  # DAVIS recordings carry Unix-time microseconds
PERIOD_US = 33_000


def _frame_times_us():
    return T0_US + np.arange(N) * PERIOD_US + np.array([0, 10, 0, 250, 3, 0])  # not quite regular


@pytest.fixture
def recorded(tmp_path):
    """A COESOT-layout sequence with its raw recording and no dvs folder: (root, events)."""
    root = tmp_path / "data"
    seq_dir = synthetic.write_sequence(root, "rec", "coesot", n_frames=N, height=H, width=W, seed=4)
    shutil.rmtree(seq_dir / "rec_dvs")
    rgb = np.stack([datasets.read_rgb(p) for p in datasets.list_frames(seq_dir / "rec_aps")])
    events = synthetic.random_events(T0_US - 40_000, T0_US + N * PERIOD_US + 5_000, 30, H, W, seed=7)
    synthetic.write_recording(seq_dir / "rec.aedat4", rgb, _frame_times_us(), events)
    return root, events


def _expected_windows(events, policy):
    return [events[(events["t"] >= t0) & (events["t"] < t1)]
            for t0, t1 in map(policy.window, (_frame_times_us() * 1000).tolist())]


@pytest.mark.parametrize("policy", [WindowPolicy(), WindowPolicy("exposure", exposure_ns=8_000_000,
                                                                 exposure_offset_ns=-4_000_000)])
def test_frames_get_their_recording_windows_rendered(recorded, policy):
    root, events = recorded
    seq = datasets.FolderSequence(root / "rec", "coesot", events="aedat4", window=policy)
    assert seq.has_raw_events and seq.sensor_size == (W, H) and len(seq) == N
    np.testing.assert_array_equal(seq.stamps_ns, _frame_times_us() * 1000)
    expected = _expected_windows(events, WindowPolicy(**{k: getattr(policy, k) for k in (
        "kind", "duration_ns", "exposure_ns", "exposure_offset_ns")}))
    frames = list(seq.frames())
    for frame, window in zip(frames, expected):
        assert len(window) > 100
        assert frame.stamp_ns == _frame_times_us()[frame.index] * 1000
        np.testing.assert_array_equal(frame.events, window)
        np.testing.assert_array_equal(frame.event_frame, render_ahu(window, H, W))
        np.testing.assert_array_equal(frame.gt_xywh, seq.gt_xywh[frame.index])
    # iterating again starts over (the between_frames policy keeps no state across passes)
    np.testing.assert_array_equal(next(iter(seq.frames())).events, frames[0].events)
    np.testing.assert_array_equal(np.concatenate(list(seq.event_batches())), events)


def test_recording_errors_are_clear(recorded, tmp_path):
    root, _ = recorded
    bare = _copy_without(root / "rec", tmp_path / "bare" / "rec", "rec.aedat4")
    with pytest.raises(SourceError, match=r"no raw event recording .* looked for .*rec\.aedat4, .*events\.aedat4"):
        datasets.FolderSequence(bare, "coesot", events="aedat4")
    # a recording with fewer frames than the aps folder
    rgb = np.zeros((N - 1, H, W, 3), np.uint8)
    synthetic.write_recording(bare / "rec.aedat4", rgb, _frame_times_us()[:-1], np.zeros(0, EVENT_DTYPE))
    with pytest.raises(SourceError, match=r"rec\.aedat4 has 5 frames but .*rec_aps has 6; frame i of the folder"):
        datasets.FolderSequence(bare, "coesot", events="aedat4")
    (bare / "rec.aedat4").write_bytes(b"not an aedat4 file")
    with pytest.raises(SourceError, match="could not be read by dv-processing"):
        datasets.FolderSequence(bare, "coesot", events="aedat4")
    with pytest.raises(SourceError, match="reads event frames .*: no raw events"):
        next(_frames_only(tmp_path).event_batches())


def _copy_without(src, dst, name):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(name))
    return dst


def _frames_only(tmp_path):
    synthetic.write_sequence(tmp_path / "plain", "p", "coesot", n_frames=2, height=H, width=W)
    return datasets.FolderSequence(tmp_path / "plain" / "p", "coesot")


def _convert(argv):
    parser = argparse.ArgumentParser()
    convert_cli.add_arguments(parser)
    return convert_cli.main(parser.parse_args(argv))


def test_converted_bag_carries_the_recording_as_evt3_packets(recorded, tmp_path):
    root, events = recorded
    assert _convert(["--dataset", "coesot", "--root", str(root), "--events", "aedat4",
                     "--out", str(tmp_path / "bags")]) == 0
    bag = tmp_path / "bags" / "rec"
    reader = bags.open_reader(bag)
    topics = {name: info.msgcount for name, info in reader.topics.items()}
    reader.close()
    assert topics["/image"] == topics["/event_frames"] == topics["/ground_truth"] == N
    assert topics["/events"] >= (N + 1) * PERIOD_US // 1000  # 1 ms packets
    folder = list(datasets.FolderSequence(root / "rec", "coesot", events="aedat4").frames())
    # rendered event frames as images, stamped with the recording's frame times
    for a, b in zip(folder, bags.BagSequence(bag, gt_topic="/ground_truth").frames()):
        assert b.stamp_ns == a.stamp_ns
        np.testing.assert_array_equal(b.event_frame, a.event_frame)
        np.testing.assert_array_equal(b.gt_xywh, a.gt_xywh)
    # the packets: EVT3 counts microseconds in 24 bits, so the sensor clock is the recording's
    # time modulo 2^24 us; with that offset the node's windows are the folder's exactly
    sensor_zero_ns = (events["t"][0] // 1000) // (1 << 24) * (1 << 24) * 1000
    fixed = bags.BagSequence(bag, event_topic="/events", event_clock="fixed", event_offset_ns=int(sensor_zero_ns))
    assert fixed.sensor_hw == (H, W)
    for a, b in zip(folder, fixed.frames()):
        np.testing.assert_array_equal(b.events, a.events)
        np.testing.assert_array_equal(b.event_frame, a.event_frame)
    assert fixed.input_problems == {}
    # the node's header-stamp clock estimate: exact at the first packet, then allowed to creep up
    # by its drift allowance (100 ppm per packet's elapsed time) while packets start after gaps in
    # this sparse stream (30 events/ms), down again at the next tight observation
    header = np.concatenate([f.events for f in bags.BagSequence(bag, event_topic="/events").frames()])
    truth = np.concatenate([f.events for f in folder])
    assert abs(len(header) - len(truth)) <= 2  # events within the error of a window edge may change sides
    order = ["x", "y", "p", "t"]
    header, truth = np.sort(header, order=order), np.sort(truth, order=order)
    if len(header) != len(truth):  # drop the few that crossed the first or last window edge
        common = min(len(header), len(truth))
        header, truth = header[:common], truth[:common]
    same = (header["x"] == truth["x"]) & (header["y"] == truth["y"]) & (header["p"] == truth["p"])
    assert same.mean() > 0.99
    error = (header["t"] - truth["t"])[same]
    assert error.min() >= 0 and error.max() <= 20_000
