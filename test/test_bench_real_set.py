"""The real validation set (bench.real_set): its annotation file, the sha256 check, the paired
comparison, and (when the cache holds the real DAVIS346 recording) the dataset folder it writes,
read back through open_dataset and tracked by the model and CSRT. Nothing here downloads."""
import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench import real_set
from fetrack_ros.evaluation import metrics

CACHE_ENV = "FETRACK_REAL_SET_CACHE"


def _cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or real_set.DEFAULT_CACHE)


@pytest.fixture(scope="module")
def annotations():
    return real_set.load_annotations()


# -- always run ---------------------------------------------------------------------------------
def test_shipped_annotations_are_consistent(annotations):
    rec = annotations["recording"]
    assert rec["license"] == "MIT" and rec["source"]["package"] == real_set.PACKAGE
    assert rec["source"]["version"] == real_set.VERSION and rec["frames"] == len(rec["frame_stamps_us"]) == 59
    names = [s["name"] for s in annotations["sequences"]]
    assert 2 <= len(names) <= 5
    for seq in annotations["sequences"]:
        index = real_set.frame_indices(annotations, seq)
        assert index == list(range(index[0], index[0] + len(index)))
        assert len(seq["boxes_xywh"]) == len(seq["frame_stamps_us"]) >= 20
        assert seq["how_made"] and seq["notes"]
    # the boxes of moving targets move: a frame-to-frame step of a few pixels at most (no jumps)
    for seq in annotations["sequences"]:
        boxes = np.asarray(seq["boxes_xywh"])
        centers = boxes[:, :2] + boxes[:, 2:] / 2
        assert np.abs(np.diff(centers, axis=0)).max() < 6.0, seq["name"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sequences"][0]["boxes_xywh"].pop(), "expected one \\[x, y, w, h\\] per frame"),
    (lambda d: d["sequences"][0]["frame_stamps_us"].__setitem__(3, 5), "not frames of the recording"),
    (lambda d: d["sequences"][1]["boxes_xywh"][2].__setitem__(2, 0.0), "positive width and height"),
    (lambda d: d["sequences"][1]["boxes_xywh"][2].__setitem__(0, 340.0), "leaves the 346x260 frame"),
    (lambda d: d["sequences"][1].__setitem__("name", d["sequences"][0]["name"]), "unique"),
    (lambda d: d["recording"].__setitem__("sha256", "abc"), "64 lower-case hex"),
    (lambda d: d["sequences"][0]["frame_stamps_us"].reverse(), "consecutive frames"),
])
def test_bad_annotations_are_refused(annotations, change, message):
    data = copy.deepcopy(annotations)
    change(data)
    with pytest.raises(real_set.RealSetError, match=message):
        real_set.check_annotations(data)


def test_recording_sha256_is_checked(tmp_path, annotations):
    sha = annotations["recording"]["sha256"]
    assert real_set.cached_recording(tmp_path, sha) is None  # an empty cache: nothing, no download
    (tmp_path / real_set.RECORDING_NAME).write_bytes(b"not the recording")
    with pytest.raises(real_set.RealSetError, match="the boxes belong to another file"):
        real_set.cached_recording(tmp_path, sha)
    with pytest.raises(real_set.RealSetError, match="recording not found"):
        real_set.verify_recording(tmp_path / "absent.aedat4", sha)


def _scored(gt, offsets):
    """evaluate_sequence of boxes shifted from ``gt`` by ``offsets`` px (one per frame)."""
    pred = gt.copy()
    pred[:, 0] += offsets
    return metrics.evaluate_sequence(pred, gt)


def test_paired_comparison():
    gt = np.tile([[50.0, 60.0, 20.0, 10.0]], (12, 1))
    model = {"a": _scored(gt, np.zeros(12)), "b": _scored(gt, np.full(12, 30.0)), "c": _scored(gt, np.full(12, 5.0))}
    csrt = {"a": _scored(gt, np.full(12, 30.0)), "b": _scored(gt, np.full(12, 30.0)), "c": _scored(gt, np.zeros(12))}
    result = real_set.compare(model, csrt)
    assert result["num_sequences"] == 3 and result["num_frames"] == 36
    sr_model = metrics.sequence_scores(list(model.values()))["auc"]
    sr_csrt = metrics.sequence_scores(list(csrt.values()))["auc"]
    diff = sr_model - sr_csrt
    assert result["paired"]["sr"]["per_sequence"] == pytest.approx(diff.tolist())
    assert result["paired"]["sr"]["mean"] == pytest.approx(diff.mean())
    assert result["paired"]["sr"]["ci95"] == pytest.approx(list(metrics.bootstrap_interval(diff)))
    assert diff[0] > 0 and diff[1] == 0 and diff[2] < 0
    # PR@20: frame 0 is the initial box (always a hit); 30 px off misses, 5 px off hits
    assert [s["model"]["pr20"] for s in result["sequences"]] == pytest.approx([100.0, 100 / 12, 100.0])
    assert result["summary"]["model"]["sr"] == pytest.approx(metrics.summarize(list(model.values()))["auc"])
    low, high = result["summary"]["csrt"]["sr_ci95"]
    assert low <= result["summary"]["csrt"]["sr"] <= high
    same = real_set.compare(model, model)
    assert same["paired"]["sr"]["mean"] == 0 and same["paired"]["sr"]["ci95"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="different sequences"):
        real_set.compare(model, {"a": csrt["a"]})
    with pytest.raises(ValueError, match="frames scored"):
        real_set.compare({"a": model["a"]}, {"a": _scored(gt[:5], np.zeros(5))})


