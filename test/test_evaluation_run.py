"""Offline evaluation runs with the real Tracker and a small network (vim_t, depth 1, random weights).

The same synthetic COESOT-layout sequences evaluated from the folder, from a bag and through the
CLI (with a resumed run and parallel processes) give the same per-frame boxes and metrics.
"""
import argparse
import json
import shutil

import cv2
import numpy as np
import pytest

from fetrack_ros.data import bags, datasets, synthetic_folders as synthetic
from fetrack_ros.cli import eval as eval_cli
from fetrack_ros.evaluation import metrics
from fetrack_ros.data.bagwriter import BagWriter
from fetrack_ros.data.convert import convert_sequence
from fetrack_ros.data.groundtruth import read_boxes
from fetrack_ros.data.rostypes import get_typestore
from fetrack_ros.evaluation.run import ModelSpec, RunOptions, SequenceRun, run_evaluation
from fetrack_ros.tracking import TrackerParams

N_FRAMES, H, W = 4, 96, 128
MODEL = ModelSpec("vim_t", overrides=(("depth", 1),))
THREADS = 1  # one torch thread: on the shared 2-core machine spinning OpenMP threads slow small forwards


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("coesot")
    for seed, name in enumerate(["seq_a", "seq_b"]):
        synthetic.write_sequence(root, name, "coesot", n_frames=N_FRAMES, height=H, width=W, seed=seed)
    return root


@pytest.fixture(scope="module")
def folder_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = run_evaluation(datasets.open_dataset(data_root, "coesot"),
                            RunOptions(out_dir=out, model=MODEL, torch_threads=THREADS), progress=False,
                            log=lambda s: None)
    return out, result


def test_folder_run_writes_every_output(data_root, folder_run):
    out, result = folder_run
    assert result["tracked"] == ["seq_a", "seq_b"] and result["resumed"] == []
    for name in ("seq_a", "seq_b"):
        run = result["runs"][name]
        gt = datasets.FolderSequence(data_root / name, "coesot").gt_xywh
        np.testing.assert_array_equal(run.boxes[0], gt[0])  # frame 0 = initialisation box
        assert run.boxes.shape == (N_FRAMES, 4) and run.frame_seconds.shape == (N_FRAMES - 1,)
        assert np.all(run.frame_seconds > 0) and np.all((run.confidence >= 0) & (run.confidence <= 1))
        # the reference-format text file holds exactly the tracked boxes
        np.testing.assert_array_equal(read_boxes(out / "results" / f"{name}.txt"), run.boxes)
        # the Track bag holds them too (float32 fields), with the image stamps
        reader = bags.open_reader(out / "tracks" / name)
        ts = get_typestore()
        msgs = [ts.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()]
        reader.close()
        assert [c for c in {m.__msgtype__ for m in msgs}] == ["fetrack_ros/msg/Track"]
        np.testing.assert_allclose([[m.x, m.y, m.width, m.height] for m in msgs], run.boxes, rtol=1e-6)
        assert [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in msgs] == run.stamps_ns.tolist()
        assert [m.status for m in msgs] == run.status.tolist()
    report = json.loads((out / "report.json").read_text())
    expected = metrics.summarize([metrics.evaluate_sequence(result["runs"][n].boxes,
                                                            datasets.FolderSequence(data_root / n).gt_xywh)
                                  for n in ("seq_a", "seq_b")])
    assert report["overall"]["auc"] == pytest.approx(expected["auc"], abs=1e-9)
    assert report["overall"]["fps"] > 0
    assert (out / "success.png").stat().st_size > 0 and (out / "precision.png").stat().st_size > 0
    assert not list((out / "tracks").glob(".partial-*"))


def test_bag_gives_the_same_boxes_and_metrics(data_root, folder_run, tmp_path):
    _, folder_result = folder_run
    bag_sequences = []
    for name, storage in (("seq_a", "sqlite3"), ("seq_b", "mcap")):
        convert_sequence(datasets.FolderSequence(data_root / name, "coesot"), tmp_path / "bags" / name,
                         storage=storage, compressed=name == "seq_b")
        bag_sequences.append(bags.BagSequence(tmp_path / "bags" / name, gt_topic=bags.DEFAULT_GT_TOPIC))
    # in two worker processes: bag sequences are pickled to them
    result = run_evaluation(bag_sequences, RunOptions(out_dir=tmp_path / "out", model=MODEL, write_bags=False,
                                                      torch_threads=THREADS),
                            jobs=2, progress=False, log=lambda s: None)
    for name in ("seq_a", "seq_b"):
        np.testing.assert_array_equal(result["runs"][name].boxes, folder_result["runs"][name].boxes)
    assert result["summary"]["auc"] == folder_result["summary"]["auc"]
    assert result["summary"]["precision_20"] == folder_result["summary"]["precision_20"]


