"""Metrics against the reference toolkit's numbers (shared fixture metrics_cases.json)."""
import json

import numpy as np
import pytest

from fetrack_ros.evaluation import metrics


@pytest.fixture(scope="module")
def cases(official_fixtures):
    return json.loads((official_fixtures / "metrics_cases.json").read_text())


def _floats(values):
    return np.array([np.inf if v == "inf" else v for v in values], dtype=np.float64)


def test_thresholds_match_reference(cases):
    np.testing.assert_array_equal(metrics.OVERLAP_THRESHOLDS, cases["thresholds"]["overlap"])
    np.testing.assert_array_equal(metrics.CENTER_THRESHOLDS_PX, cases["thresholds"]["center_px"])
    np.testing.assert_array_equal(metrics.CENTER_THRESHOLDS_NORM, cases["thresholds"]["center_normalized"])


@pytest.mark.parametrize("index", range(5))
def test_sequence_matches_reference(cases, index):
    case = cases["cases"][index]
    res = metrics.evaluate_sequence(case["pred_xywh"], case["gt_xywh"])
    ref = case["per_frame"]
    assert res["num_frames"] == case["n_gt"]
    np.testing.assert_array_equal(res["valid"], np.array(ref["valid"], dtype=bool))
    np.testing.assert_allclose(res["iou"], _floats(ref["iou"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(res["center_error"], _floats(ref["center_error"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(res["normalized_center_error"], _floats(ref["normalized_center_error"]),
                               rtol=0, atol=1e-9)
    assert res["avg_overlap"] == pytest.approx(case["avg_overlap_valid_frames"], abs=1e-9)
    for mine, theirs in (("success_curve", "success_curve"), ("precision_curve", "precision_curve"),
                         ("norm_precision_curve", "normalized_precision_curve")):
        assert res[mine].dtype == np.float32 and res[mine].shape == (len(case[theirs]),)
        np.testing.assert_allclose(res[mine], case[theirs], rtol=0, atol=1e-5, err_msg=mine)


def test_summary_matches_reference(cases):
    summary = metrics.summarize(metrics.evaluate_sequence(c["pred_xywh"], c["gt_xywh"]) for c in cases["cases"])
    ref = cases["summary"]
    assert summary["auc"] == pytest.approx(ref["AUC"], abs=1e-4)
    assert summary["precision_20"] == pytest.approx(ref["precision_at_20px"], abs=1e-4)
    assert summary["norm_precision_20"] == pytest.approx(ref["normalized_precision_at_0_20"], abs=1e-4)
    assert summary["op50"] == pytest.approx(ref["OP50"], abs=1e-4)
    assert summary["op75"] == pytest.approx(ref["OP75"], abs=1e-4)
    np.testing.assert_allclose(summary["success_curve"], ref["mean_success_curve_percent"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(summary["precision_curve"], ref["mean_precision_curve_percent"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(summary["norm_precision_curve"], ref["mean_normalized_precision_curve_percent"],
                               atol=1e-4, rtol=0)
    assert summary["num_sequences"] == 5


def test_zero_size_runs_inherit_last_box_and_frame0_is_gt():
    gt = [[10, 10, 20, 20]] * 4
    pred = [[0, 0, 5, 5], [12, 10, 20, 20], [50, 50, 0, 3], [60, 60, 0, 0]]
    adjusted = metrics.adjust_predictions(pred, gt)
    np.testing.assert_array_equal(adjusted, [[10, 10, 20, 20], [12, 10, 20, 20], [12, 10, 20, 20], [12, 10, 20, 20]])


def test_short_predictions_are_padded_and_long_truncated():
    gt = np.tile([[10.0, 10, 20, 20]], (5, 1))
    short = metrics.evaluate_sequence(gt[:3], gt)
    np.testing.assert_array_equal(short["iou"], [1, 1, 1, 0, 0])
    long = metrics.evaluate_sequence(np.tile(gt, (2, 1)), gt)
    assert long["num_frames"] == 5 and long["pred_xywh"].shape == (5, 4)


def test_inclusive_pixel_iou_and_strict_success():
    # Two 10x10 boxes overlapping in a 5x10 strip: inclusive IoU = 50 / 150 exactly.
    gt = [[0, 0, 10, 10], [0, 0, 10, 10]]
    res = metrics.evaluate_sequence([[0, 0, 10, 10], [5, 0, 10, 10]], gt)
    assert res["iou"][1] == pytest.approx(1 / 3)
    # Frame 0 (IoU 1) is a hit at every threshold except t = 1.0 (strict >).
    assert res["success_curve"][-1] == 0.0
    assert res["success_curve"][0] == 1.0


def test_precision_threshold_inclusive():
    gt = [[0, 0, 10, 10], [0, 0, 10, 10]]
    res = metrics.evaluate_sequence([[0, 0, 10, 10], [20, 0, 10, 10]], gt)
    assert res["center_error"][1] == 20.0
    assert res["precision_curve"][20] == 1.0 and res["precision_curve"][19] == 0.5


def test_normalized_error_divides_centers_before_subtracting():
    """Boundary case: 14 px off in y on a 70 px tall box. Scaling the centers first (the
    reference: 125.5 / 70 - 111.5 / 70) gives 0.20000000000000018, which is not <= 0.2;
    subtracting first (14 / 70) would give exactly 0.2 and count the frame."""
    gt = [[0, 77, 10, 70], [0, 77, 10, 70]]
    res = metrics.evaluate_sequence([[0, 77, 10, 70], [0, 91, 10, 70]], gt)
    assert res["normalized_center_error"][1] == 0.20000000000000018
    assert res["norm_precision_curve"][metrics.NORM_PRECISION_THRESHOLD_INDEX] == 0.5
    assert res["norm_precision_curve"][21] == 1.0
    # the other direction: 4 px off in x on a 20 px wide box is 0.20000000000000007 the reference's way
    res = metrics.evaluate_sequence([[0, 0, 20, 20], [4, 0, 20, 20]], [[0, 0, 20, 20]] * 2)
    assert res["normalized_center_error"][1] == 0.20000000000000007


def test_invalid_gt_counts_against_success_but_for_norm_precision():
    gt = [[0, 0, 10, 10], [0, 0, 0, 10], [0, 0, 10, -1]]
    res = metrics.evaluate_sequence([[0, 0, 10, 10]] * 3, gt)
    np.testing.assert_array_equal(res["valid"], [True, False, False])
    assert res["success_curve"][0] == pytest.approx(1 / 3)
    assert res["precision_curve"][50] == pytest.approx(1 / 3)
    assert res["norm_precision_curve"][0] == 1.0


@pytest.mark.parametrize("pred, gt, match", [
    ([[0, 0, -1, 5]], [[0, 0, 5, 5]], "negative width"),
    ([[np.nan, 0, 1, 5]], [[0, 0, 5, 5]], "pred_xywh contains NaN"),
    ([[0, 0, 1, 5]], [[0, 0, 5, np.nan]], "gt_xywh contains NaN"),
    ([[0, 0, 1]], [[0, 0, 5, 5]], r"shape \(N, 4\)"),
    ([], [], "empty"),
])
def test_malformed_inputs_raise_clear_errors(pred, gt, match):
    with pytest.raises(ValueError, match=match):
        metrics.evaluate_sequence(pred, gt)


def test_summarize_rejects_empty_and_fps():
    with pytest.raises(ValueError, match="at least one"):
        metrics.summarize([])
    assert metrics.fps([0.01, 0.03]) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        metrics.fps([])


def test_paired_differences_are_per_sequence_and_cancel_a_shared_difficulty():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (30, 1))
    rng = np.random.default_rng(0)
    ours, baseline = {}, {}
    for k in range(6):   # sequences of very different difficulty; ours is always a little closer
        shake = rng.normal(0, 2 + 6 * k, (30, 4)) * [1, 1, 0, 0]
        ours[f"s{k}"] = metrics.evaluate_sequence(gt + shake * 0.8, gt)
        baseline[f"s{k}"] = metrics.evaluate_sequence(gt + shake, gt)
    paired = metrics.paired_differences(ours, baseline)
    a, b = metrics.sequence_scores(list(ours.values())), metrics.sequence_scores(list(baseline.values()))
    np.testing.assert_allclose(paired["sr"]["per_sequence"], a["auc"] - b["auc"])
    assert paired["sr"]["mean"] > 0 and paired["sr"]["ci95"][0] <= paired["sr"]["mean"] <= paired["sr"]["ci95"][1]
    # the paired interval is narrower than the spread of either tracker's own per-sequence scores
    assert np.ptp(paired["sr"]["ci95"]) < metrics.bootstrap_interval(a["auc"])[1] - metrics.bootstrap_interval(a["auc"])[0]
    only = metrics.paired_differences(ours, baseline, ["s0", "s5"])
    assert only["pr20"]["per_sequence"] == [paired["pr20"]["per_sequence"][0], paired["pr20"]["per_sequence"][5]]
    with pytest.raises(ValueError, match=r"missing: \['s9'\]"):
        metrics.paired_differences(ours, baseline, ["s0", "s9"])
    baseline["s1"] = metrics.evaluate_sequence(gt[:20], gt[:20])
    with pytest.raises(ValueError, match="sequence s1: 30 frames scored for one tracker, 20"):
        metrics.paired_differences(ours, baseline)
