"""Modality ablations: one input taken away, the other left exactly as it was."""
import numpy as np

from fetrack_ros.data.sequence import Frame
from fetrack_ros.evaluation.ablation import ABLATIONS, without_events, without_rgb
from fetrack_ros.events import EVENT_DTYPE, render_ahu


def _frame():
    rng = np.random.default_rng(0)
    events = np.zeros(50, EVENT_DTYPE)
    events["x"], events["y"], events["p"] = rng.integers(0, 40, 50), rng.integers(0, 30, 50), rng.integers(0, 2, 50)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    return Frame(index=3, stamp_ns=7, rgb=rgb, events=events, gt_xywh=np.array([1.0, 2.0, 3.0, 4.0]))


def test_without_events_draws_what_the_renderer_draws_for_no_events_and_keeps_the_rgb():
    frame = _frame()
    ablated = without_events(frame)
    assert ablated.events is None
    np.testing.assert_array_equal(ablated.event_frame, render_ahu(frame.events[:0], 30, 40))
    assert ablated.rgb is frame.rgb and ablated.index == 3 and ablated.stamp_ns == 7
    assert len(frame.events) == 50 and frame.event_frame is None   # the original is untouched


def test_without_rgb_leaves_one_grey_level_and_the_events():
    frame = _frame()
    ablated = without_rgb(frame)
    assert np.unique(ablated.rgb).tolist() == [int(round(float(frame.rgb.mean())))]
    assert ablated.rgb.shape == frame.rgb.shape and ablated.rgb.dtype == np.uint8
    assert ablated.events is frame.events
    assert len(np.unique(frame.rgb)) > 1


def test_the_named_ablations():
    assert set(ABLATIONS) == {"RGB only", "events only"}
    assert ABLATIONS["RGB only"](_frame()).events is None
