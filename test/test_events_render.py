"""Event-frame renderers against straightforward per-event reference implementations."""
import numpy as np
import pytest

from fetrack_ros.events import EVENT_DTYPE, RenderStats, make_events, render_ahu, render_counts


def reference_ahu(events, height, width):
    """Per-event reference: white, all ON red, then all OFF blue (docs/design.md §3)."""
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    for e in events:
        if e["p"] == 1 and e["x"] < width and e["y"] < height:
            img[e["y"], e["x"]] = (220, 30, 30)
    for e in events:
        if e["p"] == 0 and e["x"] < width and e["y"] < height:
            img[e["y"], e["x"]] = (30, 30, 200)
    return img


def reference_counts(events, height, width):
    counts = np.zeros((2, height, width), dtype=np.int64)
    for e in events:
        if e["x"] < width and e["y"] < height:
            counts[e["p"], e["y"], e["x"]] += 1
    return counts


def random_events(rng, n, height, width, spill=0):
    return make_events(rng.integers(0, width + spill, n), rng.integers(0, height + spill, n),
                       np.sort(rng.integers(0, 10**9, n)), rng.integers(0, 2, n))


@pytest.mark.parametrize("seed", range(4))
def test_ahu_equals_reference_pixel_for_pixel(seed):
    rng = np.random.default_rng(seed)
    height, width = 26, 34
    events = random_events(rng, 3000, height, width, spill=3)  # dense: many pixels get both
    stats = RenderStats()
    img = render_ahu(events, height, width, stats=stats)
    assert img.shape == (height, width, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, reference_ahu(events, height, width))
    outside = int(np.sum((events["x"] >= width) | (events["y"] >= height)))
    assert outside > 0
    assert stats.out_of_bounds == outside and stats.rendered == len(events) - outside


def test_off_overwrites_on_in_both_orders():
    for order in ([1, 0], [0, 1]):
        events = make_events([2, 2], [1, 1], [0, 1], order)
        img = render_ahu(events, 3, 4)
        assert tuple(img[1, 2]) == (30, 30, 200)
        assert tuple(img[0, 0]) == (255, 255, 255)
    img = render_ahu(make_events([3], [2], [0], [1]), 3, 4)
    assert tuple(img[2, 3]) == (220, 30, 30)


def test_empty_and_all_outside():
    stats = RenderStats()
    assert (render_ahu(np.zeros(0, EVENT_DTYPE), 5, 6, stats=stats) == 255).all()
    img = render_ahu(make_events([6, 0], [0, 5], [0, 0], [1, 0]), 5, 6, stats=stats)
    assert (img == 255).all() and stats.out_of_bounds == 2 and stats.rendered == 0


@pytest.mark.parametrize("seed", range(3))
def test_counts_equal_reference(seed):
    rng = np.random.default_rng(100 + seed)
    height, width = 13, 17
    events = random_events(rng, 2000, height, width, spill=2)
    stats = RenderStats()
    counts = render_counts(events, height, width, stats=stats)
    assert counts.shape == (2, height, width)
    np.testing.assert_array_equal(counts, reference_counts(events, height, width))
    assert stats.rendered == counts.sum()
    assert stats.rendered + stats.out_of_bounds == len(events)


def test_signed_polarity_field_and_other_field_order():
    dtype = np.dtype([("t", "<i8"), ("p", "i1"), ("x", "<u2"), ("y", "<u2")])
    events = np.zeros(3, dtype)
    events["x"], events["y"], events["p"] = [1, 1, 2], [0, 0, 1], [1, 0, 1]
    img = render_ahu(events, 2, 3)
    assert tuple(img[0, 1]) == (30, 30, 200) and tuple(img[1, 2]) == (220, 30, 30)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="missing"):
        render_ahu(np.zeros(3, [("x", "u2"), ("y", "u2")]), 4, 4)
    with pytest.raises(ValueError, match="sensor size"):
        render_ahu(np.zeros(0, EVENT_DTYPE), 0, 4)
