"""Every threshold, factor and size of the tracker, in one validated dataclass."""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..fields import reject_unknown_fields


@dataclass(frozen=True)
class TrackerParams:
    """Tracker settings. Immutable; change them between frames with :meth:`replace` and
    ``Tracker.params = ...`` (they take effect on the next ``track`` call).

    Defaults reproduce the reference tracker (no template update). A checkpoint may recommend
    other values for its weights (:func:`with_recommended`; the packaged model: ``size_update_rate``
    0.3, ``still_event_density`` 0.02); the node and the evaluation tools apply them unless the
    user sets the field.

    - ``template_factor``: template crop side = factor x sqrt(w*h) of the box (reference 2.0).
    - ``search_factor``: search crop side = factor x sqrt(w*h) of the previous box (reference 4.0).
    - ``wider_search_factor``: search factor used while the failed-search count is at least
      ``failed_search_threshold`` (reference 6.0 = 4.0 x 1.5); must be >= ``search_factor``.
    - ``failed_search_threshold``: failed searches (frames with peak < ``peak_score_threshold``,
      minus one per confident frame) after which the wider search starts (reference 8).
    - ``peak_score_threshold``: a frame whose peak score is below this counts as a failed
      search and is reported as low confidence (reference 0.2).
    - ``clip_margin``: pixels of the box kept inside the image, also its minimum size (reference 10).
    - ``template_update_threshold``: replace the template when the confidence is at least this;
      1.0 or more disables the update (the default, as the reference tracker). The paper updates
      at 0.5 with its weights; with the packaged model an update at 0.5 loses long sequences
      (200-300 frames, held out, paired: DAVIS346-like SR -5.3 and -12.9, plain -2.6 with
      stage 11; -15.0 on the 300-frame set with stage 20; the update replaces the first frame's
      template, and a wrong crop stays), see docs/model_card.md.
    - ``template_update_interval``: at most one template update per this many frames (frames
      counted from the last template, the initial one included).
    - ``size_update_rate``: how far the box size follows the network each frame, in log space:
      ``size = previous * (predicted / previous) ** rate`` (centre as predicted). 1.0 (reference)
      takes the network's size; lower values damp size jitter (with the packaged model, 0.3 gave
      +8.5 SR over 1.0 on held-out DAVIS346-like small fast targets and was level on the other
      held-out sets, see docs/model_card.md, so that checkpoint recommends it; untested with the
      official weights).
    - ``still_event_density``: hold the box where the events say nothing moved: when fewer than
      this fraction of the pixels around the previous box and around the network's new one
      (each grown 1.5x) have events, and the frame has events elsewhere, the box stays (see
      :mod:`.stillness`). 0 disables it (the default, the reference). The packaged model's box
      wandered 5-10 px around a parked van of the real set (SR 59); at 0.02 it stays (SR 95; the
      real set 70.6 vs 61.5, held-out synthetic sets level or better, docs/model_card.md), so
      that checkpoint recommends 0.02. Set for event windows of about one frame interval (the
      default ``between_frames``); with much shorter windows a moving target leaves fewer events.
    - ``template_size`` / ``search_size``: patch sides in pixels fed to the network; ``None``
      takes them from the model's config (128 / 256 for the official models).
    """

    template_factor: float = 2.0
    search_factor: float = 4.0
    wider_search_factor: float = 6.0
    failed_search_threshold: int = 8
    peak_score_threshold: float = 0.2
    clip_margin: float = 10.0
    template_update_threshold: float = 1.0
    template_update_interval: int = 25
    size_update_rate: float = 1.0
    still_event_density: float = 0.0
    template_size: int | None = None
    search_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("template_factor", "search_factor", "wider_search_factor", "peak_score_threshold",
                     "clip_margin", "template_update_threshold", "size_update_rate", "still_event_density"):
            _check_number(name, getattr(self, name))
        for name in ("failed_search_threshold", "template_update_interval"):
            _check_int(name, getattr(self, name))
        for name in ("template_size", "search_size"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name))
        for name in ("template_factor", "search_factor", "wider_search_factor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TrackerParams.{name} must be > 0, got {getattr(self, name)}")
        if self.wider_search_factor < self.search_factor:
            raise ValueError(f"TrackerParams.wider_search_factor ({self.wider_search_factor}) must be >= "
                             f"search_factor ({self.search_factor}): it widens the search after failures")
        _check_at_least("failed_search_threshold", self.failed_search_threshold, 1)
        _check_at_least("template_update_interval", self.template_update_interval, 1)
        if not 0.0 <= self.peak_score_threshold <= 1.0:
            raise ValueError(f"TrackerParams.peak_score_threshold must be in [0, 1] (a sigmoid score), "
                             f"got {self.peak_score_threshold}")
        _check_at_least("clip_margin", self.clip_margin, 0)
        if not 0.0 < self.size_update_rate <= 1.0:
            raise ValueError(f"TrackerParams.size_update_rate must be in (0, 1] (1 = the network's size), "
                             f"got {self.size_update_rate}")
        if not 0.0 <= self.still_event_density <= 1.0:
            raise ValueError(f"TrackerParams.still_event_density must be in [0, 1] (a fraction of pixels; "
                             f"0 = never hold), got {self.still_event_density}")
        _check_at_least("template_update_threshold", self.template_update_threshold, 0,
                        hint=" (use 1.0 or more to disable the template update)")
        for name in ("template_size", "search_size"):
            if getattr(self, name) is not None:
                _check_at_least(name, getattr(self, name), 1)

    @property
    def template_update_enabled(self) -> bool:
        """False when ``template_update_threshold >= 1`` (scores never reach it)."""
        return self.template_update_threshold < 1.0

    def replace(self, **changes) -> "TrackerParams":
        """A copy with ``changes`` applied and validated; unknown names raise ``TypeError``."""
        reject_unknown_fields(type(self), changes, "TrackerParams", TypeError)
        return dataclasses.replace(self, **changes)


