"""Still targets: the event-density rule (pure functions) and the Tracker holding its box with
the packaged network when the event frame shows that nothing moved around the target."""
import numpy as np
import pytest
import torch

from fetrack_ros.events import render_ahu
from fetrack_ros.events.render import AHU_BACKGROUND, AHU_OFF, AHU_ON
from fetrack_ros.tracking import Tracker, TrackerParams
from fetrack_ros.tracking.stillness import event_density, has_event, is_still

H, W = 120, 160


def blank(height: int = H, width: int = W) -> np.ndarray:
    return np.full((height, width, 3), AHU_BACKGROUND, np.uint8)


def with_events(frame: np.ndarray, x0: int, y0: int, x1: int, y1: int, every: int = 1) -> np.ndarray:
    """``frame`` with an ON event on every ``every``-th pixel (both axes) of ``[x0, x1) x [y0, y1)``."""
    frame = frame.copy()
    frame[y0:y1:every, x0:x1:every] = AHU_ON
    return frame


def test_event_density_counts_the_grown_box_and_clips_it_to_the_image():
    frame = with_events(blank(), 40, 40, 60, 60)          # a 20x20 block of events
    assert event_density(frame, (40, 40, 20, 20), grow=1.0) == 1.0
    # grown 2x about its centre: 40x40 pixels, a quarter of them with events
    assert event_density(frame, (40, 40, 20, 20), grow=2.0) == pytest.approx(0.25)
    assert event_density(frame, (100, 80, 20, 20)) == 0.0
    # a box past the corner: only the part inside counts (10x10 of a 10x10 block)
    corner = with_events(blank(), 150, 110, 160, 120)
    assert event_density(corner, (150, 110, 20, 20), grow=1.0) == 1.0
    assert event_density(corner, (200, 200, 10, 10)) == 0.0   # outside the image entirely


def test_density_agrees_with_the_renderer():
    # has_event() tests for white: the renderer's background must stay white, its event colours not
    assert AHU_BACKGROUND == (255, 255, 255)
    assert not has_event(np.array([[AHU_BACKGROUND]], np.uint8)).any()
    assert has_event(np.array([[AHU_ON, AHU_OFF, (254, 255, 255), (255, 255, 0)]], np.uint8)).all()
    events = np.zeros(3, dtype=[("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "u1")])
    events["x"], events["y"], events["p"] = [10, 11, 50], [10, 10, 50], [1, 0, 1]
    frame = render_ahu(events, H, W)
    assert has_event(frame).sum() == 3
    assert event_density(frame, (10, 10, 2, 1), grow=1.0) == 1.0


def test_is_still_needs_quiet_boxes_and_a_live_sensor():
    far = with_events(blank(), 0, 0, 10, 10)               # events only in a far corner
    box, moved = (80, 60, 20, 20), (84, 62, 20, 20)
    assert is_still(far, box, moved, 0.02)
    assert not is_still(far, box, moved, 0.0)              # 0 disables
    assert not is_still(blank(), box, moved, 0.02)         # no events at all: missing data, not stillness
    around = with_events(far, 75, 55, 105, 85, every=3)    # sparse events around the target: ~11 %
    assert not is_still(around, box, moved, 0.02)
    assert is_still(around, box, moved, 0.2)               # below a higher threshold
    # the network's box moves onto events (the target found again): followed
    onto = with_events(far, 20, 20, 40, 40)
    assert not is_still(onto, box, (20, 20, 20, 20), 0.02)


@pytest.fixture(scope="module")
def packaged_tracker_inputs():
    from fetrack_ros.model import default_checkpoint, load_model
    from fetrack_ros.simulation.simulator import SimConfig, SyntheticSequence
    path = default_checkpoint()
    if path is None:
        pytest.fail("the packaged default model (resource/default_model.pt) is missing")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_model(path), list(SyntheticSequence(1_000_003, SimConfig(num_frames=6)).frames())
    torch.set_num_threads(before)


def _track(model, frames, event_frames, density, events_complete=True):
    tracker = Tracker(model, TrackerParams(still_event_density=density))
    tracker.initialize(frames[0].rgb, event_frames[0], frames[0].gt_xywh)
    return [tracker.track(f.rgb, e, events_complete) for f, e in zip(frames[1:], event_frames[1:])]


def test_tracker_holds_the_box_only_where_no_events_fell(packaged_tracker_inputs):
    model, frames = packaged_tracker_inputs
    h, w = frames[0].rgb.shape[:2]
    init = tuple(float(v) for v in frames[0].gt_xywh)
    corner = with_events(blank(h, w), 0, 0, 8, 8)
    quiet = [corner] * len(frames)
    free = _track(model, frames, quiet, 0.0)
    assert any(np.abs(np.subtract(r.box, init)).max() > 0.5 for r in free)   # the network moves the box
    held = _track(model, frames, quiet, 0.02)
    assert all(r.held_still and r.box == pytest.approx(init) for r in held)
    # the network still ran on the first frame's search, the same for both: only the box was kept
    assert held[0].confidence == pytest.approx(free[0].confidence)
    # events around the target, or no events anywhere: the rule steps aside, boxes as without it
    x, y, bw, bh = (int(v) for v in init)
    busy = [with_events(corner, max(0, x - bw), max(0, y - bh), x + 2 * bw, y + 2 * bh, every=2)] * len(frames)
    blank_frames = [blank(h, w)] * len(frames)
    for event_frames in (busy, blank_frames):
        gated, plain = _track(model, frames, event_frames, 0.02), _track(model, frames, event_frames, 0.0)
        assert not any(r.held_still for r in gated)
        assert [r.box for r in gated] == [r.box for r in plain]


def test_an_incomplete_event_window_never_holds_the_box(packaged_tracker_inputs):
    """A live window cut short lacks events that may yet come: quiet there is not stillness."""
    model, frames = packaged_tracker_inputs
    h, w = frames[0].rgb.shape[:2]
    quiet = [with_events(blank(h, w), 0, 0, 8, 8)] * len(frames)
    cut_short = _track(model, frames, quiet, 0.02, events_complete=False)
    assert not any(r.held_still for r in cut_short)
    assert [r.box for r in cut_short] == [r.box for r in _track(model, frames, quiet, 0.0)]


def test_still_event_density_range():
    with pytest.raises(ValueError, match=r"still_event_density must be in \[0, 1\]"):
        TrackerParams(still_event_density=1.5)
    with pytest.raises(ValueError, match="still_event_density"):
        TrackerParams(still_event_density=-0.1)
    assert not TrackerParams().still_event_density   # off by default: the reference tracker
