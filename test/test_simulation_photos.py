"""Photograph textures (scikit-image's CC0 / public-domain samples) and the simulator's photo options."""
import numpy as np
import pytest

from fetrack_ros.simulation import photos
from fetrack_ros.simulation.photos import PhotoError, photo_library, photo_texture
from fetrack_ros.simulation.simulator import SimConfig, SyntheticSequence

SMALL = dict(height=96, width=128, target_size_px=(16.0, 30.0), num_frames=4)


def test_library_holds_every_listed_photo_as_linear_rgb():
    library = photo_library()
    assert len(library) == len(photos.PHOTOS)
    for image in library:
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.float32
        assert min(image.shape[:2]) >= 256 and 0.0 <= image.min() and image.max() <= 1.0
        assert image.std() > 0.03   # a photograph, not a flat placeholder (the moon is the flattest: 0.04)


@pytest.mark.parametrize("h, w", [(40, 40), (30, 90), (200, 20), (400, 500), (1, 1)])
def test_texture_has_the_size_range_and_brightness_asked(h, w):
    rng = np.random.default_rng(3)
    for _ in range(10):
        tex = photo_texture(rng, h, w)
        assert tex.shape == (h, w, 3) and tex.dtype == np.float32
        assert tex.min() >= 0.02 and tex.max() <= 1.0
        if h * w > 100:
            assert 0.69 <= np.percentile(tex, 99) <= 1.0


def test_texture_is_a_photo_not_noise():
    """Neighbouring pixels of a photo crop are strongly correlated (white noise: ~0); its power
    spectrum falls with frequency (low band far above the high band)."""
    rng = np.random.default_rng(5)
    correlations, ratios = [], []
    for _ in range(20):
        grey = photo_texture(rng, 96, 96, grey=True)[..., 0]
        a, b = grey[:, :-1].ravel(), grey[:, 1:].ravel()
        correlations.append(np.corrcoef(a, b)[0, 1])
        power = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean()))) ** 2
        y, x = np.indices(power.shape) - 48
        radius = np.hypot(y, x)
        ratios.append(power[(radius > 2) & (radius < 8)].mean() / power[(radius > 32) & (radius < 48)].mean())
    assert np.median(correlations) > 0.6
    assert np.median(ratios) > 20


def test_grey_and_colour_textures():
    rng = np.random.default_rng(8)
    grey = photo_texture(rng, 64, 64, grey=True)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    colour = [photo_texture(rng, 64, 64, grey=False) for _ in range(30)]
    assert max(float(np.abs(t[..., 0] - t[..., 2]).mean()) for t in colour) > 0.02   # some photos have colour


def test_texture_depends_only_on_the_generator():
    first = photo_texture(np.random.default_rng(11), 50, 70)
    assert np.array_equal(first, photo_texture(np.random.default_rng(11), 50, 70))
    assert not np.array_equal(first, photo_texture(np.random.default_rng(12), 50, 70))


def test_bad_size_is_named():
    with pytest.raises(ValueError, match="at least 1x1 px, got 0x5"):
        photo_texture(np.random.default_rng(0), 5, 0)


def test_missing_scikit_image_says_what_to_install(monkeypatch):
    monkeypatch.setattr(photos.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PhotoError, match="pip install scikit-image"):
        photos.photo_folder()


def test_photo_options_change_textures_only():
    """The photo options draw from streams of their own: the target's path and the events'
    randomness of every other option stay as they were; the images change."""
    base = SimConfig(**SMALL, aps={"prob": 1.0}, natural_texture_prob=0.5, natural_sprite_prob=0.5)
    with_photos = base.replace(photo_texture_prob=1.0, photo_sprite_prob=1.0)
    plain, photo = SyntheticSequence(21, base), SyntheticSequence(21, with_photos)
    assert np.array_equal(plain.gt_xywh, photo.gt_xywh)
    first_plain, first_photo = next(iter(plain.frames())), next(iter(photo.frames()))
    assert not np.array_equal(first_plain.rgb, first_photo.rgb)
    again = next(iter(SyntheticSequence(21, with_photos).frames()))
    assert np.array_equal(first_photo.rgb, again.rgb) and np.array_equal(first_photo.events, again.events)


def test_photo_options_are_probabilities():
    with pytest.raises(ValueError, match="photo_sprite_prob"):
        SimConfig(photo_sprite_prob=1.5)
    with pytest.raises(ValueError, match="photo_texture_prob"):
        SimConfig(photo_texture_prob=-0.1)
