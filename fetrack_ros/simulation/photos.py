"""Photographs as textures: the openly licensed sample photos inside scikit-image's wheel.

Procedural and natural-statistics textures (:mod:`.scene`) have the power spectrum of real images
but none of their content: edges of real things, shading, specular highlights, man-made patterns.
A network trained on them alone tracks grey, textured real frames poorly from its RGB input (issue
20). Crops of real photographs, cut at random scales and orientations, bring that content in.

Only the files of :data:`PHOTOS` are used, each CC0 or public domain as scikit-image's
``data/_fetchers.py`` states. They are read from the installed package with OpenCV (scikit-image
itself is never imported) and are not part of this repository.
"""
from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from .dvs import LUMA
from .scene import highlights_near_white

#: ``{file in skimage/data: licence as scikit-image states it}``; all ship in its wheel.
PHOTOS = {
    "astronaut.png": "public domain (NASA)",
    "camera.png": "CC0, Lav Varshney",
    "chelsea.png": "CC0, Stefan van der Walt",
    "coffee.png": "CC0, Rachel Michetti",
    "coins.png": "no known copyright restrictions (Walters Art Museum)",
    "rocket.jpg": "public domain (SpaceX)",
    "moon.png": "CC0, Andreas Preuss",
    "brick.png": "CC0 (cc0textures.com)",
    "grass.png": "CC0 (cc0textures.com)",
    "gravel.png": "CC0 (cc0textures.com)",
}

#: A photo crop's shorter side, as a fraction of the photo's shorter side (log-uniform).
CROP_FRACTION = (0.15, 1.0)


class PhotoError(RuntimeError):
    """The photographs cannot be read (scikit-image missing, or a file absent or unreadable)."""


def photo_folder() -> Path:
    """The ``data`` folder of the installed scikit-image, without importing it."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise PhotoError("the simulator's photo options (photo_texture_prob, photo_sprite_prob) read scikit-image's "
                         "sample photographs, and scikit-image is not installed: pip install scikit-image")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@functools.lru_cache(maxsize=1)
def photo_library() -> tuple[np.ndarray, ...]:
    """The photographs of :data:`PHOTOS` as linear radiance: each (H, W, 3) float32 in [0, 1]
    (8-bit sRGB-like values decoded with gamma 2.2; grey photos repeated over 3 channels)."""
    folder = photo_folder()
    photos = []
    for name in PHOTOS:
        image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if image is None:
            raise PhotoError(f"{folder / name}: missing or unreadable; expected one of scikit-image's bundled sample "
                             f"photographs ({', '.join(PHOTOS)})")
        photos.append(np.ascontiguousarray((image[..., ::-1].astype(np.float32) / 255.0) ** 2.2))
    return tuple(photos)


def photo_texture(rng: np.random.Generator, h: int, w: int, grey: bool | None = None) -> np.ndarray:
    """A (h, w, 3) float32 texture in [0.02, 1]: a crop of a random photograph.

    The crop has the texture's aspect ratio, a shorter side of :data:`CROP_FRACTION` of the photo's
    (log-uniform), a random position, a random quarter turn and mirror; it is resized to ``h x w``
    (area averaging when shrinking). ``grey`` (random, 50 %, when None): luma only; else the
    photo's colours, desaturated by a random amount (DAVIS346 colour APS frames are dull). The
    brightest 1 % is scaled to U(0.7, 1) (:func:`~.scene.highlights_near_white`).
    """
    if h < 1 or w < 1:
        raise ValueError(f"photo_texture: size must be at least 1x1 px, got {w}x{h}")
    photos = photo_library()
    photo = photos[int(rng.integers(len(photos)))]
    photo = np.rot90(photo, int(rng.integers(4)))
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
    ph, pw = photo.shape[:2]
    side = min(ph, pw) * math.exp(rng.uniform(*np.log(CROP_FRACTION)))
    ch, cw = (side, side * w / h) if w >= h else (side * h / w, side)
    shrink = min(1.0, ph / ch, pw / cw)        # a long, thin texture: the crop must still fit
    ch, cw = max(1, int(ch * shrink)), max(1, int(cw * shrink))
    y0, x0 = int(rng.integers(ph - ch + 1)), int(rng.integers(pw - cw + 1))
    crop = np.ascontiguousarray(photo[y0:y0 + ch, x0:x0 + cw])
    interpolation = cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR
    tex = cv2.resize(crop, (w, h), interpolation=interpolation).reshape(h, w, 3)
    luma = tex @ LUMA
    if grey if grey is not None else rng.random() < 0.5:
        tex = np.repeat(luma[..., None], 3, axis=2)
    else:
        tex = luma[..., None] + rng.uniform(0.3, 1.0) * (tex - luma[..., None])
    return highlights_near_white(rng, tex)
