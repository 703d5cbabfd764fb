"""Tracking videos (fetrack_ros.evaluation.video): boxes where they belong, the event frame beside, a GIF
that reads back with the right frames."""
import numpy as np
import pytest
from PIL import Image

from fetrack_ros.evaluation.video import (_CAPTION_PX, _GAP_PX, GROUND_TRUTH_COLOUR, TRACKER_COLOURS, TrackedClip,
                                          draw_box, frame_panel, write_tracking_gif)

H, W = 60, 80


def clip(n=4) -> TrackedClip:
    rgb = [np.full((H, W, 3), 40 + 10 * i, np.uint8) for i in range(n)]
    events = [np.full((H, W, 3), 255, np.uint8) for _ in range(n)]
    gt = np.tile([10.0, 10.0, 20.0, 15.0], (n, 1))
    return TrackedClip("seq", rgb, events, gt, {"ours": gt + [30, 20, 0, 0], "theirs": np.full((n, 4), np.nan)})


def test_draw_box_outlines_the_box_and_skips_empty_ones():
    image = np.zeros((H, W, 3), np.uint8)
    draw_box(image, [10, 20, 30, 10], (0, 255, 0), thickness=1)
    assert (image[20, 10:41, 1] > 0).all() and (image[30, 10:41, 1] > 0).all()   # top and bottom edges
    assert image[25, 25].sum() == 0                                               # inside stays untouched
    for empty in ([5, 5, 0, 10], [5, 5, 10, -1], [np.nan, 5, 10, 10]):
        draw_box(image := np.zeros((H, W, 3), np.uint8), empty, (255, 0, 0))
        assert image.sum() == 0


def test_frame_panel_puts_rgb_with_boxes_left_and_events_right():
    panel = frame_panel(clip(), 1)
    assert panel.shape == (H + _CAPTION_PX, 2 * W + _GAP_PX, 3)
    rgb = panel[_CAPTION_PX:, :W]
    assert tuple(rgb[10 + 5, 10]) == GROUND_TRUTH_COLOUR                 # left edge of the ground truth
    assert tuple(rgb[30 + 5, 40]) == TRACKER_COLOURS[0]                  # left edge of the first tracker
    assert tuple(rgb[45, 5]) == (50, 50, 50)                             # frame 1's own RGB elsewhere
    assert (panel[_CAPTION_PX:, W + _GAP_PX:] == 255).all()              # the event frame, unmarked


def test_clip_lengths_must_agree():
    with pytest.raises(ValueError, match=r"4 RGB frames but \{'gt': 3\}"):
        TrackedClip("bad", clip().rgb, clip().events, np.zeros((3, 4)))


def test_gif_holds_every_step_th_frame_of_every_clip(tmp_path):
    path = write_tracking_gif(tmp_path / "v.gif", [clip(4), clip(5)], fps=10, step=2)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 + 3 and gif.size == (2 * W + _GAP_PX, H + _CAPTION_PX)
        assert gif.info["duration"] == 100 and gif.info["loop"] == 0
        gif.seek(1)   # clip 0, frame 2: its RGB level survives the palette
        assert tuple(np.asarray(gif.convert("RGB"))[_CAPTION_PX + 45, 5]) == (60, 60, 60)
    with pytest.raises(ValueError, match="at least one clip"):
        write_tracking_gif(tmp_path / "none.gif", [])


def test_gif_keeps_the_exact_box_colours_on_a_noisy_frame(tmp_path):
    noisy = clip(2)
    rng = np.random.default_rng(0)
    noisy.rgb = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(2)]   # far more than 48 colours
    path = write_tracking_gif(tmp_path / "noisy.gif", [noisy], colours=48)
    with Image.open(path) as gif:
        frame = np.asarray(gif.convert("RGB"))
    rgb = frame[_CAPTION_PX:, :W]
    assert tuple(rgb[10 + 5, 10]) == GROUND_TRUTH_COLOUR and tuple(rgb[30 + 5, 40]) == TRACKER_COLOURS[0]
    assert (frame[:_CAPTION_PX, W + _GAP_PX:] == GROUND_TRUTH_COLOUR).all(axis=-1).any()   # the legend's first label
