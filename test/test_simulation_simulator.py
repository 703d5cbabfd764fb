"""Synthetic RGB + event sequences: DVS pixel model, static scenes, determinism, frame contract."""
import math

import numpy as np
import pytest

from fetrack_ros.events import EVENT_DTYPE, render_ahu
from fetrack_ros.simulation.dvs import DvsParams, DvsSimulator
from fetrack_ros.simulation.simulator import HELD_OUT_SEED_START, SimConfig, SyntheticSequence, benchmark_sequences

SMALL = dict(height=96, width=128, target_size_px=(16.0, 30.0), num_frames=6)


def static_config(noise_hz: float) -> SimConfig:
    return SimConfig(**SMALL, condition="normal", target_speed_px_s=(0.0, 0.0), scale_change=0.0, distractors=(0, 0),
                     occlusion_prob=0.0, camera_pan_px=0.0, camera_speed_px_s=0.0, camera_zoom=0.0,
                     dvs=DvsParams(noise_rate_hz=noise_hz))


def all_events(seq) -> np.ndarray:
    return np.concatenate([f.events for f in seq.frames()])


def ideal_dvs(shape=(1, 1), contrast=0.2, refractory_ns=0) -> DvsSimulator:
    params = DvsParams(contrast_on=contrast, contrast_off=contrast, threshold_sigma=0.0, refractory_ns=refractory_ns,
                       noise_rate_hz=0.0)
    return DvsSimulator(*shape, params, np.random.default_rng(0))


def test_static_scene_without_noise_gives_no_events():
    seq = SyntheticSequence(3, static_config(noise_hz=0.0))
    assert len(all_events(seq)) == 0
    boxes = seq.gt_xywh
    assert np.allclose(boxes, boxes[0]), "a static scene's target must not move"


