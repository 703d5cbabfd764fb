"""bench.compare_models, the model-decision tool: both checkpoints and CSRT track the same simulated
frames, and the paired differences are the per-sequence differences of what each scored alone."""
import numpy as np
import pytest
import torch

from bench import compare_models
from fetrack_ros.evaluation import metrics
from fetrack_ros.model import build_model, save_checkpoint

SMALL = {"depth": 1, "embed_dim": 64, "head_channels": 32, "template_size": 64, "search_size": 128}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpts")
    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        paths.append(str(save_checkpoint(build_model("vim_t", **SMALL), folder / f"m{seed}.pt")))
    return paths


def test_a_model_against_itself_differs_by_nothing_and_against_another_by_its_scores(checkpoints):
    report = compare_models.compare(checkpoints[0], checkpoints[0], num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None)
    for name, result in report["sets"].items():
        assert result["paired"]["sr"]["per_sequence"] == [0.0, 0.0], name
        assert result["summary"]["candidate"]["all"] == result["summary"]["baseline"]["all"]
    report = compare_models.compare(checkpoints[0], checkpoints[1], num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None)
    plain = report["sets"]["synthetic"]
    c, b, k = (plain["summary"][label]["all"]["sr"] for label in ("candidate", "baseline", compare_models.CSRT))
    assert plain["paired"]["sr"]["mean"] == pytest.approx(c - b, abs=1e-3)
    assert plain["paired_csrt"]["sr"]["mean"] == pytest.approx(c - k, abs=1e-3)
    assert set(report["sets"]) == {"make demo", "synthetic", "synthetic DAVIS-like", "DAVIS-like small fast",
                                   "DAVIS-like elongated", "DAVIS-like shade"}
    text = compare_models.markdown(report)
    assert "| synthetic DAVIS-like |" in text and f"{plain['paired']['sr']['mean']:+.1f}" in text
    assert f"{plain['paired_csrt']['sr']['mean']:+.1f}" in text
    assert "different tracker settings" not in text


def test_several_candidates_in_one_pass_give_the_reports_of_one_at_a_time(checkpoints):
    """compare_many tracks the baseline and CSRT once; each candidate's report (ablation rows too)
    is the one compare() gives for that candidate alone."""
    reports = compare_models.compare_many([checkpoints[0], checkpoints[1]], checkpoints[0], num_sequences=2,
                                          num_frames=5, real=False, log=lambda s: None, ablations=True)
    assert [r["candidate"] for r in reports] == checkpoints
    alone = compare_models.compare(checkpoints[1], checkpoints[0], num_sequences=2, num_frames=5, real=False,
                                   log=lambda s: None, ablations=True)
    for name, result in reports[1]["sets"].items():
        assert result["summary"] == alone["sets"][name]["summary"], name
        assert result["paired"] == alone["sets"][name]["paired"], name
        assert reports[0]["sets"][name]["paired"]["sr"]["per_sequence"] == [0.0, 0.0], name
    assert set(reports[0]["sets"]["synthetic"]["summary"]) == set(alone["sets"]["synthetic"]["summary"])
    assert compare_models.markdown(reports[1]) == compare_models.markdown(alone)


def test_the_command_line_writes_one_report_per_candidate(checkpoints, tmp_path, capsys):
    import json
    args = ["--baseline", checkpoints[0], "--sequences", "2", "--frames", "3", "--no-real", "--out", str(tmp_path)]
    assert compare_models.main(["--candidate", checkpoints[1], *args]) == 0
    single = json.loads((tmp_path / "compare_models.json").read_text())
    assert single["candidate"] == checkpoints[1]
    assert compare_models.main(["--candidate", checkpoints[0], "--candidate", checkpoints[1], *args]) == 0
    several = json.loads((tmp_path / "compare_models.json").read_text())
    timeless = lambda report: {name: {k: v for k, v in result.items() if k != "seconds"}
                               for name, result in report["sets"].items()}
    assert [r["candidate"] for r in several] == checkpoints and timeless(several[1]) == timeless(single)
    assert (tmp_path / "compare_models.md").read_text().count("# Model comparison") == 2


def test_each_side_tracks_with_its_checkpoints_recommended_settings(checkpoints, tmp_path):
    from fetrack_ros.model import load_model, save_checkpoint
    recommending = str(save_checkpoint(load_model(checkpoints[1]), tmp_path / "recommends.pt",
                                       extra={"tracker_params": {"size_update_rate": 0.5}}))
    report = compare_models.compare(checkpoints[0], recommending, num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None)
    assert report["tracker_params"] == {"candidate": {}, "baseline": {"size_update_rate": 0.5}}
    text = compare_models.markdown(report)
    assert "tracker params size_update_rate=0.5" in text and "different tracker settings" in text
    # the user's setting wins over the recommendation: same settings, no warning
    report = compare_models.compare(checkpoints[0], recommending, num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None, params={"baseline": {"size_update_rate": 1.0}})
    assert report["tracker_params"] == {"candidate": {}, "baseline": {}}
    assert "different tracker settings" not in compare_models.markdown(report)


