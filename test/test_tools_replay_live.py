"""``fetrack eval --live``: bag -> the real tracker node process -> recorded Tracks -> metrics,
compared with the offline evaluation of the same data (dataset folder and bag)."""
import argparse
import json

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import FIXTURE_WEIGHTS  # noqa: E402

from fetrack_ros.data import bags, synthetic_folders as synthetic
from fetrack_ros.cli import eval as eval_cli  # noqa: E402
from fetrack_ros.data.bagwriter import BagWriter  # noqa: E402
from fetrack_ros.data.convert import convert_sequence  # noqa: E402
from fetrack_ros.data.datasets import FolderSequence  # noqa: E402
from fetrack_ros.evaluation.run import TRACKS_TOPIC  # noqa: E402
from fetrack_ros.data.rostypes import get_typestore  # noqa: E402

N_FRAMES = 5
H, W = 120, 160
BOX_TOLERANCE_PX = 1e-3  # Track fields are float32; any real difference is pixels
MODEL = ["--checkpoint", str(FIXTURE_WEIGHTS), "--depth", "2", "--no-progress", "--threads", "1"]
LIVE = ["--live", "--startup-timeout", "120", "--frame-timeout", "60"]


def _eval(argv):
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    return eval_cli.main(parser.parse_args([str(a) for a in argv]))


def _results(out):
    record = np.load(out / "results" / "seq.npz")
    overall = json.loads((out / "report.json").read_text())["overall"]
    return record, overall


def _assert_same_tracking(live, offline, fields=("auc", "precision_20", "norm_precision_20", "op50", "op75")):
    (a, a_sum), (b, b_sum) = live, offline
    assert np.abs(a["boxes"] - b["boxes"]).max() <= BOX_TOLERANCE_PX, f"live\n{a['boxes']}\noffline\n{b['boxes']}"
    np.testing.assert_allclose(a["confidence"], b["confidence"], atol=1e-5)
    np.testing.assert_array_equal(a["status"], b["status"])
    np.testing.assert_array_equal(a["template_updated"][1:], b["template_updated"][1:])
    np.testing.assert_array_equal(a["num_events"], b["num_events"])
    np.testing.assert_array_equal(a["stamps_ns"], b["stamps_ns"])
    for key in fields:
        assert a_sum[key] == pytest.approx(b_sum[key], abs=1e-9), key


@pytest.fixture(scope="module")
def coesot(tmp_path_factory):
    """A synthetic COESOT-layout folder and its converted bag."""
    root = tmp_path_factory.mktemp("live") / "coesot"
    synthetic.write_sequence(root, "seq", "coesot", n_frames=N_FRAMES, height=H, width=W)
    bag = convert_sequence(FolderSequence(root / "seq", "coesot"), root.parent / "bags" / "seq")
    return root, bag


def test_folder_bag_and_live_give_the_same_boxes_and_metrics(coesot, tmp_path):
    root, bag = coesot
    assert _eval(["--dataset", "coesot", "--root", root, "--out", tmp_path / "folder", *MODEL]) == 0
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "bag", *MODEL]) == 0
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "live", *MODEL, *LIVE]) == 0
    folder, offline, live = (_results(tmp_path / name) for name in ("folder", "bag", "live"))
    np.testing.assert_array_equal(folder[0]["boxes"], offline[0]["boxes"])
    _assert_same_tracking(live, offline)
    assert live[1]["frames"] == N_FRAMES and live[1]["fps"] > 0  # lockstep round trips
    # the recorder's bag holds the node's own Tracks, one per image, at the image stamps
    reader = bags.open_reader(tmp_path / "live" / "tracks" / "seq")
    tracks = [get_typestore().deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()]
    assert list(reader.topics) == [TRACKS_TOPIC]
    reader.close()
    np.testing.assert_array_equal([t.header.stamp.sec * 10**9 + t.header.stamp.nanosec for t in tracks],
                                  live[0]["stamps_ns"])
    np.testing.assert_array_equal([[t.x, t.y, t.width, t.height] for t in tracks], live[0]["boxes"])
    assert "tracker_node active" in (tmp_path / "live" / "live" / "seq.node.log").read_text()
    params = json.loads((tmp_path / "live" / "live" / "seq.params.yaml").read_text())["/**"]["ros__parameters"]
    assert params["use_sim_time"] is True and params["event_input"] == "event_frames"
    assert params["initial_box"] == list(offline[0]["boxes"][0])
    # an offline run resuming in the live run's folder does not take the node's results for its own
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "live", *MODEL]) == 2


def _packet_bag(path, gt_topic="/ground_truth", log_latency_ns=40_000_000):
    """Synthetic RGB frames 33 ms apart, ground truth, and an EVT3 stream in 1 ms packets whose
    header stamps lead the events by a driver-like latency (the node estimates the clock), logged
    ``log_latency_ns`` after their header stamp: more than a frame period, so the events that
    complete an image come after the next image in the bag."""
    from fetrack_ros.events import encode_evt3, make_events
    rgb, _, gt = synthetic.make_frames(N_FRAMES, H, W, seed=1)
    rng = np.random.default_rng(5)
    t0 = 2_000_000_000
    stamps = t0 + np.arange(1, N_FRAMES + 1, dtype=np.int64) * 33_000_000
    count = 3000 * N_FRAMES
    t_us = np.sort(rng.integers(0, (N_FRAMES + 1) * 33_000 + 3_000, count))
    events = make_events(rng.integers(0, W, count), rng.integers(0, H, count), t_us * 1000, rng.integers(0, 2, count))
    items = [(int(s), 0, i) for i, s in enumerate(stamps)]
    for k, start in enumerate(range(0, int(t_us[-1]) + 1, 1000)):
        part = events[(t_us >= start) & (t_us < start + 1000)]
        if len(part):
            items.append((t0 + int(part["t"][0]) + 150_000 + log_latency_ns, 1, (k, part)))
    with BagWriter(path, "sqlite3") as writer:
        for stamp, kind, payload in sorted(items, key=lambda item: item[:2]):
            if kind == 0:
                writer.write_image("/image", stamp, rgb[payload])
                writer.write_track(gt_topic, stamp, gt[payload])
            else:
                writer.write_event_packet("/events", stamp - log_latency_ns, encode_evt3(payload[1]), encoding="evt3",
                                          width=W, height=H, seq=payload[0], log_time_ns=stamp)
    return path


