"""Which events belong to an image: window policies mapping an image stamp to ``[t0, t1)``.

All times are int64 ns. Image stamps are in the image clock (ROS time); the returned window is
in the event clock: ``t_event = t_image + event_offset_ns``. Use :class:`ClockOffsetEstimator`
(:mod:`.clock`) to map sensor time to ROS time first, or set ``event_offset_ns`` by hand.

Policies for an image stamped ``t``:

* ``between_frames`` (default): ``[t_prev, t)``, the previous image's stamp to this one; the first
  image (or one after a backward jump) uses ``[t - duration_ns, t)``. When ``max_duration_ns``
  is set the window is cut to at most that length (ending at ``t``).
* ``fixed``: ``[t - duration_ns, t)``.
* ``exposure``: ``[t + exposure_offset_ns, t + exposure_offset_ns + exposure_ns)``: the sensor's
  exposure. With stamps at the start of exposure use offset 0, at its end ``-exposure_ns``, at
  its middle ``-exposure_ns // 2``.

The user-facing settings of a policy (the node's parameters, the command line's options) are
described once, in :data:`WINDOW_SETTINGS`: name, unit, default, range or choices, description;
:func:`window_policy_from_settings` builds the policy from their values.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

WINDOW_POLICIES = ("between_frames", "fixed", "exposure")


@dataclass(frozen=True)
class WindowSetting:
    """One user-facing setting of the event window, in its user-facing unit.

    ``name`` is the tracker node's parameter name (public API) and the key of
    :func:`window_policy_from_settings`; ``unit`` is ``"s"`` for times, ``""`` for a choice;
    ``option`` is the command-line option's stem (``fetrack eval`` / ``convert`` add the unit they
    show, ``--<option>-ms``); ``field`` is the :class:`WindowPolicy` field the value sets.
    """

    name: str
    field: str
    default: float | str
    description: str
    option: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def check(self, value) -> str | None:
        """``None`` when ``value`` is acceptable, else the reason."""
        if self.choices is not None:
            return None if value in self.choices else f"{self.name}={value!r} is not one of {', '.join(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{self.name} must be a finite number ({self.unit}), got {value!r}"
        if not self.low <= value <= self.high:
            return f"{self.name}={value} is outside [{self.low}, {self.high}] {self.unit}"
        return None


#: Every user-facing window setting, in the node's parameter order. The node declares them as
#: parameters (:mod:`fetrack_ros.node.parameters`), ``fetrack eval`` / ``convert`` as options
#: (:mod:`fetrack_ros.cli.source_args`); a new setting or default is added here only.
WINDOW_SETTINGS: tuple[WindowSetting, ...] = (
    WindowSetting("window_policy", "kind", "between_frames", "Which events belong to an image: between_frames = "
                  "previous image stamp to this one; fixed = window_duration before the stamp; exposure = "
                  "[stamp + exposure_offset, + exposure_time)", option="window-policy", choices=WINDOW_POLICIES),
    WindowSetting("window_duration", "duration_ns", 0.033, "Fixed window length, and the first between_frames "
                  "window", option="window-duration", unit="s", low=1e-6, high=10.0),
    WindowSetting("window_max_duration", "max_duration_ns", 0.0, "Cap of a between_frames window; 0 = no cap",
                  option="window-max-duration", unit="s", low=0.0, high=10.0),
    WindowSetting("exposure_time", "exposure_ns", 0.01, "Exposure policy: window length", option="exposure",
                  unit="s", low=1e-6, high=10.0),
    WindowSetting("exposure_offset", "exposure_offset_ns", 0.0, "Exposure policy: window start relative to the "
                  "image stamp", option="exposure-offset", unit="s", low=-10.0, high=10.0),
)
WINDOW_SETTING_BY_NAME = {setting.name: setting for setting in WINDOW_SETTINGS}


def seconds_to_ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def window_policy_from_settings(values: Mapping[str, object], *, event_offset_ns: int = 0) -> WindowPolicy:
    """The :class:`WindowPolicy` for user-facing setting values (names and units of
    :data:`WINDOW_SETTINGS`; a missing name takes its default, other keys are ignored, so the
    node's whole parameter dict can be passed). Raises ValueError naming a value out of range."""
    fields: dict[str, object] = {}
    for setting in WINDOW_SETTINGS:
        value = values.get(setting.name, setting.default)
        reason = setting.check(value)
        if reason:
            raise ValueError(f"event window: {reason}")
        fields[setting.field] = value if setting.choices is not None else seconds_to_ns(value)
    fields["max_duration_ns"] = fields["max_duration_ns"] or None  # 0 = no cap
    return WindowPolicy(**fields, event_offset_ns=event_offset_ns)


def _default_ns(name: str) -> int:
    return seconds_to_ns(WINDOW_SETTING_BY_NAME[name].default)


@dataclass
class WindowPolicy:
    """Maps image stamps to event windows; stateful only for ``between_frames``.

    Field defaults are those of :data:`WINDOW_SETTINGS`, in ns."""

    kind: str = WINDOW_SETTING_BY_NAME["window_policy"].default
    duration_ns: int = _default_ns("window_duration")          # fixed windows, and the first between_frames window
    max_duration_ns: int | None = _default_ns("window_max_duration") or None  # optional cap for between_frames
    exposure_ns: int = _default_ns("exposure_time")            # exposure policy: window length
    exposure_offset_ns: int = _default_ns("exposure_offset")   # exposure policy: window start relative to the stamp
    event_offset_ns: int = 0               # t_event = t_image + event_offset_ns

    def __post_init__(self) -> None:
        if self.kind not in WINDOW_POLICIES:
            raise ValueError(f"window policy kind {self.kind!r} is unknown; expected one of {WINDOW_POLICIES}")
        for name in ("duration_ns", "exposure_ns"):
            if getattr(self, name) <= 0:
                raise ValueError(f"window policy {name} must be > 0 ns, got {getattr(self, name)}")
        if self.max_duration_ns is not None and self.max_duration_ns <= 0:
            raise ValueError(f"window policy max_duration_ns must be > 0 ns or None, got {self.max_duration_ns}")
        self._previous_stamp: int | None = None
        self.backward_stamps = 0  # image stamps not after the previous one (between_frames)

    def reset(self) -> None:
        """Forget the previous image stamp (e.g. after a bag restarts)."""
        self._previous_stamp = None

    def window(self, stamp_ns: int) -> tuple[int, int]:
        """The event-clock window ``(t0, t1)``, half-open, for an image stamped ``stamp_ns``."""
        t = int(stamp_ns)
        if self.kind == "fixed":
            t0, t1 = t - self.duration_ns, t
        elif self.kind == "exposure":
            t0 = t + self.exposure_offset_ns
            t1 = t0 + self.exposure_ns
        else:
            previous, self._previous_stamp = self._previous_stamp, t
            if previous is not None and previous >= t:
                self.backward_stamps += 1
                previous = None
            t0 = t - self.duration_ns if previous is None else previous
            if self.max_duration_ns is not None:
                t0 = max(t0, t - self.max_duration_ns)
            t1 = t
        return t0 + self.event_offset_ns, t1 + self.event_offset_ns
