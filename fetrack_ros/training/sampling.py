"""Template/search training pairs from sequences (synthetic or dataset folders), as the reference samples them.

A pair is two frames of one sequence, the template frame at most ``max_gap`` frames before the
search frame (both with a visible target). The template crop is the reference tracker's crop
(``template_factor`` around the true box); the search crop is taken around a **jittered** box:

- size ``wh * exp(N(0, 1) * scale_jitter)`` per axis,
- centre ``c + (U(0, 1) - 0.5) * sqrt(w' * h') * center_jitter`` per axis,

so the network learns to find the target away from the crop centre and at other scales. Crops
use :mod:`fetrack_ros.tracking.crop` (the tracker's own geometry), event frames the Event-AHU
rendering; the search box is returned normalized to the search crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..events import render_ahu
from ..tracking.crop import crop_geometry, crop_patch
from ..simulation.dvs import LUMA


@dataclass
class Clip:
    """Random-access frames of one sequence: ``rgb(i)``, ``event_frame(i)`` (H x W x 3 uint8)
    and ``boxes`` (N, 4) ``[x, y, w, h]`` px (w or h <= 0: target not visible)."""

    name: str
    boxes: np.ndarray
    _rgb: object        # callable i -> rgb
    _event: object      # callable i -> event frame

    def __len__(self) -> int:
        return len(self.boxes)

    def rgb(self, i: int) -> np.ndarray:
        return self._rgb(i)

    def event_frame(self, i: int) -> np.ndarray:
        return self._event(i)


class ClipSource(Protocol):
    def clip(self, rng: np.random.Generator) -> Clip: ...


class SyntheticSource:
    """Clips simulated on the fly (:class:`~.simulator.SyntheticSequence`), from seeds in
    ``[seed_start, seed_start + num_seeds)`` drawn with the caller's generator.

    Each simulated clip serves ``reuse`` calls: a 346x260 frame with events costs ~12 ms to
    simulate on one core, and a pair uses only two frames of the clip. ``pool`` clips are kept
    at once and each call takes one of them at random (a used-up one is replaced by a new clip),
    so consecutive pairs, a batch, come from up to ``pool`` sequences for the same simulation
    cost; with ``pool=1`` a batch of 16 at ``reuse=8`` holds only two sequences.
    """

    def __init__(self, config=None, seed_start: int = 0, num_seeds: int = 1_000_000, reuse: int = 4,
                 event_path: str = "direct", pool: int = 1):
        from ..simulation.simulator import SimConfig
        self.config = config or SimConfig()
        self.seed_start, self.num_seeds, self.reuse, self.pool = int(seed_start), int(num_seeds), int(reuse), int(pool)
        if self.num_seeds < 1 or self.reuse < 1 or self.pool < 1:
            raise ValueError(f"SyntheticSource needs num_seeds, reuse and pool >= 1, got {num_seeds}, {reuse}, {pool}")
        if event_path not in ("direct", "evt3"):
            raise ValueError(f"event_path must be 'direct' or 'evt3', got {event_path!r}")
        self.event_path = event_path
        self._clips: list[Clip | None] = [None] * self.pool
        self._uses = [0] * self.pool

    def clip(self, rng: np.random.Generator) -> Clip:
        slot = int(rng.integers(self.pool)) if self.pool > 1 else 0
        if self._clips[slot] is None or self._uses[slot] >= self.reuse:
            self._clips[slot] = self.simulate(self.seed_start + int(rng.integers(self.num_seeds)))
            self._uses[slot] = 0
        self._uses[slot] += 1
        return self._clips[slot]

    def simulate(self, seed: int) -> Clip:
        from ..simulation.simulator import SyntheticSequence
        seq = SyntheticSequence(seed, self.config)
        frames = list(seq.frames())
        h, w = seq.config.height, seq.config.width
        if self.event_path == "evt3":
            from ..simulation.event_path import through_evt3
            windows = through_evt3(seq, [f.events for f in frames])
        else:
            windows = [f.events for f in frames]
        rgbs = [f.rgb for f in frames]
        return Clip(seq.name, seq.gt_xywh, rgbs.__getitem__, lambda i: render_ahu(windows[i], h, w))


class FolderSource:
    """Clips from benchmark dataset folders (FE108 / COESOT / FELT layouts), read lazily."""

    def __init__(self, root: str, dataset: str = "coesot", list_file: str | None = None):
        from ..data.datasets import open_dataset
        self.sequences = open_dataset(root, dataset, list_file=list_file)

    def clip(self, rng: np.random.Generator) -> Clip:
        from ..data.datasets import read_rgb
        seq = self.sequences[int(rng.integers(len(self.sequences)))]
        return Clip(seq.name, seq.gt_xywh, lambda i: read_rgb(seq.rgb_paths[i]),
                    lambda i: read_rgb(seq.event_paths[i]))


@dataclass(frozen=True)
class PairSettings:
    """Crop geometry and augmentation of training pairs (the reference's values by default).

    Sizes in pixels; ``max_gap`` in frames; ``brightness_jitter``: RGB gain ``U(1-j, 1+j)`` per crop
    (events untouched); ``flip_prob``: horizontal flip of the whole pair; ``static_target_prob``:
    erase the target's events in the search crop (a target that stopped while other things
    move), so that the network must find it by appearance and not follow the busiest events.

    Transfer to real cameras (all 0 by default; each draws random numbers only when enabled):

    - ``grayscale_prob``: both RGB crops become grey (Rec. 601 luma in all three channels), as a
      monochrome DAVIS346 APS camera delivers them;
    - ``contrast_jitter``: RGB contrast around the crop's mean scaled by ``U(1-j, 1)`` per pair
      (real APS frames are flat), then a gamma ``exp(U(-j, j))``;
    - ``rgb_dropout_prob`` / ``event_dropout_prob``: the pair's RGB crops become one flat grey
      level, or its event crops blank (the Event-AHU background, no events): modality dropout, so
      that each input alone carries the track. At most one of the two per pair.
    """

    template_size: int = 128
    search_size: int = 256
    template_factor: float = 2.0
    search_factor: float = 4.0
    scale_jitter: float = 0.25
    center_jitter: float = 3.0
    max_gap: int = 100
    min_box_px: float = 4.0
    brightness_jitter: float = 0.2
    flip_prob: float = 0.5
    static_target_prob: float = 0.0
    grayscale_prob: float = 0.0
    contrast_jitter: float = 0.0
    rgb_dropout_prob: float = 0.0
    event_dropout_prob: float = 0.0
    max_tries: int = 50

    def __post_init__(self) -> None:
        for name in ("static_target_prob", "grayscale_prob", "rgb_dropout_prob", "event_dropout_prob", "flip_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.rgb_dropout_prob + self.event_dropout_prob > 1.0:
            raise ValueError(f"rgb_dropout_prob + event_dropout_prob must be <= 1 (one modality stays), got "
                             f"{self.rgb_dropout_prob} + {self.event_dropout_prob}")
        if not 0.0 <= self.contrast_jitter < 1.0:
            raise ValueError(f"contrast_jitter must be in [0, 1), got {self.contrast_jitter}")


@dataclass
class Pair:
    """One training sample: uint8 crops (S x S x 3 / T x T x 3) and the search box normalized
    ``(cx, cy, w, h)`` as fractions of the search crop."""

    template_rgb: np.ndarray
    template_event: np.ndarray
    search_rgb: np.ndarray
    search_event: np.ndarray
    search_box: np.ndarray      # (4,) float32 cx, cy, w, h in [0, 1] (may exceed at the borders)
    source: str


def jitter_box(box: np.ndarray, rng: np.random.Generator, scale_jitter: float, center_jitter: float) -> np.ndarray:
    """The reference search-region jitter of ``[x, y, w, h]`` (see the module docstring)."""
    wh = box[2:] * np.exp(rng.standard_normal(2) * scale_jitter)
    max_offset = math.sqrt(float(wh.prod())) * center_jitter
    center = box[:2] + box[2:] / 2 + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([center - wh / 2, wh])


def box_in_crop(box: np.ndarray, geo, output_size: int) -> np.ndarray:
    """Image box ``[x, y, w, h]`` -> normalized ``(cx, cy, w, h)`` in the crop ``geo`` resized to ``output_size``."""
    xy = (box[:2] - np.array([geo.x1, geo.y1])) * geo.resize_factor
    wh = box[2:] * geo.resize_factor
    return np.concatenate([xy + wh / 2, wh]).astype(np.float32) / output_size


def _visible(boxes: np.ndarray, min_px: float) -> np.ndarray:
    return (boxes[:, 2] >= min_px) & (boxes[:, 3] >= min_px)


def sample_pair(clip: Clip, rng: np.random.Generator, s: PairSettings) -> Pair | None:
    """One pair from ``clip``, or None when the clip has no usable frames or the tries ran out."""
    boxes = np.asarray(clip.boxes, np.float64)
    visible = np.flatnonzero(_visible(boxes, s.min_box_px))
    if visible.size == 0:
        return None
    for _ in range(s.max_tries):
        search_i = int(visible[rng.integers(visible.size)])
        candidates = visible[(visible <= search_i) & (visible >= search_i - s.max_gap)]
        template_i = int(candidates[rng.integers(candidates.size)])
        jittered = jitter_box(boxes[search_i], rng, s.scale_jitter, s.center_jitter)
        rgb = clip.rgb(search_i)
        try:
            s_geo = crop_geometry(jittered, s.search_factor, s.search_size, rgb.shape[:2])
        except ValueError:
            continue
        target = box_in_crop(boxes[search_i], s_geo, s.search_size)
        if not (0.0 <= target[0] <= 1.0 and 0.0 <= target[1] <= 1.0):
            continue  # jitter pushed the target's centre out of the search region: no label cell
        t_rgb = rgb if template_i == search_i else clip.rgb(template_i)
        t_geo = crop_geometry(boxes[template_i], s.template_factor, s.template_size, t_rgb.shape[:2])
        pair = Pair(crop_patch(t_rgb, t_geo, s.template_size),
                    crop_patch(_event_like(clip.event_frame(template_i), t_rgb), t_geo, s.template_size),
                    crop_patch(rgb, s_geo, s.search_size),
                    crop_patch(_event_like(clip.event_frame(search_i), rgb), s_geo, s.search_size),
                    target, f"{clip.name}:{template_i}->{search_i}")
        return augment(pair, rng, s)
    return None


def _event_like(event_frame: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    from ..tracking.inputs import match_event_frame
    return match_event_frame(event_frame, rgb.shape[:2])


#: The Event-AHU rendering of "no event" (a white frame).
_NO_EVENTS = 255
_RGB_CROPS = ("template_rgb", "search_rgb")


def to_grayscale(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 3) uint8 with the luma in every channel."""
    luma = rgb.astype(np.float32) @ LUMA
    return np.repeat((luma + 0.5).clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)


