"""TrackerParams validation, input checks and the template-update rule (no network needed)."""
import math

import numpy as np
import pytest

from fetrack_ros.tracking import TrackerParams, template_update_due
from fetrack_ros.tracking.inputs import check_box, check_image, match_event_frame
from fetrack_ros.tracking.params import changed_fields, parse_assignments, with_recommended


def test_defaults_are_the_reference_tracker_without_template_update():
    p = TrackerParams()
    assert (p.template_factor, p.search_factor, p.wider_search_factor) == (2.0, 4.0, 6.0)
    assert (p.failed_search_threshold, p.peak_score_threshold, p.clip_margin) == (8, 0.2, 10.0)
    assert p.template_update_threshold == 1.0 and not p.template_update_enabled
    assert p.template_update_interval >= 1


@pytest.mark.parametrize("changes, error, match", [
    ({"search_factor": 0.0}, ValueError, "search_factor must be > 0"),
    ({"template_factor": -1.0}, ValueError, "template_factor must be > 0"),
    ({"search_factor": math.nan}, ValueError, "search_factor must be finite"),
    ({"wider_search_factor": 3.0}, ValueError, "wider_search_factor .* must be >= search_factor"),
    ({"failed_search_threshold": 0}, ValueError, "failed_search_threshold must be >= 1"),
    ({"failed_search_threshold": 2.5}, TypeError, "failed_search_threshold must be an int"),
    ({"failed_search_threshold": True}, TypeError, "must be an int"),
    ({"peak_score_threshold": 1.5}, ValueError, r"peak_score_threshold must be in \[0, 1\]"),
    ({"clip_margin": -1}, ValueError, "clip_margin must be >= 0"),
    ({"template_update_threshold": -0.1}, ValueError, "template_update_threshold must be >= 0"),
    ({"template_update_threshold": math.inf}, ValueError, "must be finite"),
    ({"template_update_threshold": "0.5"}, TypeError, "must be a number, got str"),
    ({"template_update_interval": 0}, ValueError, "template_update_interval must be >= 1"),
    ({"size_update_rate": 0.0}, ValueError, r"size_update_rate must be in \(0, 1\]"),
    ({"size_update_rate": 1.5}, ValueError, r"size_update_rate must be in \(0, 1\]"),
    ({"search_size": 0}, ValueError, "search_size must be >= 1"),
    ({"template_size": 128.0}, TypeError, "template_size must be an int"),
])
def test_invalid_params_are_rejected_with_the_field_name(changes, error, match):
    with pytest.raises(error, match=match):
        TrackerParams(**changes)
    with pytest.raises(error, match=match):
        TrackerParams().replace(**changes)


def test_replace_rejects_unknown_fields_and_accepts_numpy_numbers():
    with pytest.raises(TypeError, match=r"unknown field\(s\) \[.*\] in TrackerParams"):
        TrackerParams().replace(update_threshold=0.3)
    p = TrackerParams().replace(failed_search_threshold=np.int64(5), peak_score_threshold=np.float32(0.3))
    assert p.failed_search_threshold == 5


def test_assignments_from_the_command_line_take_each_fields_type():
    changes = parse_assignments(["search_factor=4.5", "failed-search-threshold=5", "template_size=none",
                                 "search_size=192"])
    assert changes == {"search_factor": 4.5, "failed_search_threshold": 5, "template_size": None, "search_size": 192}
    assert type(changes["failed_search_threshold"]) is int and type(changes["search_factor"]) is float
    assert TrackerParams().replace(**changes).search_factor == 4.5
    assert parse_assignments([]) == {}


@pytest.mark.parametrize("item, match", [
    ("search_factor", "expected NAME=VALUE"),
    ("speed=2", "expected NAME=VALUE with NAME one of"),
    ("search_factor=wide", "--opt search_factor: 'wide' is not a number"),
    ("failed_search_threshold=2.5", "is not a number"),
])
def test_bad_assignments_name_the_option_and_what_was_expected(item, match):
    with pytest.raises(ValueError, match=match):
        parse_assignments([item], option="--opt")


def test_user_changes_win_over_a_checkpoints_recommendation():
    recommended = {"size_update_rate": 0.3, "search_factor": 4.5}
    params = with_recommended(recommended, {"search_factor": 5.0})
    assert (params.size_update_rate, params.search_factor) == (0.3, 5.0)
    assert with_recommended({}) == TrackerParams()
    assert changed_fields(params) == {"search_factor": 5.0, "size_update_rate": 0.3}
    assert changed_fields(with_recommended(recommended, {"size_update_rate": 1.0, "search_factor": 4.0})) == {}


@pytest.mark.parametrize("recommended, match", [
    ({"speed": 2.0}, "unknown"),
    ({"size_update_rate": 0.0}, "size_update_rate must be in"),
])
def test_an_invalid_recommendation_names_the_checkpoint(recommended, match):
    with pytest.raises(ValueError, match=rf"the checkpoint's recommended tracker settings .* are invalid: .*{match}"):
        with_recommended(recommended)


