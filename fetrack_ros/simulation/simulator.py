"""Synthetic RGB + event tracking sequences, deterministic per seed.

One seed gives one sequence: a random imaging condition (:data:`~.camera.CONDITIONS`), a
procedural :class:`~.scene.Scene` (textured target, distractors, optional occluder, camera pan
and zoom, scale change), and then, frame by frame:

- the scene is sampled ``K`` times per frame interval (``K`` grows with the motion speed so a
  sample never moves things by more than ``max_substep_motion_px``);
- every sample feeds the DVS model (:mod:`.dvs`): the frame's events are those of
  ``[previous stamp, stamp)``;
- the RGB frame integrates the samples of its exposure (which ends at the stamp) and goes
  through the camera model (:mod:`.camera`): blur, gain, noise, clipping, gamma;
- the ground truth is the target's box at the stamp, clipped to the image.

:class:`SyntheticSequence` exposes a seed as an evaluation :class:`~fetrack_ros.data.sequence.Sequence`
whose frames carry raw ``events`` (render them with ``fetrack_ros.events.render_ahu``).

DAVIS346-like options (all off by default; their random numbers come from a seed sequence of
their own, so with them off every output is the same as without them):

- ``aps``: the frame camera is a DAVIS346 APS sensor (:mod:`.aps`) with probability ``aps.prob``;
- ``natural_texture_prob`` / ``natural_sprite_prob``: backgrounds / objects get a texture with
  natural-image statistics (:func:`~.scene.natural_texture`: dead leaves or 1/f^2 noise);
- ``ego_motion_prob``: a fast, hand-held-like camera pan (``ego_pan_px``, ``ego_speed_px_s``);
- ``world_static_prob``: the target (and, independently, each distractor) stays fixed in the
  world and moves in the image only with the camera;
- ``davis_dvs``: DAVIS-like event noise per sequence (:class:`~.dvs.DavisDvsConfig`: background
  rate and ON bias, hot pixels);
- ``shadow_prob``: shade cast on the scene, fixed in the world (:func:`~.scene.shadow_map`): a
  target darkens as it drives into it while its events stay (the DVS sees log intensity, whose
  changes a uniform shade does not alter).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..data.sequence import Frame, Sequence
from ..fields import reject_unknown_fields
from ..events.event_types import EVENT_DTYPE
from .aps import ApsConfig, ApsSensor, check_range
from .camera import CONDITIONS, DEGRADED_CONDITIONS, CameraSettings, expose_frame, random_settings
from .dvs import DavisDvsConfig, DvsParams, DvsSimulator, log_intensity
from .photos import photo_texture
from .scene import (Crossing, Scene, SceneObject, WorldLocked, Wobble, ZoomScale, make_background, make_sprite,
                    natural_texture, random_palette, shadow_map)

NS_PER_US = 1000
#: First seed of held-out sequences (validation, benchmarks, demo). Training draws its seeds below
#: it by default, so held-out sequences are never seen in training.
HELD_OUT_SEED_START = 1_000_000
#: Entropy tag of the DAVIS options' seed sequence (the base simulator's is 0x5EE0).
DAVIS_SEED_TAG = 0xDA46
_DAVIS_STREAMS = ("background", "sprites", "ego", "world", "aps", "aps_noise", "dvs", "hot_pixels", "photo_background",
                  "photo_sprites", "shadow")


@dataclass(frozen=True)
class SimConfig:
    """What a synthetic sequence looks like (sizes in pixels, speeds in pixels per second).

    ``condition``: one of :data:`~.camera.CONDITIONS`, or ``"random"``: degraded with probability
    ``degraded_fraction`` (then uniformly among the degraded ones), else ``normal``.

    DAVIS346-like options (probabilities are per sequence, or per object where said; 0 = off):

    - ``aps``: :class:`~.aps.ApsConfig`, the APS sensor model (``aps.prob``).
    - ``natural_texture_prob``: the background is a natural texture (dead leaves or 1/f noise).
    - ``natural_sprite_prob``: per object (target, distractor, occluder), its texture is natural.
    - ``photo_texture_prob`` / ``photo_sprite_prob``: the background / per object, its texture
      is a crop of a real photograph (:func:`~.photos.photo_texture`; needs scikit-image);
      where both are drawn, the photograph takes precedence over the natural texture.
    - ``ego_motion_prob``: the camera pans fast: amplitude ``ego_pan_px`` times U(0.5, 1), speed
      bound U(``ego_speed_px_s``) (times the condition's speed factor) instead of the usual pan.
    - ``world_static_prob``: per object (target and each distractor), it is static in the world:
      it moves in the image only with the camera's pan and zoom.
    - ``davis_dvs``: :class:`~.dvs.DavisDvsConfig`, DAVIS-like event noise (``davis_dvs.prob``).
    - ``shadow_prob``: the scene has cast shade fixed in the world, removing a fraction
      U(``shadow_depth``) of the light where it falls (30-60 % of the area, soft-edged blobs
      of 40-120 px).
    """

    height: int = 260
    width: int = 346
    num_frames: int = 100
    frame_period_us: int = 33_333
    substeps: int = 6
    max_substep_motion_px: float = 2.0
    max_substeps: int = 24
    condition: str = "random"
    degraded_fraction: float = 0.5
    target_size_px: tuple[float, float] = (24.0, 72.0)       # sqrt(w * h) range
    target_aspect: tuple[float, float] = (0.5, 2.0)          # w / h range
    target_speed_px_s: tuple[float, float] = (20.0, 120.0)
    scale_change: float = 0.35                               # max |log size factor|
    distractors: tuple[int, int] = (0, 3)                    # inclusive range
    similar_distractor_prob: float = 0.5
    occlusion_prob: float = 0.3
    camera_pan_px: float = 30.0
    camera_speed_px_s: float = 25.0
    camera_zoom: float = 0.08                                # max |log zoom|
    events: bool = True
    dvs: DvsParams = field(default_factory=DvsParams)
    aps: ApsConfig = field(default_factory=ApsConfig)
    natural_texture_prob: float = 0.0
    natural_sprite_prob: float = 0.0
    photo_texture_prob: float = 0.0
    photo_sprite_prob: float = 0.0
    ego_motion_prob: float = 0.0
    ego_pan_px: float = 60.0
    ego_speed_px_s: tuple[float, float] = (100.0, 400.0)
    world_static_prob: float = 0.0
    davis_dvs: DavisDvsConfig = field(default_factory=DavisDvsConfig)
    shadow_prob: float = 0.0
    shadow_depth: tuple[float, float] = (0.5, 0.85)

    def __post_init__(self) -> None:
        if self.condition != "random" and self.condition not in CONDITIONS:
            raise ValueError(f"SimConfig.condition must be 'random' or one of {CONDITIONS}, got {self.condition!r}")
        for name in ("height", "width", "num_frames", "frame_period_us", "substeps", "max_substeps"):
            if getattr(self, name) < 1:
                raise ValueError(f"SimConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_substeps < self.substeps:
            raise ValueError(f"SimConfig.max_substeps ({self.max_substeps}) must be >= substeps ({self.substeps})")
        if min(self.height, self.width) < 2.5 * self.target_size_px[1]:
            raise ValueError(f"SimConfig: a {self.width}x{self.height} image is too small for targets up to "
                             f"{self.target_size_px[1]} px; lower target_size_px")
        for name in ("natural_texture_prob", "natural_sprite_prob", "photo_texture_prob", "photo_sprite_prob",
                     "ego_motion_prob", "world_static_prob", "shadow_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"SimConfig.{name} must be a probability in [0, 1], got {value!r}")
        if not (isinstance(self.ego_pan_px, (int, float)) and 0 <= self.ego_pan_px <= 4 * max(self.height, self.width)):
            raise ValueError(f"SimConfig.ego_pan_px must be in [0, {4 * max(self.height, self.width)}] px, "
                             f"got {self.ego_pan_px!r}")
        low, high = check_range(self.shadow_depth, "shadow_depth", "SimConfig")
        if not 0.0 <= low <= high < 1.0:
            raise ValueError(f"SimConfig.shadow_depth must be a [low, high] range of light fractions removed, "
                             f"0 <= low <= high < 1, got {self.shadow_depth!r}")
        lo_hi = tuple(self.ego_speed_px_s)
        if len(lo_hi) != 2 or not 0 <= lo_hi[0] <= lo_hi[1]:
            raise ValueError(f"SimConfig.ego_speed_px_s must be a [low, high] range with 0 <= low <= high, "
                             f"got {self.ego_speed_px_s!r}")
        for name, kind in (("aps", ApsConfig), ("davis_dvs", DavisDvsConfig), ("dvs", DvsParams)):
            if isinstance(getattr(self, name), dict):   # SimConfig(aps={...}) as from_dict does
                reject_unknown_fields(kind, getattr(self, name), f"SimConfig.{name}")
                object.__setattr__(self, name, kind(**getattr(self, name)))
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"SimConfig.{name} must be a {kind.__name__} (a mapping in YAML), "
                                 f"got {type(getattr(self, name)).__name__}")

    def replace(self, **changes) -> "SimConfig":
        for name in ("dvs", "aps", "davis_dvs"):
            if isinstance(changes.get(name), dict):
                changes[name] = dataclasses.replace(getattr(self, name), **changes[name])
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict) -> "SimConfig":
        reject_unknown_fields(cls, data, "SimConfig")
        data = dict(data)
        for name, kind in (("dvs", DvsParams), ("aps", ApsConfig), ("davis_dvs", DavisDvsConfig)):
            if name in data:
                if not isinstance(data[name], dict):
                    raise ValueError(f"SimConfig.{name} must be a mapping, got {type(data[name]).__name__}")
                reject_unknown_fields(kind, data[name], f"SimConfig.{name}")
                data[name] = kind(**data[name])
        for name in ("target_size_px", "target_aspect", "target_speed_px_s", "distractors", "ego_speed_px_s",
                     "shadow_depth"):
            if name in data:
                data[name] = tuple(data[name])
        return cls(**data)


def pick_condition(rng: np.random.Generator, config: SimConfig) -> str:
    if config.condition != "random":
        return config.condition
    if rng.random() < config.degraded_fraction:
        return DEGRADED_CONDITIONS[rng.integers(len(DEGRADED_CONDITIONS))]
    return "normal"


def davis_rngs(seed: int) -> dict[str, np.random.Generator]:
    """One generator per DAVIS option (:data:`_DAVIS_STREAMS`), from a seed sequence of their own:
    turning one option on changes no other random number."""
    children = np.random.SeedSequence([int(seed), DAVIS_SEED_TAG]).spawn(len(_DAVIS_STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(_DAVIS_STREAMS, children)}


def make_scene(rng: np.random.Generator, config: SimConfig, settings: CameraSettings,
               davis: dict[str, np.random.Generator] | None = None) -> Scene:
    """A random scene for ``config``: all randomness from ``rng``, except that of the DAVIS
    options, from ``davis`` (:func:`davis_rngs`; needed only when one of them is on). With the
    options off, ``rng`` draws exactly the same numbers as without them."""
    H, W = config.height, config.width
    if davis is None and (config.natural_sprite_prob or config.natural_texture_prob or config.photo_sprite_prob
                          or config.photo_texture_prob or config.ego_motion_prob or config.world_static_prob
                          or config.shadow_prob):
        raise ValueError("make_scene: the DAVIS options need their generators (davis=davis_rngs(seed))")
    duration = config.num_frames * config.frame_period_us * 1e-6
    smax = math.exp(config.scale_change)

    def random_object(size: float, aspect: float, palette=None) -> tuple[np.ndarray, np.ndarray]:
        wh = np.array([size * math.sqrt(aspect), size / math.sqrt(aspect)])
        # Sprites are drawn at 1.5x the largest on-screen size so that rendering mostly shrinks.
        res = np.maximum(4, np.round(wh * smax * 1.5)).astype(int)
        sprite = make_sprite(rng, int(res[1]), int(res[0]), palette)
        if config.natural_sprite_prob and davis["sprites"].random() < config.natural_sprite_prob:
            # The usual sprite is still drawn (same numbers from rng); only its texture changes.
            sprite[..., :3] = natural_texture(davis["sprites"], int(res[1]), int(res[0]), palette=palette)
        if config.photo_sprite_prob and davis["photo_sprites"].random() < config.photo_sprite_prob:
            sprite[..., :3] = photo_texture(davis["photo_sprites"], int(res[1]), int(res[0]))
        return sprite, wh

    def wobble_in_frame(wh: np.ndarray, speed: float) -> Wobble:
        room = np.array([W, H]) / 2 - wh * smax / 2 - 4
        room = np.maximum(room, 1.0)
        extent = room * rng.uniform(0.3, 1.0, 2)
        center = np.array([W, H]) / 2 + rng.uniform(-1, 1, 2) * (room - extent)
        return Wobble.random(rng, center, extent, speed)

    def log_scale() -> Wobble:
        amp = rng.uniform(0.0, config.scale_change)
        return Wobble.random(rng, [0.0], [amp], speed=amp * rng.uniform(0.3, 1.5), components=1)

    target_palette = random_palette(rng, 3)
    size = rng.uniform(*config.target_size_px)
    aspect = math.exp(rng.uniform(math.log(config.target_aspect[0]), math.log(config.target_aspect[1])))
    speed = rng.uniform(*config.target_speed_px_s) * settings.speed_factor
    sprite, wh = random_object(size, aspect, target_palette)
    target = SceneObject(sprite, wobble_in_frame(wh, speed), wh, log_scale())

    behind, front = [], []
    for _ in range(int(rng.integers(config.distractors[0], config.distractors[1] + 1))):
        similar = rng.random() < config.similar_distractor_prob
        palette = np.clip(target_palette + rng.normal(0, 0.08, (3, 3)), 0.02, 1) if similar else None
        d_size = size * rng.uniform(0.7, 1.3)
        d_sprite, d_wh = random_object(d_size, aspect * rng.uniform(0.8, 1.25), palette)
        obj = SceneObject(d_sprite, wobble_in_frame(d_wh, rng.uniform(*config.target_speed_px_s) * settings.speed_factor),
                          d_wh, log_scale())
        (front if rng.random() < 0.3 else behind).append(obj)
    occluder = None
    if rng.random() < config.occlusion_prob:
        t_occ = duration * rng.uniform(0.3, 0.8)
        o_size = size * rng.uniform(0.8, 1.5)
        o_sprite, o_wh = random_object(o_size, math.exp(rng.uniform(-0.7, 0.7)))
        angle = rng.uniform(0, 2 * np.pi)
        velocity = rng.uniform(60, 180) * np.array([math.cos(angle), math.sin(angle)])
        crossing = Crossing(target.box(t_occ)[:2] + target.box(t_occ)[2:] / 2, t_occ, velocity)
        occluder = SceneObject(o_sprite, crossing, o_wh, Wobble.random(rng, [0.0], [0.0], 0.0, components=1))
        front.append(occluder)
    layers = behind + [target] + front

    pan = config.camera_pan_px * rng.uniform(0, 1)
    camera = Wobble.random(rng, [0.0, 0.0], [pan, pan], config.camera_speed_px_s * rng.uniform(0, 1) * settings.speed_factor)
    zoom_amp = rng.uniform(0, config.camera_zoom)
    zoom = Wobble.random(rng, [0.0], [zoom_amp], zoom_amp * rng.uniform(0.2, 1.0), components=1)
    pan_room = config.camera_pan_px
    if config.ego_motion_prob:
        pan_room = max(pan_room, config.ego_pan_px)
        ego = davis["ego"]
        if ego.random() < config.ego_motion_prob:
            ego_pan = config.ego_pan_px * ego.uniform(0.5, 1.0)
            camera = Wobble.random(ego, [0.0, 0.0], [ego_pan, ego_pan],
                                   ego.uniform(*config.ego_speed_px_s) * settings.speed_factor)
    if config.world_static_prob:
        world = davis["world"]
        for i, obj in enumerate(layers):
            if obj is occluder or world.random() >= config.world_static_prob:
                continue
            layers[i] = SceneObject(obj.sprite, WorldLocked.at(obj.center(0.0), 0.0, camera, zoom, H, W),
                                    obj.base_size, ZoomScale(zoom, 0.0))
        if occluder is not None:   # the occluder still crosses the target where it now is
            c = occluder.center
            box = layers[len(behind)].box(c.t0)
            layers[-1] = dataclasses.replace(occluder, center=Crossing(box[:2] + box[2:] / 2, c.t0, c.velocity))
    margin = math.exp(config.camera_zoom)
    bg_h, bg_w = int(H * margin + 2 * pan_room + 8), int(W * margin + 2 * pan_room + 8)
    if config.photo_texture_prob and davis["photo_background"].random() < config.photo_texture_prob:
        background = photo_texture(davis["photo_background"], bg_h, bg_w)
    elif config.natural_texture_prob and davis["background"].random() < config.natural_texture_prob:
        background = natural_texture(davis["background"], bg_h, bg_w)
    else:
        background = make_background(rng, bg_h, bg_w)
    shadow = None
    if config.shadow_prob:
        shade = davis["shadow"]
        if shade.random() < config.shadow_prob:
            depth, cell, cover = shade.uniform(*config.shadow_depth), shade.uniform(40.0, 120.0), shade.uniform(0.3, 0.6)
            shadow = shadow_map(shade, bg_h, bg_w, depth, cell=cell, cover=cover)
    return Scene(H, W, background, camera, zoom, layers, len(behind), settings.illumination, shadow)


def visible_box(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """The part of ``[x, y, w, h]`` inside the image; zero size when nothing is inside.

    (Not the tracker's ``clip_box``, which keeps a margin of the box inside the image.)"""
    x1, y1 = max(0.0, box[0]), max(0.0, box[1])
    x2, y2 = min(float(width), box[0] + box[2]), min(float(height), box[1] + box[3])
    return np.array([x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1)])


class SyntheticSequence(Sequence):
    """One simulated sequence as an evaluation :class:`Sequence` (frames carry raw ``events``).

    Frame ``i`` is stamped ``(i + 1) * frame_period`` ns; its events cover ``[stamp_{i-1}, stamp_i)``
    (``[0, stamp_0)`` for frame 0), times in whole microseconds. Iterating twice gives identical
    frames. ``condition`` and ``settings`` tell how the RGB camera was degraded.
    """

    def __init__(self, seed: int, config: SimConfig | None = None):
        self.seed = int(seed)
        self.config = config or SimConfig()
        scene_seed, self._noise_seed, self._dvs_seed = np.random.SeedSequence([self.seed, 0x5EE0]).spawn(3)
        rng = np.random.default_rng(scene_seed)
        davis = davis_rngs(self.seed)
        self.condition = pick_condition(rng, self.config)
        self.settings = random_settings(rng, self.condition)
        self.scene = make_scene(rng, self.config, self.settings, davis)
        self.name = f"synthetic_{self.seed:06d}_{self.condition}"
        cfg = self.config
        #: The APS sensor this sequence's frames come from (None: the usual RGB camera).
        self.aps: ApsSensor | None = None
        if cfg.aps.prob and davis["aps"].random() < cfg.aps.prob:
            self.aps = ApsSensor.random(davis["aps"], cfg.aps, cfg.height, cfg.width)
        #: This sequence's event-camera parameters (``config.dvs``, or drawn by ``davis_dvs``).
        self.dvs_params = cfg.dvs
        if cfg.davis_dvs.prob and davis["dvs"].random() < cfg.davis_dvs.prob:
            self.dvs_params = cfg.davis_dvs.draw(davis["dvs"], cfg.dvs)
        self._aps_noise_rng_seed = davis["aps_noise"].bit_generator.seed_seq
        self._hot_seed = davis["hot_pixels"].bit_generator.seed_seq
        self.stamps_ns = (np.arange(1, cfg.num_frames + 1, dtype=np.int64) * cfg.frame_period_us * NS_PER_US)
        self._gt = np.stack([visible_box(self.scene.target_box(t * 1e-9), cfg.height, cfg.width) for t in self.stamps_ns])
        self.substeps = self._substeps()

    def __len__(self) -> int:
        return self.config.num_frames

    @property
    def gt_xywh(self) -> np.ndarray:
        return self._gt.copy()

    @property
    def degraded(self) -> bool:
        return self.condition != "normal"

    def _substeps(self) -> int:
        """Samples per frame interval: enough that nothing moves more than max_substep_motion_px."""
        cfg = self.config
        speed = max(float(obj.center.max_speed.max()) if isinstance(obj.center, (Wobble, WorldLocked))
                    else float(np.abs(obj.center.velocity).max()) for obj in self.scene.layers)
        speed += float(self.scene.camera.max_speed.max())
        per_frame = speed * cfg.frame_period_us * 1e-6
        return int(min(cfg.max_substeps, max(cfg.substeps, math.ceil(per_frame / cfg.max_substep_motion_px))))

    def frames(self) -> Iterator[Frame]:
        cfg, scene, k = self.config, self.scene, self.substeps
        noise_rng = np.random.default_rng(self._noise_seed if self.aps is None else self._aps_noise_rng_seed)
        dvs = None
        if cfg.events:
            base = self.dvs_params
            params = dataclasses.replace(base, noise_rate_hz=base.noise_rate_hz * self.settings.dvs_noise_factor)
            dvs = DvsSimulator(cfg.height, cfg.width, params, np.random.default_rng(self._dvs_seed),
                               hot_rng=np.random.default_rng(self._hot_seed))
            dvs.reset(log_intensity(scene.render(0.0), params.log_eps), 0)
        exposed = max(1, round(self.settings.exposure_fraction * k))   # samples inside the exposure
        period = cfg.frame_period_us
        for i, stamp_ns in enumerate(self.stamps_ns):
            start_us = i * period
            light = np.zeros((cfg.height, cfg.width, 3), np.float32)
            events = []
            for j in range(1, k + 1):
                t_us = start_us + (period * j) // k
                if dvs is None and j <= k - exposed:
                    continue
                radiance = scene.render(t_us * 1e-6)
                if dvs is not None:
                    events.append(dvs.step(log_intensity(radiance, dvs.params.log_eps), t_us * NS_PER_US))
                if j > k - exposed:
                    light += radiance
            rgb = expose_frame(light / exposed, self.settings, noise_rng, self.aps)
            ev = np.concatenate(events) if events else np.zeros(0, EVENT_DTYPE)
            yield Frame(index=i, stamp_ns=int(stamp_ns), rgb=rgb, events=ev, gt_xywh=self._gt[i].copy())


def benchmark_sequences(num_sequences: int = 20, seed_start: int = HELD_OUT_SEED_START,
                        config: SimConfig | None = None) -> list[SyntheticSequence]:
    """A held-out benchmark: sequence ``i`` has seed ``seed_start + i``; even ``i`` are ``normal``,
    odd ``i`` degraded, cycling through :data:`~.camera.DEGRADED_CONDITIONS` (so half the set,
    rounded down, has degraded RGB and every degradation is represented)."""
    config = config or SimConfig()
    out = []
    for i in range(num_sequences):
        condition = "normal" if i % 2 == 0 else DEGRADED_CONDITIONS[(i // 2) % len(DEGRADED_CONDITIONS)]
        out.append(SyntheticSequence(seed_start + i, config.replace(condition=condition)))
    return out