def flatten_contrast(rgb: np.ndarray, contrast: float, gamma: float) -> np.ndarray:
    """(H, W, 3) uint8: contrast around the crop mean scaled by ``contrast``, then ``x ** gamma`` on [0, 1]."""
    x = rgb.astype(np.float32) / 255.0
    mean = x.mean()
    x = mean + (x - mean) * contrast
    return (255.0 * np.clip(x, 0.0, 1.0) ** gamma + 0.5).astype(np.uint8)


def _transfer_augment(pair: Pair, rng: np.random.Generator, s: PairSettings) -> None:
    """The real-camera augmentations of :class:`PairSettings`, in place on ``pair``."""
    if s.grayscale_prob > 0 and rng.random() < s.grayscale_prob:
        for name in _RGB_CROPS:
            setattr(pair, name, to_grayscale(getattr(pair, name)))
    if s.contrast_jitter > 0:
        contrast = rng.uniform(1.0 - s.contrast_jitter, 1.0)
        gamma = float(np.exp(rng.uniform(-s.contrast_jitter, s.contrast_jitter)))
        for name in _RGB_CROPS:
            setattr(pair, name, flatten_contrast(getattr(pair, name), contrast, gamma))
    if s.rgb_dropout_prob + s.event_dropout_prob > 0:
        draw = rng.random()
        if draw < s.rgb_dropout_prob:
            level = int(rng.integers(0, 256))
            for name in _RGB_CROPS:
                getattr(pair, name)[:] = level
        elif draw < s.rgb_dropout_prob + s.event_dropout_prob:
            pair.template_event[:] = _NO_EVENTS
            pair.search_event[:] = _NO_EVENTS