def test_threshold_of_one_or_more_disables_update():
    for thr in (1.0, 2.0):
        p = TrackerParams(template_update_threshold=thr, template_update_interval=1)
        assert not p.template_update_enabled
        assert not template_update_due(p, 1.0, 100, wider_search=False)


def test_template_update_rule():
    p = TrackerParams(template_update_threshold=0.5, template_update_interval=5)
    assert template_update_due(p, 0.5, 5, wider_search=False)          # threshold is inclusive
    assert not template_update_due(p, 0.4999, 5, wider_search=False)   # below threshold
    assert not template_update_due(p, 0.9, 4, wider_search=False)      # interval not reached
    assert not template_update_due(p, 0.9, 50, wider_search=True)      # never during wider search


def test_check_image_errors():
    with pytest.raises(TypeError, match="rgb must be a numpy array"):
        check_image([[1, 2, 3]], "rgb")
    with pytest.raises(TypeError, match="rgb must have dtype uint8.*float32"):
        check_image(np.zeros((4, 4, 3), np.float32), "rgb")
    with pytest.raises(ValueError, match=r"event_frame must have shape \(H, W, 3\).*\(4, 4\)"):
        check_image(np.zeros((4, 4), np.uint8), "event_frame")
    with pytest.raises(ValueError, match="must have shape"):
        check_image(np.zeros((4, 4, 4), np.uint8), "rgb")
    bgr_view = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)[..., ::-1]
    out = check_image(bgr_view, "rgb")
    assert out.flags.c_contiguous and np.array_equal(out, bgr_view)


@pytest.mark.parametrize("box, match", [
    ([1, 2, 3], "4 numbers"),
    ([math.nan, 2, 3, 4], "finite"),
    ([1, 2, math.inf, 4], "finite"),
    ([1, 2, 0, 4], "width and height must be > 0"),
    ([1, 2, 3, -4], "width and height must be > 0"),
    ([100, 2, 3, 4], "entirely outside the 100x50 image"),
    ([-10, 2, 10, 4], "entirely outside"),
    ([2, 50, 3, 4], "entirely outside"),
])
def test_bad_boxes_are_rejected(box, match):
    with pytest.raises(ValueError, match=match):
        check_box(box, (50, 100))


def test_box_accepts_partly_outside_and_array_input():
    assert check_box(np.array([-5, -5, 10, 10], np.float32), (50, 100)) == [-5.0, -5.0, 10.0, 10.0]
    with pytest.raises(TypeError, match="4 numbers"):
        check_box(["a", 1, 2, 3], (50, 100))


def test_event_frame_of_another_size_is_resized_nearest_to_rgb():
    events = np.full((130, 173, 3), 255, np.uint8)   # half of 260x346
    events[10:20, 30:40] = (220, 30, 30)
    events[60:61, 100:101] = (30, 30, 200)
    out = match_event_frame(events, (260, 346))
    assert out.shape == (260, 346, 3)
    colours = {tuple(c) for c in out.reshape(-1, 3)}
    assert colours == {(255, 255, 255), (220, 30, 30), (30, 30, 200)}   # palette kept, no blends
    assert (out[20:40, 60:80] == (220, 30, 30)).all()
    same = np.zeros((260, 346, 3), np.uint8)
    assert match_event_frame(same, (260, 346)) is same


def test_event_frame_with_other_aspect_ratio_is_an_error():
    with pytest.raises(ValueError, match="different aspect ratios"):
        match_event_frame(np.zeros((720, 1280, 3), np.uint8), (260, 346))


def test_normalization_is_the_reference_formula_on_both_paths():
    import torch

    from fetrack_ros.tracking.normalize import PatchNormalizer

    levels = np.arange(256, dtype=np.uint8)
    patch = np.stack([np.tile(levels, (4, 1)), np.tile(levels[::-1], (4, 1)), np.tile(levels, (4, 1))], axis=-1)
    other = np.zeros_like(patch)
    norm = PatchNormalizer("cpu")
    out = norm(patch, other)
    assert out.shape == (2, 3, 4, 256) and out.dtype == torch.float32
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    want = ((patch.astype(np.float32) / np.float32(255.0)) - mean) / std     # float32 throughout
    np.testing.assert_array_equal(out[0].numpy(), want.transpose(2, 0, 1))
    np.testing.assert_array_equal(out[1].numpy(), (((0 - mean) / std)[:, None, None] * np.ones((3, 4, 256), np.float32)))
    # The accelerator path (torch arithmetic on the uint8 tensor) gives the same bits.
    stacked = torch.from_numpy(np.stack([patch, other])).permute(0, 3, 1, 2)
    assert torch.equal(norm._arithmetic(stacked), out)
    assert PatchNormalizer("cpu", torch.float64)(patch).dtype == torch.float64
