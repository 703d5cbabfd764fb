"""DAVIS346-like simulator options: APS sensor model, natural textures, ego-motion, hot pixels.

All of them are off by default and must then leave every output bit for bit as it was.
"""
import dataclasses
import hashlib
import itertools
import math

import numpy as np
import pytest

from fetrack_ros.simulation.aps import ApsConfig, ApsSensor, jpeg_round_trip, vignette
from fetrack_ros.simulation.camera import CameraSettings
from fetrack_ros.simulation.dvs import DavisDvsConfig, DvsParams, DvsSimulator
from fetrack_ros.simulation.scene import (WorldLocked, dead_leaves, dead_leaves_radii, natural_texture, pink_noise,
                                          shadow_map)
from fetrack_ros.simulation.simulator import SimConfig, SyntheticSequence

SMALL = dict(height=96, width=128, target_size_px=(16.0, 30.0), num_frames=6)
#: A plain APS sensor: every option that is not under test switched off.
PLAIN_APS = dict(prob=1.0, mono_prob=1.0, brightness=(1.0, 1.0), dark_prob=0.0, read_noise=(0.0, 0.0),
                 shot_noise=(0.0, 0.0), pixel_gain_fpn=(0.0, 0.0), pixel_offset_fpn=(0.0, 0.0),
                 column_offset_fpn=(0.0, 0.0), vignetting=(0.0, 0.0), blur_sigma=(0.0, 0.0), veil=(0.0, 0.0),
                 black_level=(0.0, 0.0), gamma=(1.0, 1.0), jpeg_prob=0.0)


def sequence_hash(seed: int, config: SimConfig, num_frames: int) -> str:
    h = hashlib.sha256()
    seq = SyntheticSequence(seed, config)
    h.update(seq.name.encode())
    for f in itertools.islice(seq.frames(), num_frames):
        h.update(f.rgb.tobytes())
        h.update(f.events.tobytes())
        h.update(np.asarray(f.gt_xywh).tobytes())
    return h.hexdigest()[:16]


# Computed with the simulator as it was before the DAVIS options existed.
@pytest.mark.parametrize("seed, condition, reference", [
    (0, None, "a2037b1c1380679f"),
    (1, None, "aa50afdec627238d"),
    (1_000_001, None, "2dc0eaf6148732e3"),
    (5, "normal", "9b7d8970fe5178d5"),
    (5, "motion_blur", "874f0ce5985aee02"),
    (5, "low_light", "8a34c575b95a1bfc"),
    (5, "overexposed", "17ec95385ed8c412"),
    (5, "underexposed", "f36e7c50ad533140"),
])
def test_default_config_output_is_unchanged(seed, condition, reference):
    if condition is None:
        assert sequence_hash(seed, SimConfig(), 3) == reference
    else:
        assert sequence_hash(seed, SimConfig(**SMALL, condition=condition), 6) == reference


def test_options_with_zero_probability_change_nothing():
    """Ranges set but probabilities 0: the base generators draw the same numbers."""
    config = SimConfig(**SMALL, condition="normal", aps={"mono_prob": 0.0, "vignetting": [0.5, 0.6]},
                       ego_pan_px=10.0, davis_dvs={"noise_rate_hz": [1.0, 2.0]}, shadow_depth=(0.2, 0.3))
    assert sequence_hash(5, config, 6) == "9b7d8970fe5178d5"


def test_davis_options_change_the_output_and_stay_deterministic():
    config = SimConfig(**SMALL, aps={"prob": 1.0}, natural_texture_prob=1.0, natural_sprite_prob=1.0,
                       ego_motion_prob=1.0, world_static_prob=1.0, davis_dvs={"prob": 1.0, "hot_pixel_fraction": [1e-3, 1e-3]})
    first = sequence_hash(7, config, 3)
    assert first == sequence_hash(7, config, 3)
    assert first != sequence_hash(7, SimConfig(**SMALL), 3)
    seq = SyntheticSequence(7, config)
    assert seq.aps is not None and seq.dvs_params.hot_pixel_fraction == 1e-3
    assert isinstance(seq.scene.target.center, WorldLocked)