def test_images_in_flight_follow_the_bag_order(coesot, tmp_path):
    from fetrack_ros.events import WindowPolicy
    from fetrack_ros.tools.live_eval import needed_in_flight
    assert needed_in_flight(bags.BagSequence(coesot[1]), WindowPolicy()) == 1
    for latency_ms, expected in ((0, 1), (40, 2), (70, 3)):
        seq = bags.BagSequence(_packet_bag(tmp_path / f"l{latency_ms}", log_latency_ns=latency_ms * 1_000_000),
                               event_topic="/events")
        assert needed_in_flight(seq, WindowPolicy()) == expected, f"{latency_ms} ms"


def test_event_packet_bag_live_equals_offline(tmp_path, capsys):
    """Image k's events come after image k+1 in the bag, as in recordings: two images in flight."""
    bag = _packet_bag(tmp_path / "seq")
    source = ["--bag", bag, "--gt-topic", "/ground_truth", "--event-topic", "/events"]
    assert _eval([*source, "--out", tmp_path / "bag", *MODEL]) == 0
    assert _eval([*source, "--out", tmp_path / "live", *MODEL, *LIVE]) == 0
    assert "replaying 5 images in lockstep (2 in flight)" in capsys.readouterr().err
    live, offline = _results(tmp_path / "live"), _results(tmp_path / "bag")
    assert (offline[0]["num_events"][1:] > 1000).all()  # the windows really hold the stream's events
    _assert_same_tracking(live, offline)


def test_aedat4_folder_packet_bag_and_live_give_the_same_boxes(tmp_path):
    """Event frames rendered from a raw recording, the recording converted to EVT3 packets, and
    those packets through the node: the same windows, so the same boxes all three ways."""
    import shutil

    from fetrack_ros.data.datasets import list_frames, read_rgb
    root = tmp_path / "coesot"
    seq_dir = synthetic.write_sequence(root, "seq", "coesot", n_frames=N_FRAMES, height=H, width=W)
    shutil.rmtree(seq_dir / "seq_dvs")
    rgb = np.stack([read_rgb(p) for p in list_frames(seq_dir / "seq_aps")])
    t0_us, period_us = 1_700_000_000_000_000, 33_333
    events = synthetic.random_events(t0_us - period_us, t0_us + N_FRAMES * period_us, 300, H, W, seed=3)
    synthetic.write_recording(seq_dir / "seq.aedat4", rgb, t0_us + np.arange(N_FRAMES) * period_us, events)
    bag = convert_sequence(FolderSequence(seq_dir, "coesot", events="aedat4"), tmp_path / "bags" / "seq")
    # EVT3's 24-bit microsecond clock: the sensor time is the recording's modulo 2^24 us
    clock = ["--event-clock", "fixed", "--event-offset-ns", str(t0_us // (1 << 24) * (1 << 24) * 1000)]
    source = ["--bag", bag, "--gt-topic", "/ground_truth", "--event-topic", "/events", *clock]
    assert _eval(["--dataset", "coesot", "--root", root, "--events", "aedat4", "--out", tmp_path / "folder",
                  *MODEL]) == 0
    assert _eval([*source, "--out", tmp_path / "bag", *MODEL]) == 0
    assert _eval([*source, "--out", tmp_path / "live", *MODEL, *LIVE]) == 0
    folder, offline, live = (_results(tmp_path / name) for name in ("folder", "bag", "live"))
    assert (folder[0]["num_events"] > 1000).all()
    np.testing.assert_array_equal(folder[0]["boxes"], offline[0]["boxes"])
    np.testing.assert_array_equal(folder[0]["num_events"], offline[0]["num_events"])
    _assert_same_tracking(live, offline)


def test_live_errors_are_clear(coesot, tmp_path, capsys):
    root, bag = coesot
    assert _eval(["--dataset", "coesot", "--root", root, "--out", tmp_path / "a", *MODEL, *LIVE]) == 2
    assert "--live replays bags: give --bag" in capsys.readouterr().err
    assert _eval(["--bag", bag, "--out", tmp_path / "b", *MODEL, *LIVE]) == 2
    assert "--live needs ground truth (--gt-topic or --gt-file)" in capsys.readouterr().err
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "c", *MODEL, *LIVE,
                  "--node-param", "max_wait=-1.0"]) == 2
    assert "--node-param max_wait=-1.0 is outside [0.0, 10.0] s" in capsys.readouterr().err
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "d", *MODEL, *LIVE,
                  "--param", "search_size=128"]) == 2
    assert "tracker setting(s) ['search_size'] are not node parameters" in capsys.readouterr().err
    # the node refuses to start: its own reason comes back
    missing = tmp_path / "no_such_weights.pt"
    assert _eval(["--bag", bag, "--gt-topic", "/ground_truth", "--out", tmp_path / "e", "--checkpoint", missing,
                  "--depth", "2", *LIVE]) == 2
    err = capsys.readouterr().err
    assert "the tracker node exited with code 1; its output:" in err and "no_such_weights.pt" in err
