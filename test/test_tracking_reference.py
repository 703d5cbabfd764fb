"""Crop geometry, crops and post-processing against the reference tracker's records.

No network here: the stored per-frame maps of the reference run are decoded by our functions and
every intermediate the fixture records is compared (crops bit-exact, boxes exact).
"""
import json

import numpy as np
import pytest
import torch

from fetrack_ros.tracking.crop import crop_geometry, crop_patch
from fetrack_ros.tracking.decode import clip_box, decode_box, hann2d, map_box_back, next_failure_count

VARIANTS = ("a", "b")


@pytest.fixture(scope="module")
def reference(official_fixtures):
    expected = json.loads((official_fixtures / "tracker_expected.json").read_text())
    maps = dict(np.load(official_fixtures / "tracker_expected_maps.npz"))
    sequence = dict(np.load(official_fixtures / "tracker_sequence.npz"))
    return expected, maps, sequence


@pytest.mark.parametrize("variant", VARIANTS)
def test_template_and_first_search_patches_are_bit_exact(reference, variant):
    expected, maps, seq = reference
    params = expected["tracker_params"]
    box = expected["init_bbox_xywh"]
    hw = tuple(expected["image_size_hw"])
    geo = crop_geometry(box, params["template_factor"], params["template_size"], hw)
    rec = expected["variants"][variant]
    assert list(geo.inside_x1x2y1y2) == rec["template_crop_coor_x1x2y1y2"]
    assert geo.resize_factor == rec["template_resize_factor"]
    np.testing.assert_array_equal(crop_patch(seq["rgb"][0], geo, 128), maps[f"{variant}_template_patch_rgb"])
    np.testing.assert_array_equal(crop_patch(seq["event"][0], geo, 128), maps[f"{variant}_template_patch_event"])
    geo = crop_geometry(box, params["search_factor"], params["search_size"], hw)
    np.testing.assert_array_equal(crop_patch(seq["rgb"][1], geo, 256), maps[f"{variant}_search_patch_rgb_frame1"])
    np.testing.assert_array_equal(crop_patch(seq["event"][1], geo, 256), maps[f"{variant}_search_patch_event_frame1"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_search_crop_geometry_of_every_frame(reference, variant):
    expected, _, _ = reference
    rec = expected["variants"][variant]
    boxes = rec["target_bbox_all_frames_xywh"]
    touched_edge = False
    for frame in rec["frames"]:
        geo = crop_geometry(boxes[frame["frame"] - 1], frame["search_factor"], 256, tuple(expected["image_size_hw"]))
        assert geo.size == frame["crop_sz"], frame["frame"]
        assert geo.resize_factor == frame["resize_factor"], frame["frame"]
        assert list(geo.inside_x1x2y1y2) == frame["crop_coor_x1x2y1y2"], frame["frame"]
        touched_edge |= geo.pad_right > 0 or geo.pad_bottom > 0
    if variant == "b":
        assert touched_edge, "variant b is expected to exercise the right/bottom padding quirk"


def test_crop_padding_quirk_at_right_and_bottom_edges():
    image = np.arange(1, 1 + 10 * 12 * 3, dtype=np.int64).reshape(10, 12, 3).astype(np.uint8)
    image[image == 0] = 1   # no zeros inside the image, so padding is recognizable
    # Box centred so that the 6 px crop ends exactly at the right/bottom edge (x2 = W, y2 = H).
    geo = crop_geometry([8.0, 6.0, 2.0, 2.0], 3.0, 6, (10, 12))
    assert (geo.x1, geo.y1, geo.size) == (6, 4, 6)
    assert (geo.pad_left, geo.pad_right, geo.pad_top, geo.pad_bottom) == (0, 1, 0, 1)
    patch = crop_patch(image, geo, 6)   # same size: resize is the identity
    np.testing.assert_array_equal(patch[:5, :5], image[4:9, 6:11])   # last image row/column dropped
    assert not patch[5].any() and not patch[:, 5].any()


def test_crop_corners_round_half_to_even():
    # crop side 2: x1 = cx - 1 = 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 (Python round), not always up.
    assert [crop_geometry([x, 3.0, 1.0, 1.0], 2.0, 8, (20, 20)).x1 for x in (2.0, 3.0, 4.0)] == [2, 2, 4]
    # ceil of the side: sqrt(3*3)*1.01 = 3.03 -> 4
    assert crop_geometry([5.0, 5.0, 3.0, 3.0], 1.01, 8, (20, 20)).size == 4


def test_crop_padding_left_top_is_zero():
    image = np.full((20, 20, 3), 200, np.uint8)
    geo = crop_geometry([0.0, 0.0, 4.0, 4.0], 2.0, 8, (20, 20))
    assert (geo.x1, geo.y1, geo.pad_left, geo.pad_top) == (-2, -2, 2, 2)
    patch = crop_patch(image, geo, 8)
    assert not patch[:2].any() and not patch[:, :2].any() and (patch[2:, 2:] == 200).all()


def test_crop_without_overlap_is_rejected():
    with pytest.raises(ValueError, match="does not overlap"):
        crop_geometry([100.0, 100.0, 4.0, 4.0], 2.0, 8, (20, 20))


def test_hann_window_values():
    w = hann2d(16)
    assert w.shape == (1, 1, 16, 16) and w.dtype == torch.float32
    k = np.arange(1, 17)
    w1 = 0.5 * (1 - np.cos(2 * np.pi * k / 17))
    np.testing.assert_allclose(w[0, 0].numpy(), np.outer(w1, w1), rtol=1e-5)
    assert float(w.min()) > 0 and torch.equal(w, w.transpose(-1, -2))


@pytest.mark.parametrize("variant", VARIANTS)
def test_decode_map_back_clip_and_counter_reproduce_every_frame(reference, variant):
    """Chain our post-processing over the stored maps: every recorded value must match exactly."""
    expected, maps, _ = reference
    rec = expected["variants"][variant]
    params = expected["tracker_params"]
    hw = tuple(expected["image_size_hw"])
    window = hann2d(16)
    box, count = list(rec["target_bbox_all_frames_xywh"][0]), 0
    factors = set()
    for i, frame in enumerate(rec["frames"]):
        assert frame["failed_search_num_before"] == count
        factor = params["search_factor_after_failures"] if count >= params["failed_search_threshold"] \
            else params["search_factor"]
        assert factor == frame["search_factor"], frame["frame"]
        factors.add(factor)
        score = torch.from_numpy(maps[f"{variant}_score_map"][i:i + 1])
        pred, idx, peak = decode_box(score, torch.from_numpy(maps[f"{variant}_size_map"][i:i + 1]),
                                     torch.from_numpy(maps[f"{variant}_offset_map"][i:i + 1]), window)
        top = (window * score).flatten().topk(2).values.tolist()
        assert int(idx) == frame["windowed_argmax"], frame["frame"]
        assert top == [frame["windowed_top1"], frame["windowed_top2"]]
        assert pred.tolist() == frame["pred_box_crop_normalized_cxcywh"], frame["frame"]
        assert float(peak) == frame["peak_score"]
        rf = frame["resize_factor"]
        before = map_box_back((pred * 256 / rf).tolist(), box, 256, rf)
        assert before == frame["box_before_clip_xywh"], frame["frame"]
        box = clip_box(before, hw, params["clip_margin"])
        assert box == frame["box_xywh"], frame["frame"]
        count = next_failure_count(count, float(peak), params["peak_score_threshold"])
        assert count == frame["failed_search_num"], frame["frame"]
    assert any(f["box_before_clip_xywh"] != f["box_xywh"] for f in rec["frames"]), "clip_box not exercised"
    if variant == "b":
        assert factors == {4.0, 6.0}


def test_clip_box_rules():
    assert clip_box([-5.0, -3.0, 20.0, 20.0], (100, 200), 10) == [0, 0, 15.0, 17.0]
    assert clip_box([195.0, 95.0, 20.0, 20.0], (100, 200), 10) == [190, 90, 10, 10]
    assert clip_box([50.0, 50.0, 2.0, 3.0], (100, 200), 10) == [50.0, 50.0, 10, 10]
    assert clip_box([-50.0, 10.0, 20.0, 20.0], (100, 200), 10) == [0, 10.0, 10, 20.0]


def test_failure_counter():
    assert next_failure_count(0, 0.1, 0.2) == 1
    assert next_failure_count(3, 0.1, 0.2) == 4
    assert next_failure_count(3, 0.2, 0.2) == 2   # at the threshold counts as a success
    assert next_failure_count(0, 0.9, 0.2) == 0