def test_report_markdown_names_the_figures():
    gt = np.tile([[50.0, 60.0, 20.0, 10.0]], (4, 1))
    comparison = real_set.compare({"s": _scored(gt, np.zeros(4))}, {"s": _scored(gt, np.full(4, 3.0))})
    report = {"model_label": "model", "comparison": comparison, "checkpoint": "x.pt", "checkpoint_sha256": "0" * 64,
              "torch_threads": 1, "window": "between_frames", "recording": real_set.load_annotations()["recording"],
              "wall_seconds": {"total": 1.0, "model": 0.5, "csrt": 0.1, "read": 0.2}}
    text = real_set.markdown(report)
    assert "| s | 4 |" in text and "Paired difference model - CSRT over the 1 sequences" in text
    assert "tracker params" not in text
    json.dumps(report, default=float)  # what eval writes is plain data
    report["tracker_params"] = {"size_update_rate": 0.3}
    assert "1 torch thread, tracker params size_update_rate=0.3." in real_set.markdown(report)


def test_load_tracker_applies_tracker_settings(tmp_path):
    import torch

    from fetrack_ros.model import build_model, save_checkpoint
    torch.manual_seed(0)
    path = save_checkpoint(build_model("vim_t", depth=1, embed_dim=64, head_channels=32), tmp_path / "m.pt")
    assert real_set.load_tracker(str(path)).params.size_update_rate == 1.0
    assert real_set.load_tracker(str(path), {"size_update_rate": 0.3}).params.size_update_rate == 0.3


# -- with the real recording in the cache -------------------------------------------------------
@pytest.fixture(scope="module")
def recording(annotations):
    path = real_set.cached_recording(_cache(), annotations["recording"]["sha256"])
    if path is None:
        pytest.skip(f"real recording {real_set.RECORDING_NAME} not in {_cache()} (tests do not download it: run "
                    f"'python -m bench.real_set build --out DIR' once, or set {CACHE_ENV})")
    pytest.importorskip("dv_processing", reason="reading aedat4 recordings needs dv-processing")
    return path


def test_layout_from_the_real_recording(recording, annotations, tmp_path):
    names = ["car_white_near_lane", "car_dark_oncoming"]
    written = real_set.write_layout(tmp_path / "set", recording, annotations, max_frames=4, names=names)
    assert written == names
    sequences = real_set.open_set(tmp_path / "set")
    assert [s.name for s in sequences] == names
    stamps, images = real_set.read_aps_frames(recording)
    for seq in sequences:
        ann = next(s for s in annotations["sequences"] if s["name"] == seq.name)
        index = real_set.frame_indices(annotations, ann)[:4]
        assert len(seq) == 4 and seq.has_raw_events and seq.sensor_size == real_set.SENSOR_WH
        np.testing.assert_allclose(seq.gt_xywh, np.asarray(ann["boxes_xywh"][:4]))
        np.testing.assert_array_equal(seq.stamps_ns, stamps[index] * 1000)
        frames = list(seq.frames())
        for frame, i in zip(frames, index):
            np.testing.assert_array_equal(frame.rgb[..., 0], images[i])  # the APS frame, as grey RGB
            assert len(frame.events) > 500  # a real street scene's events between two frames (none before frame 0)
            t = frame.events["t"]
            assert t.min() >= stamps[i - 1] * 1000
            assert t.max() < stamps[i] * 1000
    # the dark car starts at recording frame 38: its first window holds the events after frame 37
    first = next(sequences[1].frames())
    assert first.events["t"].min() >= stamps[37] * 1000
    with pytest.raises(real_set.RealSetError, match="unknown sequence"):
        real_set.write_layout(tmp_path / "x", recording, annotations, names=["no_such_target"])


def test_paired_run_on_the_real_recording(recording, annotations, tmp_path):
    import torch

    from fetrack_ros.model import build_model
    from fetrack_ros.tracking import Tracker
    real_set.write_layout(tmp_path / "set", recording, annotations, max_frames=3,
                          names=["car_white_far_lane", "van_parked"])
    sequences = real_set.open_set(tmp_path / "set")
    torch.manual_seed(0)
    tracker = Tracker(build_model("vim_s", depth=1))  # a small real network: the pairing, not its accuracy
    runs = real_set.run_pair(sequences, tracker, log=lambda s: None)
    for seq in sequences:
        for label in ("model", "csrt"):
            boxes = runs["boxes"][seq.name][label]
            assert boxes.shape == (3, 4)
            np.testing.assert_array_equal(boxes[0], seq.gt_xywh[0])  # both from the same first box
    # CSRT follows a parked van in a fixed camera's frames
    assert runs["csrt"]["van_parked"]["iou"].min() > 0.7
    result = real_set.compare(runs["model"], runs["csrt"])
    assert result["num_sequences"] == 2 and result["num_frames"] == 6
    low, high = result["paired"]["sr"]["ci95"]
    assert low <= result["paired"]["sr"]["mean"] <= high
