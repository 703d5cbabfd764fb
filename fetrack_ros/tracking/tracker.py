"""The tracker: one initial box, then one box per RGB + event frame pair.

One tracking step (the reference tracker, plus the paper's template update):

1. search crop around the previous box (``search_factor``, or ``wider_search_factor`` while the
   failed-search count is at least ``failed_search_threshold``), zero padding, bilinear resize;
2. normalization on the model's device, network forward with the current template;
3. box from the Hann-windowed score map, mapped back around the previous centre, its size
   damped (``size_update_rate``, 1 = off), clipped to the image (``clip_margin``); the previous
   box kept instead where the event frame shows nothing moved (``still_event_density``, 0 = off;
   never on a frame whose event window is known to be incomplete);
4. failed-search counter from the peak of the **unwindowed** score map (the confidence);
5. template update when the confidence allows it (see :func:`template_update_due`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import torch

from .crop import CropGeometry, crop_geometry, crop_patch
from .decode import clip_box, damp_size, decode_box, hann2d, map_box_back, next_failure_count
from .inputs import check_box, check_image, match_event_frame
from .normalize import PatchNormalizer
from .params import TrackerParams
from .stillness import is_still

#: Patch sides of the official models, used when neither the params nor the model's config say.
DEFAULT_TEMPLATE_SIZE = 128
DEFAULT_SEARCH_SIZE = 256


class TrackStatus(str, enum.Enum):
    """How much to trust a frame's box.

    - ``lost``: the failed-search count (after this frame) is at least ``failed_search_threshold``:
      the next frame is searched with ``wider_search_factor``; takes precedence over the others;
    - ``low_confidence``: the peak score is below ``peak_score_threshold`` (a failed search);
    - ``tracking``: otherwise.
    """

    TRACKING = "tracking"
    LOW_CONFIDENCE = "low_confidence"
    LOST = "lost"


@dataclass(frozen=True)
class TrackResult:
    """Outcome of one :meth:`Tracker.track` call.

    ``box``: ``(x, y, w, h)`` float pixels in the RGB image; ``confidence``: peak of the
    unwindowed score map in [0, 1]; ``search_factor``: the factor this frame's search crop used;
    ``failed_search_count``: the counter after this frame; ``frame_index``: 1 for the first
    tracked frame after ``initialize``; ``held_still``: the box was kept where it was because no
    events fell around it (``still_event_density``).
    """

    frame_index: int
    box: tuple[float, float, float, float]
    confidence: float
    status: TrackStatus
    template_updated: bool
    search_factor: float
    failed_search_count: int
    held_still: bool = False


@dataclass(frozen=True)
class SearchStep:
    """What :meth:`Tracker.prepare` made for one frame: the search crop and its network inputs."""

    frame_index: int
    rgb: np.ndarray
    events: np.ndarray          # the event frame at the RGB size
    geometry: CropGeometry
    search_factor: float
    wide: bool                  # searched with the wider factor
    search: torch.Tensor        # (2,3,S,S): RGB, event, normalized, on the model's device
    events_complete: bool = True  # False: the event window was cut short (the still rule stays off)

    @property
    def network_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(search_rgb, search_event)``, each (1,3,S,S)."""
        return self.search[0:1], self.search[1:2]


def template_update_due(params: TrackerParams, confidence: float, frames_since_template: int,
                        wider_search: bool) -> bool:
    """The template-update rule.

    Update when it is enabled (``template_update_threshold < 1``), the confidence reaches
    ``template_update_threshold``, at least ``template_update_interval`` frames passed since the
    current template was taken (initial one included), and the tracker is not in the
    wider-search state (``wider_search``: this frame was searched wide, or the failed-search
    count after it calls for a wide search).
    """
    return (params.template_update_enabled and not wider_search
            and confidence >= params.template_update_threshold
            and frames_since_template >= params.template_update_interval)