def augment(pair: Pair, rng: np.random.Generator, s: PairSettings) -> Pair:
    """Joint horizontal flip, per-crop RGB brightness jitter, erased target events and the
    real-camera augmentations (see PairSettings)."""
    if s.static_target_prob > 0 and rng.random() < s.static_target_prob:
        size = pair.search_event.shape[0]
        cx, cy, w, h = pair.search_box * size
        x0, y0 = max(0, int(np.floor(cx - w / 2))), max(0, int(np.floor(cy - h / 2)))
        x1, y1 = min(size, int(np.ceil(cx + w / 2))), min(size, int(np.ceil(cy + h / 2)))
        pair.search_event[y0:y1, x0:x1] = _NO_EVENTS  # (the crop is the pair's own)
    if s.brightness_jitter > 0:
        for name in _RGB_CROPS:
            gain = rng.uniform(1 - s.brightness_jitter, 1 + s.brightness_jitter)
            setattr(pair, name, np.clip(getattr(pair, name) * gain, 0, 255).astype(np.uint8))
    _transfer_augment(pair, rng, s)
    if rng.random() < s.flip_prob:
        for name in ("template_rgb", "template_event", "search_rgb", "search_event"):
            setattr(pair, name, np.ascontiguousarray(getattr(pair, name)[:, ::-1]))
        pair.search_box = pair.search_box.copy()
        pair.search_box[0] = 1.0 - pair.search_box[0]
    return pair


class PairSampler:
    """Pairs from several sources, each picked with probability proportional to its weight."""

    def __init__(self, sources: list, weights: list[float] | None, settings: PairSettings):
        if not sources:
            raise ValueError("PairSampler needs at least one source")
        weights = np.ones(len(sources)) if weights is None else np.asarray(weights, np.float64)
        if len(weights) != len(sources) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"source weights must be {len(sources)} non-negative numbers with a positive sum, "
                             f"got {list(weights)}")
        self.sources, self.p, self.settings = sources, weights / weights.sum(), settings

    def sample(self, rng: np.random.Generator) -> Pair:
        for _ in range(100):
            source = self.sources[int(rng.choice(len(self.sources), p=self.p))]
            pair = sample_pair(source.clip(rng), rng, self.settings)
            if pair is not None:
                return pair
        raise RuntimeError("no usable training pair in 100 clips: do the sequences have visible targets "
                           f"(boxes of at least {self.settings.min_box_px} px)?")
