"""The demo's pieces that are its own: bags written like a robot's, and the CSRT baseline.
(The live run through the node is covered by test_tools_replay_live.py.)"""
import numpy as np

from fetrack_ros.data.bags import DEFAULT_EVENT_PACKET_TOPIC, DEFAULT_GT_TOPIC, DEFAULT_RGB_TOPIC, BagSequence
from fetrack_ros.cli.demo import ROS_TIME_BASE_NS, write_sequence_bag
from fetrack_ros.evaluation.baselines import track_csrt
from fetrack_ros.simulation.simulator import SimConfig, benchmark_sequences


def test_demo_bag_holds_the_simulated_sequence(tmp_path):
    sequence = benchmark_sequences(1, config=SimConfig(num_frames=6))[0]
    frames = list(sequence.frames())
    bag = BagSequence(write_sequence_bag(sequence, frames, tmp_path / "seq"), rgb_topic=DEFAULT_RGB_TOPIC,
                      event_topic=DEFAULT_EVENT_PACKET_TOPIC, gt_topic=DEFAULT_GT_TOPIC)
    read = list(bag.frames())
    assert len(read) == len(frames) == 6
    np.testing.assert_allclose(bag.gt_xywh, np.stack([f.gt_xywh for f in frames]), atol=1e-4)  # float32 Track
    for original, replayed in zip(frames, read):
        assert replayed.stamp_ns == original.stamp_ns + ROS_TIME_BASE_NS
        np.testing.assert_array_equal(replayed.rgb, original.rgb)
    # Events travel as EVT3 packets in the sensor clock; the reader maps them to image time
    # from packet stamps and renders each image's window: frames with events show them.
    assert sum(int((r.event_frame != 255).any()) for r in read) >= len(read) - 1


def test_csrt_baseline_starts_on_the_ground_truth_and_follows_an_easy_target():
    sequence = benchmark_sequences(1, config=SimConfig(num_frames=10))[0]  # seed 1e6: normal RGB
    boxes, seconds = track_csrt(list(sequence.frames()))
    assert boxes.shape == (10, 4) and seconds.shape == (9,)
    np.testing.assert_allclose(boxes[0], sequence.gt_xywh[0])
    centers = boxes[:, :2] + boxes[:, 2:] / 2
    gt_centers = sequence.gt_xywh[:, :2] + sequence.gt_xywh[:, 2:] / 2
    assert np.median(np.linalg.norm(centers - gt_centers, axis=1)) < 20


def test_demo_runs_again_into_the_same_folder(tmp_path, capsys):
    """`make demo` twice: the second run replaces the first one's bags and results."""
    import argparse

    import pytest
    pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")
    from fetrack_ros.cli import demo as demo_cli
    parser = argparse.ArgumentParser()
    demo_cli.add_arguments(parser)
    args = parser.parse_args(["--sequences", "1", "--frames", "4", "--out", str(tmp_path / "demo")])
    for run in range(2):
        assert demo_cli.main(args) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "| fetrack (node, RGB + events): all (1) | 4 |" in out and "Done in" in out
        assert "SR 95% interval" in out and "- all (1 sequences): " in out  # paired with CSRT
    assert [p.name for p in (tmp_path / "demo" / "bags").iterdir()] == ["synthetic_1000000_normal"]
    assert "replaying 4 images" in out  # the node ran again: nothing was taken from the first run