class Tracker:
    """Single-object RGB + event tracker around a FEMamba network.

    ``model(template_rgb, template_event, search_rgb, search_event)`` must return a dict with
    ``score_map`` (1,1,n,n), ``size_map`` and ``offset_map`` (1,2,n,n). The model is put in eval
    mode; inputs are prepared on its device and in its dtype.

    Images are ``H x W x 3`` uint8 RGB. Event frames are rendered images of the same kind; one of
    another size is resized to the RGB size (see :func:`~fetrack_ros.tracking.inputs.match_event_frame`).
    Params may be replaced between frames (``tracker.params = tracker.params.replace(...)``);
    they apply from the next call. Changing ``template_factor`` affects the next template taken.
    """

    def __init__(self, model: torch.nn.Module, params: TrackerParams | None = None):
        self.model = model.eval()
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        self._normalize = PatchNormalizer(device, dtype)
        self._windows: dict[int, torch.Tensor] = {}
        self._model_sizes = _model_patch_sizes(model)
        self._box: list[float] | None = None
        self._template: torch.Tensor | None = None   # (2,3,T,T): RGB, event
        self.params = params if params is not None else TrackerParams()
        self._frame_index = 0
        self._template_frame = 0
        self._failed = 0
        self._pending: SearchStep | None = None

    # -- settings -------------------------------------------------------------------------
    @property
    def params(self) -> TrackerParams:
        return self._params

    @params.setter
    def params(self, params: TrackerParams) -> None:
        if not isinstance(params, TrackerParams):
            raise TypeError(f"params must be a TrackerParams, got {type(params).__name__}")
        sizes = []
        for name, model_value, default in zip(("template_size", "search_size"), self._model_sizes,
                                              (DEFAULT_TEMPLATE_SIZE, DEFAULT_SEARCH_SIZE)):
            value = getattr(params, name)
            if value is not None and model_value is not None and value != model_value:
                raise ValueError(f"TrackerParams.{name}={value} but the model was built for {model_value}; "
                                 f"leave it None to use the model's size")
            sizes.append(value if value is not None else model_value if model_value is not None else default)
        if self._template is not None and sizes[0] != self._template.shape[-1]:
            raise ValueError(f"cannot change template_size to {sizes[0]} while tracking with a "
                             f"{self._template.shape[-1]} px template; call initialize() again")
        self._template_size, self._search_size = sizes
        self._params = params

    @property
    def template_size(self) -> int:
        return self._template_size

    @property
    def search_size(self) -> int:
        return self._search_size

    # -- state ----------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return self._box is not None

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The current box ``(x, y, w, h)`` in pixels, ``None`` before :meth:`initialize`."""
        return None if self._box is None else tuple(self._box)

    @property
    def frame_index(self) -> int:
        return self._frame_index

    @property
    def failed_search_count(self) -> int:
        return self._failed

    # -- tracking -------------------------------------------------------------------------
    def initialize(self, rgb: np.ndarray, event_frame: np.ndarray, box) -> None:
        """Start tracking ``box`` (``[x, y, w, h]`` pixels) in this frame pair; resets all state."""
        rgb = check_image(rgb, "rgb")
        events = match_event_frame(check_image(event_frame, "event_frame"), rgb.shape[:2])
        box = check_box(box, rgb.shape[:2])
        self._template = self._crop_template(rgb, events, box)
        self._box = box
        self._frame_index = 0
        self._template_frame = 0
        self._failed = 0
        self._pending = None

    def track(self, rgb: np.ndarray, event_frame: np.ndarray, events_complete: bool = True) -> TrackResult:
        """Locate the target in the next frame pair and return the result (state is updated).

        ``events_complete``: False when the event frame holds only part of its window (a live
        stream that had not reached the window's end, the node's ``EVENT_WINDOW_INCOMPLETE``):
        missing events then do not mean that nothing moved, so the box is never held still.
        """
        step = self.prepare(rgb, event_frame, events_complete)
        with torch.inference_mode():
            outputs = self.model(*self.template_inputs, *step.network_inputs)
        return self.complete(step, outputs)

    def prepare(self, rgb: np.ndarray, event_frame: np.ndarray, events_complete: bool = True) -> SearchStep:
        """First half of :meth:`track`: checks and the normalized search patches on the model's device.

        With :meth:`complete` this lets a caller run (and time) the network itself:
        ``outputs = model(*tracker.template_inputs, *step.network_inputs)``.
        """
        if self._box is None:
            raise RuntimeError("Tracker.track()/prepare() called before initialize(): give the first frame and box")
        rgb = check_image(rgb, "rgb")
        events = match_event_frame(check_image(event_frame, "event_frame"), rgb.shape[:2])
        wide = self._failed >= self._params.failed_search_threshold
        factor = self._params.wider_search_factor if wide else self._params.search_factor
        geo = crop_geometry(self._box, factor, self._search_size, rgb.shape[:2])
        search = self._normalize(crop_patch(rgb, geo, self._search_size), crop_patch(events, geo, self._search_size))
        self._pending = SearchStep(frame_index=self._frame_index + 1, rgb=rgb, events=events, geometry=geo,
                                   search_factor=factor, wide=wide, search=search,
                                   events_complete=bool(events_complete))
        return self._pending

    def complete(self, step: SearchStep, outputs: dict) -> TrackResult:
        """Second half of :meth:`track`: decode the network ``outputs`` for ``step`` and update the state."""
        if step is not self._pending:
            raise RuntimeError("this search step is stale (initialize(), prepare() or track() ran after it); "
                               "complete() takes the step of the latest prepare()")
        self._pending = None
        p = self._params
        geo = step.geometry
        with torch.inference_mode():
            score = outputs["score_map"].float()
            box_n, _, peak = decode_box(score, outputs["size_map"].float(), outputs["offset_map"].float(),
                                        self._window(score.shape[-1], score.device))
            # Scaled to image pixels in float32 as the reference; one device->host sync.
            *box_px, confidence = torch.cat([box_n * self._search_size / geo.resize_factor,
                                             peak.reshape(1)]).tolist()
        if not np.isfinite(box_px + [confidence]).all():
            raise RuntimeError(f"the network returned non-finite outputs (box {box_px}, peak {confidence}); "
                               f"tracker state left at frame {self._frame_index}")
        image_hw = step.rgb.shape[:2]
        new_box = map_box_back(box_px, self._box, self._search_size, geo.resize_factor)
        new_box = clip_box(damp_size(new_box, self._box, p.size_update_rate), image_hw, p.clip_margin)
        held = step.events_complete and is_still(step.events, self._box, new_box, p.still_event_density)
        new_box = [float(v) for v in (self._box if held else new_box)]
        failed = next_failure_count(self._failed, confidence, p.peak_score_threshold)
        lost = failed >= p.failed_search_threshold
        update = template_update_due(p, confidence, step.frame_index - self._template_frame, step.wide or lost)
        if update:
            self._template = self._crop_template(step.rgb, step.events, new_box)
            self._template_frame = step.frame_index
        self._box, self._failed, self._frame_index = new_box, failed, step.frame_index
        status = (TrackStatus.LOST if lost else
                  TrackStatus.LOW_CONFIDENCE if confidence < p.peak_score_threshold else TrackStatus.TRACKING)
        return TrackResult(frame_index=step.frame_index, box=tuple(new_box), confidence=confidence, status=status,
                           template_updated=update, search_factor=step.search_factor, failed_search_count=failed,
                           held_still=held)

    @property
    def template_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The current template as network inputs ``(rgb, event)``, each (1,3,T,T) on the model's device."""
        if self._template is None:
            raise RuntimeError("no template before initialize()")
        return self._template[0:1], self._template[1:2]

    # -- helpers --------------------------------------------------------------------------
    def _crop_template(self, rgb: np.ndarray, events: np.ndarray, box) -> torch.Tensor:
        geo = crop_geometry(box, self._params.template_factor, self._template_size, rgb.shape[:2])
        return self._normalize(crop_patch(rgb, geo, self._template_size),
                               crop_patch(events, geo, self._template_size))

    def _window(self, n: int, device: torch.device) -> torch.Tensor:
        if n not in self._windows:
            # Built on the CPU like the reference's, so the window is bit-identical on any device.
            self._windows[n] = hann2d(n).to(device)
        return self._windows[n]


def _model_patch_sizes(model) -> tuple[int | None, int | None]:
    """(template, search) patch sides from ``model.config`` when it states them."""
    config = getattr(model, "config", None)
    if config is None:
        return None, None

    def get(name):
        value = config.get(name) if isinstance(config, dict) else getattr(config, name, None)
        return int(value) if value is not None else None

    return get("template_size"), get("search_size")