# ----------------------------------------------------------------------------- configuration
def test_sim_config_loads_davis_sections_from_a_yaml_mapping():
    config = SimConfig.from_dict({"aps": {"prob": 0.7, "vignetting": [0.1, 0.3]}, "natural_texture_prob": 0.5,
                                  "ego_speed_px_s": [50, 200], "davis_dvs": {"prob": 1.0, "hot_pixel_rate_hz": [5, 50]},
                                  "dvs": {"hot_pixel_fraction": 1e-4}})
    assert config.aps == ApsConfig(prob=0.7, vignetting=(0.1, 0.3))
    assert config.ego_speed_px_s == (50.0, 200.0)
    assert config.davis_dvs.hot_pixel_rate_hz == (5.0, 50.0)
    assert config.dvs.hot_pixel_fraction == 1e-4
    assert config.replace(aps={"prob": 0.1}).aps.vignetting == (0.1, 0.3)


@pytest.mark.parametrize("data, message", [
    ({"aps": {"prob": 1.5}}, "aps.prob"),
    ({"aps": {"vignetting": [0.5, 0.2]}}, "aps.vignetting"),
    ({"aps": {"vignetting": [0.5, 1.0]}}, "aps.vignetting"),
    ({"aps": {"jpeg_quality": [0, 50]}}, "aps.jpeg_quality"),
    ({"aps": {"gamma": "x"}}, "aps.gamma"),
    ({"aps": {"vignete": [0, 1]}}, "vignete"),
    ({"aps": 0.5}, "SimConfig.aps must be a mapping"),
    ({"natural_texture_prob": -0.1}, "natural_texture_prob"),
    ({"world_static_prob": 2}, "world_static_prob"),
    ({"ego_speed_px_s": [300, 100]}, "ego_speed_px_s"),
    ({"ego_pan_px": -1}, "ego_pan_px"),
    ({"shadow_prob": 1.5}, "shadow_prob"),
    ({"shadow_depth": [0.5, 1.0]}, "shadow_depth"),
    ({"shadow_depth": [0.6, 0.5]}, "shadow_depth"),
    ({"davis_dvs": {"noise_rate_hz": [0.0, 1.0]}}, "davis_dvs.noise_rate_hz"),
    ({"davis_dvs": {"hot_pixel_fraction": [0.0, 2.0]}}, "davis_dvs.hot_pixel_fraction"),
    ({"davis_dvs": {"rate": 1}}, "rate"),
    ({"dvs": {"noise_on_fraction": 1.5}}, "noise_on_fraction"),
])
def test_bad_davis_options_are_rejected_with_the_field_named(data, message):
    with pytest.raises(ValueError, match=message):
        SimConfig.from_dict(data)


# ----------------------------------------------------------------------------- APS sensor
def aps_sensor(seed: int = 0, height: int = 64, width: int = 80, **changes) -> ApsSensor:
    config = ApsConfig(**{**PLAIN_APS, **changes})
    return ApsSensor.random(np.random.default_rng(seed), config, height, width)


def colourful(height: int = 64, width: int = 80) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (0.1 + 0.8 * rng.random((height, width, 3))).astype(np.float32)


def test_mono_aps_output_has_three_equal_channels_even_through_jpeg():
    for jpeg in (0.0, 1.0):
        sensor = aps_sensor(mono_prob=1.0, read_noise=(0.01, 0.01), pixel_offset_fpn=(0.01, 0.01), jpeg_prob=jpeg)
        out = sensor.expose(colourful(), 1.0, np.random.default_rng(1))
        assert out.shape == (64, 80, 3) and out.dtype == np.uint8
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    # A noiseless linear mono sensor is the luma of the light.
    light = colourful()
    out = aps_sensor().expose(light, 1.0, np.random.default_rng(1))
    luma = light @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs(out[..., 0] / 255.0 - luma).max() < 1.0 / 255 + 1e-6


def test_dull_colour_aps_output_is_desaturated():
    light = colourful()
    sensor = aps_sensor(mono_prob=0.0, saturation=(0.3, 0.3), colour_cast=0.0)
    out = sensor.expose(light, 1.0, np.random.default_rng(1)).astype(np.float64) / 255
    chroma_in = light - light.mean(2, keepdims=True)
    chroma_out = out - out.mean(2, keepdims=True)
    ratio = np.abs(chroma_out).mean() / np.abs(chroma_in).mean()
    assert 0.25 < ratio < 0.35
    assert not np.array_equal(out[..., 0], out[..., 1])