def _cli(argv):
    parser = argparse.ArgumentParser(prog="fetrack eval")
    eval_cli.add_arguments(parser)
    return eval_cli.main(parser.parse_args(argv))


def test_cli_resume_and_parallel_jobs(data_root, folder_run, tmp_path, capsys):
    _, folder_result = folder_run
    out = tmp_path / "cli"
    base = ["--dataset", "coesot", "--root", str(data_root), "--model", "vim_t", "--depth", "1",
            "--out", str(out), "--no-progress", "--threads", str(THREADS)]
    # an "interrupted" run: only seq_a finished
    assert _cli(base + ["--sequences", "seq_a", "--no-bags"]) == 0
    first = (out / "results" / "seq_a.npz").stat().st_mtime_ns
    # the full run, in two processes, resumes seq_a and tracks seq_b
    assert _cli(base + ["--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "resuming: 1 of 2 sequences already tracked" in err
    assert (out / "results" / "seq_a.npz").stat().st_mtime_ns == first
    for name in ("seq_a", "seq_b"):
        np.testing.assert_array_equal(SequenceRun.load(out / "results" / f"{name}.npz").boxes,
                                      folder_result["runs"][name].boxes)
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["auc"] == pytest.approx(folder_result["summary"]["auc"], abs=1e-9)
    assert report["meta"]["resumed_sequences"] == ["seq_a"]
    # resuming with other settings is refused (the old boxes would be reported as the new ones)
    assert _cli(base + ["--template-update-threshold", "0.5"]) == 2
    assert "changed: params.template_update_threshold" in capsys.readouterr().err
    assert _cli(base + ["--depth", "2", "--no-resume", "--sequences", "seq_a"]) == 0
    assert json.loads((out / "run_config.json").read_text())["model"]["overrides"] == [["depth", 2]]


def test_cli_input_errors(data_root, tmp_path, capsys):
    assert _cli(["--out", str(tmp_path)]) == 2
    assert "give either --dataset with --root, or --bag" in capsys.readouterr().err
    assert _cli(["--root", str(data_root), "--out", str(tmp_path)]) == 2
    assert "--root needs --dataset" in capsys.readouterr().err
    assert _cli(["--dataset", "fe108", "--root", str(data_root), "--out", str(tmp_path)]) == 2
    assert "frame folder not found" in capsys.readouterr().err
    assert _cli(["--bag", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "bag not found" in capsys.readouterr().err
    assert _cli(["--dataset", "coesot", "--root", str(data_root), "--out", str(tmp_path),
                 "--param", "search_factor"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert _cli(["--dataset", "coesot", "--root", str(data_root), "--out", str(tmp_path), "--jobs", "0"]) == 2
    assert "--jobs and --threads must be >= 1" in capsys.readouterr().err


def test_tracker_params_from_cli():
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    args = parser.parse_args(["--out", "x", "--param", "search_factor=4.5", "--param", "failed_search_threshold=5",
                              "--template-update-threshold", "0.5"])
    changes = eval_cli.tracker_changes(args)
    assert changes == {"search_factor": 4.5, "failed_search_threshold": 5, "template_update_threshold": 0.5}
    params = eval_cli.tracker_params(eval_cli.weights_info(args), changes)
    assert (params.search_factor, params.failed_search_threshold, params.template_update_threshold) == (4.5, 5, 0.5)
    # no --checkpoint with --model auto: the packaged model, with the settings it recommends
    assert params.size_update_rate == 0.3
    own = parser.parse_args(["--out", "x", "--param", "size_update_rate=1.0"])
    assert eval_cli.tracker_params(eval_cli.weights_info(own), eval_cli.tracker_changes(own)).size_update_rate == 1.0
    random_weights = parser.parse_args(["--out", "x", "--model", "vim_t"])
    assert eval_cli.weights_info(random_weights) is None
    assert eval_cli.tracker_params(None, {}).size_update_rate == 1.0
    with pytest.raises(ValueError, match="template_update_threshold must be >= 0"):
        eval_cli.tracker_changes(parser.parse_args(["--out", "x", "--template-update-threshold", "-1"]))


def test_changed_sequence_length_is_tracked_again(data_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(data_root / "seq_a", root / "seq_a")
    opts = RunOptions(out_dir=tmp_path / "out", model=MODEL, write_bags=False, torch_threads=THREADS)
    run_evaluation(datasets.open_dataset(root, "coesot"), opts, progress=False, log=lambda s: None)
    # the sequence grows by one frame: its old record no longer fits and is replaced
    synthetic.write_sequence(tmp_path / "grown", "seq_a", "coesot", n_frames=N_FRAMES + 1, height=H, width=W)
    result = run_evaluation(datasets.open_dataset(tmp_path / "grown", "coesot"), opts, progress=False,
                            log=lambda s: None)
    assert result["tracked"] == ["seq_a"] and len(result["runs"]["seq_a"]) == N_FRAMES + 1


def test_cli_bag_options_reach_the_source(tmp_path):
    rgb, event, gt = synthetic.make_frames(2, 32, 32)
    with BagWriter(tmp_path / "b", "mcap") as writer:
        for i in range(2):
            writer.write_image("/cam", 10**9 + i, rgb[i])
            writer.write_event_packet("/ev", 10**9 + i, b"", encoding="evt3", width=32, height=32, seq=i)
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    args = parser.parse_args(["--out", "x", "--bag", str(tmp_path / "b"), "--rgb-topic", "/cam", "--event-topic", "/ev",
                              "--window-policy", "exposure", "--exposure-ms", "5", "--exposure-offset-ms", "-5",
                              "--event-clock", "fixed", "--event-offset-ns", "7"])
    (seq,) = eval_cli.open_sequences(args)
    assert seq.event_packets and seq.sensor_hw == (32, 32) and (seq.event_clock, seq.event_offset_ns) == ("fixed", 7)
    assert (seq.window.kind, seq.window.exposure_ns, seq.window.exposure_offset_ns) == ("exposure", 5_000_000,
                                                                                          -5_000_000)
    assert len(seq) == 2 and seq.gt_xywh is None


def test_dataset_evaluation_reproduces_the_reference_tracker(official_fixtures, femamba_depth2_path, tmp_path):
    """The whole path (PNG folder -> source -> Tracker with the fixture weights -> result files)
    gives the reference tracker's boxes (template update off, as the reference has none)."""
    n = 10  # the first frames suffice: the reference's boxes do not depend on later frames
    expected = json.loads((official_fixtures / "tracker_expected.json").read_text())
    data = np.load(official_fixtures / "tracker_sequence.npz")
    seq_dir = tmp_path / "data" / "fixture"
    for sub, key in (("fixture_aps", "rgb"), ("fixture_dvs", "event")):
        (seq_dir / sub).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(seq_dir / sub / f"frame{i:04d}.png"), cv2.cvtColor(data[key][i], cv2.COLOR_RGB2BGR))
    (seq_dir / "groundtruth.txt").write_text("".join(",".join(f"{v:g}" for v in row) + "\n"
                                                     for row in data["gt_xywh"][:n]))
    options = RunOptions(out_dir=tmp_path / "out", write_bags=False, torch_threads=1,
                         params=TrackerParams(template_update_threshold=1.0),
                         model=ModelSpec("vim_s", str(femamba_depth2_path), (("depth", 2),)))
    result = run_evaluation(datasets.open_dataset(tmp_path / "data", "coesot"), options, progress=False,
                            log=lambda s: None)
    reference = np.array(expected["variants"]["a"]["target_bbox_all_frames_xywh"][:n])
    np.testing.assert_allclose(result["runs"]["fixture"].boxes, reference, rtol=0, atol=1e-3)
    scored = metrics.evaluate_sequence(reference, data["gt_xywh"][:n])
    assert result["summary"]["auc"] == pytest.approx(metrics.summarize([scored])["auc"], abs=1e-4)