def parse_assignments(items: Iterable[str], option: str = "--param") -> dict:
    """``{"search_factor": 4.5}`` from command-line items such as ``"search_factor=4.5"``.

    Names are :class:`TrackerParams` fields (``-`` may stand for ``_``); values are numbers (ints
    for the int fields) or ``none`` for the optional patch sizes. Raises ``ValueError`` naming
    ``option``, the item and what was expected, or :class:`TrackerParams`' reason when the changes
    break its ranges (checked here, so tools fail before any work).
    """
    defaults = TrackerParams()
    fields = {f.name for f in dataclasses.fields(TrackerParams)}
    changes = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise ValueError(f"{option} {item!r}: expected NAME=VALUE with NAME one of {sorted(fields)}")
        if text.strip().lower() == "none":
            changes[name] = None
            continue
        try:
            changes[name] = int(text) if isinstance(getattr(defaults, name), int) or name.endswith("_size") else float(text)
        except ValueError:
            raise ValueError(f"{option} {name}: {text!r} is not a number") from None
    defaults.replace(**changes)
    return changes


def with_recommended(recommended: Mapping, changes: Mapping | None = None) -> TrackerParams:
    """The settings to track with: the defaults, then a checkpoint's ``recommended`` settings
    (``LoadedModel.tracker_settings``), then the user's ``changes``, which win.

    Raises ``ValueError`` naming the checkpoint's recommendation when it is not a valid
    TrackerParams change (an unknown name or a value out of range), and TrackerParams' own
    errors for bad ``changes``.
    """
    try:
        params = TrackerParams().replace(**recommended)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the checkpoint's recommended tracker settings {dict(recommended)} are invalid: {exc}") from None
    return params.replace(**(changes or {}))


def changed_fields(params: TrackerParams) -> dict:
    """``{field: value}`` where ``params`` differs from the defaults (reports, log lines)."""
    defaults = TrackerParams()
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)
            if getattr(params, f.name) != getattr(defaults, f.name)}


def _check_number(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"TrackerParams.{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"TrackerParams.{name} must be finite, got {value}")


def _check_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"TrackerParams.{name} must be an int, got {type(value).__name__} {value!r}")


def _check_at_least(name: str, value, low, hint: str = "") -> None:
    if value < low:
        raise ValueError(f"TrackerParams.{name} must be >= {low}, got {value}{hint}")