@pytest.mark.parametrize("strength", [0.2, 0.5])
def test_vignetting_darkens_the_corners_by_the_set_ratio(strength):
    sensor = aps_sensor(height=120, width=160, vignetting=(strength, strength))
    flat = np.full((120, 160, 3), 0.8, np.float32)
    out = sensor.expose(flat, 1.0, np.random.default_rng(0)).astype(np.float64)[..., 0]   # linear response
    centre = out[55:65, 75:85].mean()
    corner = np.mean([out[0, 0], out[0, -1], out[-1, 0], out[-1, -1]])
    assert corner / centre == pytest.approx(1 - strength, abs=0.02)
    # Brightness falls monotonically from the centre along the diagonal.
    diag = np.array([out[60 + i * 59 // 60, 80 + i * 79 // 60] for i in range(61)])
    assert (np.diff(diag) <= 1).all() and diag[0] > diag[-1]
    assert vignette(120, 160, 0.0).min() == 1.0


def test_fixed_pattern_noise_is_the_same_in_every_frame_and_differs_across_sensors():
    options = dict(pixel_gain_fpn=(0.05, 0.05), pixel_offset_fpn=(0.02, 0.02), column_offset_fpn=(0.03, 0.03))
    flat = np.full((64, 80, 3), 0.4, np.float32)
    sensor = aps_sensor(seed=1, **options)
    a = sensor.expose(flat, 1.0, np.random.default_rng(10)).astype(int)
    b = sensor.expose(flat, 1.0, np.random.default_rng(11)).astype(int)
    assert np.array_equal(a, b), "without temporal noise, a sensor's frames of a flat scene are identical"
    assert a.std() > 3, "fixed-pattern noise must show on a flat scene"
    other = aps_sensor(seed=2, **options).expose(flat, 1.0, np.random.default_rng(10)).astype(int)
    assert abs(np.corrcoef(a.ravel(), other.ravel())[0, 1]) < 0.2
    # Column offsets: the column means vary far more than pixel noise alone would explain.
    col_std = a[..., 0].mean(0).std()
    assert col_std > 0.5 * 0.03 * 255


def test_fixed_pattern_noise_persists_through_a_sequence_and_temporal_noise_does_not():
    def frames(seed, fpn):
        aps = {**PLAIN_APS, "pixel_offset_fpn": (fpn, fpn), "column_offset_fpn": (fpn, fpn), "read_noise": (0.01, 0.01)}
        config = SimConfig(**SMALL, condition="normal", target_speed_px_s=(0.0, 0.0), scale_change=0.0,
                           distractors=(0, 0), occlusion_prob=0.0, camera_pan_px=0.0, camera_speed_px_s=0.0,
                           camera_zoom=0.0, events=False, aps=aps)
        seq = SyntheticSequence(seed, config)
        return seq, np.array([f.rgb[..., 0] for f in seq.frames()], float)

    seq, with_fpn = frames(4, 0.02)
    _, without = frames(4, 0.0)
    # The same static scene and temporal noise: the difference is the sensor's fixed pattern, in every frame.
    fpn = 255 * seq.aps.pixel_offset[..., 0]
    for i in (0, 5):
        diff = with_fpn[i] - without[i]
        assert np.corrcoef(diff.ravel(), fpn.ravel())[0, 1] > 0.95
    d1, d2 = with_fpn[1] - with_fpn[0], with_fpn[3] - with_fpn[2]
    assert d1.std() > 1.0, "temporal noise changes from frame to frame"
    assert abs(np.corrcoef(d1.ravel(), d2.ravel())[0, 1]) < 0.2
    other, _ = frames(5, 0.02)
    assert abs(np.corrcoef(fpn.ravel(), other.aps.pixel_offset[..., 0].ravel())[0, 1]) < 0.1


def test_dark_operation_amplifies_noise():
    flat = np.full((64, 80, 3), 0.3, np.float32)
    noisy = dict(read_noise=(0.003, 0.003), shot_noise=(0.005, 0.005))
    bright = aps_sensor(**noisy).expose(flat, 1.0, np.random.default_rng(0)).astype(float)
    dark = aps_sensor(**noisy, dark_prob=1.0, dark_light=(0.1, 0.1)).expose(flat, 1.0, np.random.default_rng(0))
    dark = dark.astype(float)
    assert dark.mean() == pytest.approx(bright.mean(), abs=2.0), "the gain makes up for the light"
    assert dark.std() > 2.5 * bright.std()


def test_veil_and_blur_lower_contrast_and_jpeg_adds_blocks():
    rng = np.random.default_rng(0)
    light = np.repeat(rng.random((64, 80, 1)).astype(np.float32), 3, axis=2)
    sharp = aps_sensor().expose(light, 1.0, rng).astype(float)[..., 0]
    veiled = aps_sensor(veil=(0.5, 0.5)).expose(light, 1.0, rng).astype(float)[..., 0]
    soft = aps_sensor(blur_sigma=(1.0, 1.0)).expose(light, 1.0, rng).astype(float)[..., 0]
    assert veiled.std() == pytest.approx(0.5 * sharp.std(), rel=0.05)
    assert np.abs(np.diff(soft, axis=1)).mean() < 0.5 * np.abs(np.diff(sharp, axis=1)).mean()
    image = np.repeat((sharp[..., None]).astype(np.uint8), 1, axis=2)
    coded = jpeg_round_trip(image, 20)
    assert coded.shape == image.shape and 1.0 < np.abs(coded.astype(float) - image).mean() < 60


# ----------------------------------------------------------------------------- natural textures
def radial_power_slope(image: np.ndarray, f_lo: float, f_hi: float) -> float:
    """Slope of log power against log spatial frequency (cycles per pixel) in ``[f_lo, f_hi]``."""
    img = image - image.mean()
    h, w = img.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(img * window)) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    edges = np.geomspace(f_lo, f_hi, 12)
    centres, means = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (f >= lo) & (f < hi)
        centres.append(np.sqrt(lo * hi))
        means.append(power[sel].mean())
    return float(np.polyfit(np.log(centres), np.log(means), 1)[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_dead_leaves_power_spectrum_falls_like_one_over_f_squared(seed):
    img = dead_leaves(np.random.default_rng(seed), 256, 256, r_min=1.0, r_max=80.0)
    assert img.shape == (256, 256, 3) and 0 <= img.min() and img.max() <= 1
    slope = radial_power_slope(img[..., 0].astype(np.float64), 0.01, 0.15)
    assert -2.7 < slope < -1.5, slope


def test_dead_leaves_radii_follow_the_power_law():
    radii = dead_leaves_radii(np.random.default_rng(0), 200_000, 2.0, 100.0, alpha=3.0)
    assert radii.min() >= 2.0 and radii.max() <= 100.0
    edges = np.geomspace(2.0, 100.0, 15)
    counts, _ = np.histogram(radii, edges)
    density = counts / np.diff(edges)
    centres = np.sqrt(edges[:-1] * edges[1:])
    ok = counts > 50
    slope = np.polyfit(np.log(centres[ok]), np.log(density[ok]), 1)[0]
    assert slope == pytest.approx(-3.0, abs=0.15)


def test_pink_noise_has_the_set_spectral_exponent():
    img = pink_noise(np.random.default_rng(0), 256, 256)[..., 0].astype(np.float64)
    assert radial_power_slope(img, 0.01, 0.3) == pytest.approx(-2.0, abs=0.3)


def test_natural_textures_grey_or_dull():
    rng = np.random.default_rng(0)
    for kind in ("dead_leaves", "pink_noise"):
        grey = natural_texture(rng, 64, 64, kind, grey=True)
        assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
        dull = natural_texture(rng, 64, 64, kind, grey=False)
        saturation = (dull.max(2) - dull.min(2)) / dull.max(2)
        assert 0.0 < saturation.mean() < 0.5
        assert 0.02 <= dull.min() and dull.max() <= 1.0


# ----------------------------------------------------------------------------- ego-motion
def test_world_static_target_moves_with_a_fast_camera():
    config = SimConfig(**SMALL, condition="normal", camera_zoom=0.0, ego_motion_prob=1.0, ego_pan_px=30.0,
                       ego_speed_px_s=(300.0, 300.0), world_static_prob=1.0, target_speed_px_s=(5.0, 10.0))
    seq = SyntheticSequence(2, config)
    scene = seq.scene
    times = np.linspace(0, 0.5, 51)
    cam = np.array([scene.camera(t) for t in times])
    centre = np.array([scene.target.center(t) for t in times])
    # Static in the world: image position + camera offset is constant.
    assert np.allclose(centre + cam, centre[0] + cam[0], atol=1e-9)
    speed = np.abs(np.diff(cam, axis=0)).max(0).max() / (times[1] - times[0])
    assert speed > 100, "the ego-motion pan must be fast"
    assert seq.substeps >= math.ceil(speed * config.frame_period_us * 1e-6 / config.max_substep_motion_px) - 1


# ----------------------------------------------------------------------------- DVS noise
def static_config(**changes) -> SimConfig:
    return SimConfig(**{**SMALL, **changes}, condition="normal", target_speed_px_s=(0.0, 0.0), scale_change=0.0,
                     distractors=(0, 0), occlusion_prob=0.0, camera_pan_px=0.0, camera_speed_px_s=0.0, camera_zoom=0.0)


def test_hot_pixels_fire_at_the_same_positions_in_a_static_scene():
    config = static_config(num_frames=30, dvs=DvsParams(noise_rate_hz=0.2, hot_pixel_fraction=5 / (96 * 128),
                                                        hot_pixel_rate_hz=100.0))
    seq = SyntheticSequence(3, config)
    frames = list(seq.frames())
    first = np.concatenate([f.events for f in frames[:15]])
    second = np.concatenate([f.events for f in frames[15:]])

    def busiest(events, n):
        counts = np.bincount(events["y"].astype(np.int64) * 128 + events["x"], minlength=96 * 128)
        return set(np.argsort(counts)[-n:].tolist()), counts

    a, counts_a = busiest(first, 5)
    b, _ = busiest(second, 5)
    assert a == b
    assert len(a) == 5
    assert (counts_a[sorted(a)] >= 10).all()
    # Other pixels carry only the sparse background noise.
    others = np.delete(counts_a, sorted(a))
    assert others.max() <= 3


def test_static_scene_without_hot_pixels_gives_only_background_noise():
    rate = 5.0
    config = static_config(dvs=DvsParams(noise_rate_hz=rate, hot_pixel_fraction=0.0, noise_on_fraction=0.8),
                           davis_dvs=DavisDvsConfig(prob=0.0))
    events = np.concatenate([f.events for f in SyntheticSequence(3, config).frames()])
    expected = rate * 96 * 128 * config.num_frames * config.frame_period_us * 1e-6
    assert abs(len(events) - expected) < 5 * math.sqrt(expected)
    counts = np.bincount(events["y"].astype(np.int64) * 128 + events["x"], minlength=96 * 128)
    # Per-pixel counts are Poisson (mean 1 here): variance = mean, no pixel stands out.
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.1)
    assert counts.max() <= 9, "no pixel stands out without hot pixels"
    assert events["p"].mean() == pytest.approx(0.8, abs=5 * 0.4 / math.sqrt(len(events)))


def test_hot_pixels_do_not_change_the_other_events():
    params = DvsParams(noise_rate_hz=1.0, refractory_ns=0)
    log_a, log_b = np.zeros((8, 10)), np.full((8, 10), 0.5)
    runs = []
    for hot in (0.0, 0.05):
        dvs = DvsSimulator(8, 10, DvsParams(**{**params.__dict__, "hot_pixel_fraction": hot}),
                           np.random.default_rng(1), hot_rng=np.random.default_rng(2))
        dvs.reset(log_a, 0)
        events = np.concatenate([dvs.step(log_b, 1_000_000_000), dvs.step(log_a, 2_000_000_000)])  # ns
        runs.append((events, dvs.hot_pixels))
    (plain, _), (with_hot, hot_pixels) = runs
    assert hot_pixels.size == 4
    flat = with_hot["y"].astype(np.int64) * 10 + with_hot["x"]
    assert len(with_hot) > len(plain)
    # Removing the hot pixels' extra events leaves the plain run's events (same times, pixels, polarities).
    key = lambda e: sorted(zip(e["t"].tolist(), e["x"].tolist(), e["y"].tolist(), e["p"].tolist()))  # noqa: E731
    remaining = list(key(with_hot))
    for item in key(plain):
        remaining.remove(item)
    assert all(y * 10 + x in set(hot_pixels.tolist()) for _, x, y, _ in remaining)
    assert flat.size == len(with_hot)


def test_davis_dvs_draws_noise_within_its_ranges():
    ranges = DavisDvsConfig(prob=1.0, noise_rate_hz=(0.01, 0.1), noise_on_fraction=(0.6, 0.9),
                            hot_pixel_fraction=(1e-4, 2e-4), hot_pixel_rate_hz=(5.0, 50.0))
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = ranges.draw(rng, DvsParams())
        assert 0.01 <= p.noise_rate_hz <= 0.1 and 0.6 <= p.noise_on_fraction <= 0.9
        assert 1e-4 <= p.hot_pixel_fraction <= 2e-4 and 5.0 <= p.hot_pixel_rate_hz <= 50.0
    assert p.contrast_on == DvsParams().contrast_on


def test_camera_settings_gain_reaches_the_aps_sensor():
    flat = np.full((16, 16, 3), 0.2, np.float32)
    sensor = aps_sensor(height=16, width=16)
    low = sensor.expose(flat, CameraSettings(gain=1.0).gain, np.random.default_rng(0))
    high = sensor.expose(flat, CameraSettings(gain=3.0).gain, np.random.default_rng(0))
    assert low.mean() == pytest.approx(51, abs=1) and high.mean() == pytest.approx(153, abs=1)


# ----------------------------------------------------------------------------- cast shade
@pytest.mark.parametrize("depth, cover", [(0.5, 0.5), (0.8, 0.3)])
def test_shadow_map_shades_the_asked_area_by_the_asked_depth(depth, cover):
    light = shadow_map(np.random.default_rng(0), 300, 400, depth, cell=50.0, cover=cover)
    assert light.shape == (300, 400) and light.dtype == np.float32
    assert light.min() >= 1 - depth - 1e-6 and light.max() <= 1.0
    shaded = light < 1 - depth / 2
    assert shaded.mean() == pytest.approx(cover, abs=0.05)
    assert (light < 1 - 0.9 * depth).mean() > 0.5 * cover, "most of the shade is at full depth"
    # blobs, not speckle: a pixel's neighbour 5 px away is nearly always on the same side of the edge
    assert (shaded[:, 5:] == shaded[:, :-5]).mean() > 0.9


def test_shade_is_fixed_in_the_world_and_darkens_what_passes_through_it():
    config = SimConfig(**SMALL, condition="normal", shadow_prob=1.0, shadow_depth=(0.7, 0.7), camera_pan_px=0.0,
                       camera_speed_px_s=0.0, camera_zoom=0.0, target_speed_px_s=(200.0, 200.0))
    scene = SyntheticSequence(4, config).scene
    assert scene.shadow is not None
    unshaded = dataclasses.replace(scene, shadow=None)
    light = []
    for t in (0.0, 0.1):
        ratio = scene.render(t) / np.maximum(unshaded.render(t), 1e-9)
        assert ratio.min() == pytest.approx(0.3, abs=0.02) and ratio.max() == pytest.approx(1.0, abs=1e-5)
        assert np.allclose(ratio, ratio[..., :1], atol=1e-4), "shade is grey"
        light.append(ratio[..., 0])
    # under a still camera the target moved and the shade did not: it belongs to the world
    assert np.abs(scene.target_box(0.1)[:2] - scene.target_box(0.0)[:2]).max() > 5
    assert np.allclose(light[0], light[1], atol=1e-4)


def test_static_scene_in_shade_gives_only_background_noise():
    rate = 5.0
    config = static_config(shadow_prob=1.0, dvs=DvsParams(noise_rate_hz=rate, hot_pixel_fraction=0.0),
                           davis_dvs=DavisDvsConfig(prob=0.0))
    seq = SyntheticSequence(3, config)
    assert seq.scene.shadow is not None
    events = np.concatenate([f.events for f in seq.frames()])
    expected = rate * 96 * 128 * config.num_frames * config.frame_period_us * 1e-6
    assert abs(len(events) - expected) < 5 * math.sqrt(expected)