def test_static_scene_gives_only_noise_events_at_the_configured_rate():
    rate = 5.0  # per pixel per second
    cfg = static_config(noise_hz=rate)
    seq = SyntheticSequence(3, cfg)
    events = all_events(seq)
    duration_s = cfg.num_frames * cfg.frame_period_us * 1e-6
    expected = rate * cfg.height * cfg.width * duration_s
    assert abs(len(events) - expected) < 5 * math.sqrt(expected), (len(events), expected)
    # Noise is spread uniformly: no structure of the (static) scene shows up in it.
    on = events["p"].mean()
    assert abs(on - 0.5) < 5 * 0.5 / math.sqrt(len(events))
    left = (events["x"] < cfg.width // 2).mean()
    assert abs(left - 0.5) < 5 * 0.5 / math.sqrt(len(events))


@pytest.mark.parametrize("contrast", [0.15, 0.2, 0.3])
def test_brightening_pixel_gives_on_events_as_the_threshold_implies(contrast):
    dvs = ideal_dvs(contrast=contrast)
    start, end = 0.1, 0.9
    dvs.reset(np.log(np.full((1, 1), start)), 0)
    ramp = np.linspace(start, end, 11)[1:]
    events = np.concatenate([dvs.step(np.log(np.full((1, 1), v)), 1000 * 500 * (i + 1)) for i, v in enumerate(ramp)])
    expected = math.floor(math.log(end / start) / contrast)
    assert len(events) == expected
    assert (events["p"] == 1).all()
    assert (np.diff(events["t"]) >= 0).all() and (events["t"] % 1000 == 0).all()
    # Crossing times follow the log-intensity ramp: the k-th crossing is where log I = log start + k C.
    levels = np.log(start) + contrast * np.arange(1, expected + 1)
    t_exact_us = np.interp(levels, np.log(np.concatenate([[start], ramp])), 500 * np.arange(11))
    assert np.abs(events["t"] / 1000 - t_exact_us).max() <= 1.0
    # Dimming back gives the OFF events of the same log change (the reference sits on a level).
    off = dvs.step(np.log(np.full((1, 1), start)), 10_000_000)
    assert (off["p"] == 0).all()
    assert len(off) in (expected - 1, expected)  # the level sits exactly k*C away: float rounding may drop one


def test_per_pixel_thresholds_set_each_pixels_event_count():
    params = DvsParams(threshold_sigma=0.05, refractory_ns=0, noise_rate_hz=0.0)
    dvs = DvsSimulator(4, 5, params, np.random.default_rng(7))
    dvs.reset(np.zeros((4, 5)), 0)
    events = dvs.step(np.full((4, 5), 1.0), 1_000_000)
    counts = np.zeros((4, 5), int)
    np.add.at(counts, (events["y"], events["x"]), 1)
    assert (counts.ravel() == np.floor(1.0 / dvs.c_on)).all()
    assert len(np.unique(counts)) > 1, "threshold mismatch should vary the counts between pixels"


def test_changes_at_and_just_below_a_threshold():
    """A change of exactly k thresholds gives k events, one a hair below a threshold none; a pixel
    brightening and one darkening in the same step each give their own polarity only."""
    dvs = ideal_dvs(shape=(1, 4), contrast=0.25)
    dvs.reset(np.zeros((1, 4)), 0)
    events = dvs.step(np.array([[0.25, 0.75, 0.25 * (1 - 1e-6), -0.5]]), 1_000_000)
    counts = {(int(x), int(p)): int(np.sum((events["x"] == x) & (events["p"] == p))) for x in range(4) for p in (0, 1)}
    assert counts == {(0, 1): 1, (0, 0): 0, (1, 1): 3, (1, 0): 0, (2, 1): 0, (2, 0): 0, (3, 1): 0, (3, 0): 2}


def test_refractory_period_drops_fast_repeats_but_keeps_the_reference():
    dvs = ideal_dvs(contrast=0.1, refractory_ns=1_000_000)
    dvs.reset(np.zeros((1, 1)), 0)
    burst = dvs.step(np.full((1, 1), 0.55), 100_000)  # 5 crossings within 100 us
    assert len(burst) == 1
    later = dvs.step(np.full((1, 1), 0.55), 5_000_000)  # no change: the reference moved with the crossings
    assert len(later) == 0


def test_sequence_is_deterministic_per_seed_and_seeds_differ():
    cfg = SimConfig(**SMALL)
    a, b, c = (list(SyntheticSequence(s, cfg).frames()) for s in (11, 11, 12))
    for fa, fb in zip(a, b):
        assert np.array_equal(fa.rgb, fb.rgb) and np.array_equal(fa.events, fb.events)
        assert np.array_equal(fa.gt_xywh, fb.gt_xywh)
    assert not all(np.array_equal(fa.rgb, fc.rgb) for fa, fc in zip(a, c))


def test_frames_follow_the_sequence_contract():
    cfg = SimConfig(**SMALL, condition="motion_blur")
    seq = SyntheticSequence(5, cfg)
    assert seq.degraded and "motion_blur" in seq.name and len(seq) == cfg.num_frames
    previous = 0
    for frame in seq.frames():
        assert frame.rgb.shape == (cfg.height, cfg.width, 3) and frame.rgb.dtype == np.uint8
        assert frame.events.dtype == EVENT_DTYPE
        ev = frame.events
        assert len(ev) > 0, "a moving scene must produce events in every frame interval"
        assert (ev["t"] >= previous).all() and (ev["t"] < frame.stamp_ns).all()
        assert (np.diff(ev["t"]) >= 0).all() and (ev["t"] % 1000 == 0).all()
        assert (ev["x"] < cfg.width).all() and (ev["y"] < cfg.height).all()
        x, y, w, h = frame.gt_xywh
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= cfg.width and y + h <= cfg.height
        previous = frame.stamp_ns
    assert np.array_equal(seq.gt_xywh[-1], frame.gt_xywh)


def test_events_concentrate_on_the_moving_target():
    cfg = SimConfig(**SMALL, condition="normal", distractors=(0, 0), occlusion_prob=0.0, camera_pan_px=0.0,
                    camera_zoom=0.0, target_speed_px_s=(150.0, 150.0), dvs=DvsParams(noise_rate_hz=0.0))
    frame = list(SyntheticSequence(2, cfg).frames())[3]
    image = render_ahu(frame.events, cfg.height, cfg.width)
    marked = (image != 255).any(axis=2)
    x, y, w, h = frame.gt_xywh.round().astype(int)
    pad = 8
    near = marked[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad].sum()
    assert near > 0.9 * marked.sum() and near > 20


def test_degraded_conditions_change_the_rgb_image():
    def mean_and_saturation(condition):
        frame = next(SyntheticSequence(4, SimConfig(**SMALL, condition=condition)).frames())
        return frame.rgb.mean(), (frame.rgb == 255).mean()

    normal_mean, normal_sat = mean_and_saturation("normal")
    assert mean_and_saturation("low_light")[0] < 0.6 * normal_mean
    assert mean_and_saturation("underexposed")[0] < 0.6 * normal_mean
    assert mean_and_saturation("overexposed")[1] > normal_sat + 0.2


def test_events_survive_the_evt3_path():
    from fetrack_ros.events import packetize
    from fetrack_ros.simulation.event_path import through_evt3
    seq = SyntheticSequence(6, SimConfig(**SMALL))
    frames = list(seq.frames())
    packets = packetize(np.concatenate([f.events for f in frames]))
    assert len(packets) > len(frames)  # ~1 ms packets
    stamps = np.array([stamp for stamp, _ in packets])  # each packet's first event, in 1 ms slots
    assert (np.diff(stamps // 1_000_000) > 0).all()
    assert set(stamps) <= set(np.concatenate([f.events["t"] for f in frames]).tolist())
    windows = through_evt3(seq, [f.events for f in frames])
    for frame, window in zip(frames, windows):
        assert len(window) == len(frame.events) > 0
        # Same events; within one microsecond the encoder may reorder them (by y, vectors).
        order = ["t", "y", "x", "p"]
        assert np.array_equal(np.sort(window, order=order), np.sort(frame.events, order=order))
        assert np.array_equal(render_ahu(window, 96, 128), render_ahu(frame.events, 96, 128))


def test_benchmark_is_half_degraded_with_every_degradation_and_held_out_seeds():
    from fetrack_ros.simulation.camera import DEGRADED_CONDITIONS
    seqs = benchmark_sequences(20, config=SimConfig(**SMALL))
    assert [s.seed for s in seqs] == list(range(HELD_OUT_SEED_START, HELD_OUT_SEED_START + 20))
    assert sum(s.degraded for s in seqs) == 10
    assert {s.condition for s in seqs if s.degraded} == set(DEGRADED_CONDITIONS)