def test_tracker_settings_alone_can_be_compared_on_one_checkpoint(checkpoints):
    damped = {"candidate": {"size_update_rate": 0.3}}
    report = compare_models.compare(checkpoints[0], checkpoints[0], num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None, params=damped)
    assert report["tracker_params"] == {"candidate": {"size_update_rate": 0.3}, "baseline": {}}
    # same network, same frames: only the damped box sizes can make the runs differ
    per_seq = [d for s in report["sets"].values() for d in s["paired"]["sr"]["per_sequence"]]
    assert any(d != 0.0 for d in per_seq)
    assert "Candidate: `" in compare_models.markdown(report)
    assert "tracker params size_update_rate=0.3; baseline:" in compare_models.markdown(report)


def test_bad_tracker_settings_stop_before_any_tracking(checkpoints, capsys):
    with pytest.raises(SystemExit):
        compare_models.main(["--candidate", checkpoints[0], "--baseline-param", "size_update_rate=2"])
    assert "size_update_rate must be in (0, 1]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare_models.main(["--candidate", checkpoints[0], "--sequences", "1"])
    assert "--sequences must be at least 2" in capsys.readouterr().err


def test_ablations_track_the_same_frames_without_one_input(checkpoints):
    report = compare_models.compare(checkpoints[0], checkpoints[1], num_sequences=2, num_frames=5, real=False,
                                    log=lambda s: None, ablations=True)
    summary = report["sets"]["synthetic"]["summary"]
    assert set(summary) == {"candidate", "baseline", "csrt", "candidate, RGB only", "candidate, events only",
                            "baseline, RGB only", "baseline, events only"}
    # the full-input rows are those of a run without ablations, and the paired figures use them
    plain = compare_models.compare(checkpoints[0], checkpoints[1], num_sequences=2, num_frames=5, real=False,
                                   log=lambda s: None)["sets"]["synthetic"]
    assert summary["candidate"] == plain["summary"]["candidate"]
    assert report["sets"]["synthetic"]["paired"] == plain["paired"]
    assert "| synthetic | " in compare_models.markdown(report).split("carries alone")[1]


def test_the_davis_sets_are_rendered_by_the_aps_camera_and_the_small_fast_one_has_small_targets():
    sets = compare_models.held_out_sets(4, 2)
    assert all(seq.aps is not None for name in ("synthetic DAVIS-like", "DAVIS-like small fast") for seq in sets[name])
    size = lambda seq: float(np.sqrt(np.prod(seq.gt_xywh[0, 2:])))
    assert all(10.0 <= size(seq) <= 34.0 for seq in sets["DAVIS-like small fast"])
    assert max(size(seq) for seq in sets["synthetic DAVIS-like"]) > 34.0


def test_the_first_set_is_the_one_make_demo_tracks():
    from fetrack_ros.simulation.simulator import SimConfig, benchmark_sequences
    sets = compare_models.held_out_sets(3, 4)
    assert list(sets)[0] == compare_models.DEMO_SET
    demo = benchmark_sequences(3, config=SimConfig(num_frames=4))   # as fetrack demo draws them
    assert [s.name for s in sets[compare_models.DEMO_SET]] == [s.name for s in demo]
    assert np.array_equal(sets[compare_models.DEMO_SET][2].gt_xywh, demo[2].gt_xywh)
    assert {s.name for s in sets[compare_models.DEMO_SET]}.isdisjoint(s.name for s in sets["synthetic"])


def test_summary_rows_split_the_degraded_half():
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (5, 1))
    results = {"m": {"a": metrics.evaluate_sequence(gt, gt), "b": metrics.evaluate_sequence(gt + [40, 0, 0, 0], gt)}}
    rows = compare_models.summary_rows(results, {"a": False, "b": True})
    assert rows["m"]["degraded"]["sr"] < rows["m"]["all"]["sr"]


def test_the_elongated_set_has_wide_and_tall_targets():
    sequences = compare_models.held_out_sets(4, 3)["DAVIS-like elongated"]
    aspects = [float(np.median(s.gt_xywh[:, 2] / s.gt_xywh[:, 3])) for s in sequences]
    assert len(aspects) == 4 and min(aspects[:2]) >= 1.9 and max(aspects[2:]) <= 0.55, aspects
    assert len({s.name for s in sequences}) == 4


def test_the_shade_set_is_davis_like_and_every_scene_has_cast_shade():
    sequences = compare_models.held_out_sets(3, 2)["DAVIS-like shade"]
    assert all(seq.aps is not None and seq.scene.shadow is not None for seq in sequences)
    assert all(seq.seed >= compare_models.SHADE_SEED for seq in sequences)
