"""The tracker node's parameters: one table of specs, declared with descriptors, validated.

Each :class:`ParamSpec` says name, default (its type is the parameter type), description, unit,
numeric range or allowed values, and whether it is read-only (a change needs a restart).
:func:`validate` checks one value against its spec and returns the reason when it is not
acceptable; rclpy applies the same ranges through the descriptors. Tracker settings map 1:1 onto
:class:`~fetrack_ros.tracking.TrackerParams`; cross-field rules (e.g. wider >= normal search
factor) come from that class, so there is one source for them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fetrack_ros.events.windows import WINDOW_SETTINGS, WindowSetting, window_policy_from_settings
from fetrack_ros.tracking import TrackerParams

EVENT_INPUTS = ("event_packet", "event_frames", "dvs_event_array", "prophesee_event_array")
EVENT_CLOCKS = ("auto", "header", "fixed")
QUEUE_POLICIES = ("newest", "oldest")
RELIABILITIES = ("best_effort", "reliable")
DURABILITIES = ("volatile", "transient_local")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter. ``default``'s Python type is the ROS type (list = double array)."""

    name: str
    default: object
    description: str
    read_only: bool = True
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    pattern: re.Pattern | None = None
    unit: str = ""

    @property
    def constraints(self) -> str:
        parts = []
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.low is not None:
            parts.append(f"range [{self.low}, {self.high}]" + (f" {self.unit}" if self.unit else ""))
        elif self.unit:
            parts.append(f"unit {self.unit}")
        if self.pattern is not None:
            parts.append(f"matches {self.pattern.pattern}")
        parts.append("read-only (restart to change)" if self.read_only else "dynamic")
        return "; ".join(parts)


def _qos(prefix: str, what: str, reliability: str, depth: int) -> list[ParamSpec]:
    return [
        ParamSpec(f"qos.{prefix}.reliability", reliability, f"QoS reliability of {what}", choices=RELIABILITIES),
        ParamSpec(f"qos.{prefix}.depth", depth, f"QoS history depth (KeepLast) of {what}", low=1, high=100000),
        ParamSpec(f"qos.{prefix}.durability", "volatile", f"QoS durability of {what}", choices=DURABILITIES),
    ]


def _window_spec(setting: WindowSetting) -> ParamSpec:
    return ParamSpec(setting.name, setting.default, setting.description, low=setting.low, high=setting.high,
                     choices=setting.choices, unit=setting.unit)


#: Event-window settings (read-only), declared from their one description in events/windows.py.
WINDOW_SPECS = [_window_spec(setting) for setting in WINDOW_SETTINGS]

_TRACKER_DEFAULTS = TrackerParams()


def _tracker_spec(name: str, description: str, **limits) -> ParamSpec:
    """A dynamic tracker parameter: its default is TrackerParams' (one default per setting)."""
    return ParamSpec(name, getattr(_TRACKER_DEFAULTS, name), description, read_only=False, **limits)


#: Tracker settings, dynamic (they apply from the next frame); names and defaults as in TrackerParams.
TRACKER_SPECS = [
    _tracker_spec("template_update_threshold",
                  "Replace the template when a frame's confidence reaches this; 1.0 disables the update "
                  "(default: the packaged model tracks long sequences better without it; the paper uses 0.5)",
                  low=0.0, high=1.0),
    _tracker_spec("template_update_interval",
                  "At most one template update per this many frames", low=1, high=1_000_000,
                  unit="frames"),
    _tracker_spec("peak_score_threshold",
                  "A frame whose peak score is below this is low-confidence and counts as a failed search",
                  low=0.0, high=1.0),
    _tracker_spec("failed_search_threshold",
                  "Failed searches after which the wider re-detection search starts (status lost)",
                  low=1, high=1_000_000, unit="frames"),
    _tracker_spec("search_factor", "Search crop side as a multiple of sqrt(w*h) of the previous box",
                  low=0.5, high=20.0),
    _tracker_spec("wider_search_factor", "Search factor of the re-detection (lost) state; >= search_factor",
                  low=0.5, high=20.0),
    _tracker_spec("template_factor", "Template crop side as a multiple of sqrt(w*h) of the box",
                  low=0.5, high=20.0),
    _tracker_spec("size_update_rate",
                  "How far the box size follows the network each frame, in log space; 1.0 = fully (reference), "
                  "lower damps size jitter (the packaged model recommends 0.3)", low=0.01, high=1.0),
    _tracker_spec("still_event_density",
                  "Keep the box where it was when fewer than this fraction of the pixels around it (and around "
                  "the network's new box) have events while the frame has events elsewhere and its event window "
                  "is complete: nothing moved there, so the network's shift is jitter; 0.0 = never (reference)", low=0.0, high=1.0),
    _tracker_spec("clip_margin", "Pixels of the box kept inside the image (also its minimum size)",
                  low=0.0, high=10000.0, unit="px"),
]

SPECS: list[ParamSpec] = [
    # -- model and runtime
    ParamSpec("checkpoint", "", "Weights file (official .pth.tar, state dict, or this project's "
              "checkpoint); empty = the packaged default model"),
    ParamSpec("model", "auto", "Network configuration: auto = the one the checkpoint stores or whose "
              "weights it holds; vim_s / vim_t = that network (the checkpoint must fit it)",
              choices=("auto", "vim_s", "vim_t")),
    ParamSpec("model_depth", 0, "Number of backbone layers; 0 = the checkpoint's (auto) or the "
              "configuration's own (24)", low=0, high=64),
    ParamSpec("device", "auto", "Inference device: auto (cuda when available), cpu, cuda, cuda:N",
              pattern=DEVICE_PATTERN),
    ParamSpec("precision", "fp32", "Inference precision (fp16/bf16 only on cuda)", choices=("fp32", "fp16", "bf16")),
    ParamSpec("scan_backend", "auto", "Selective-scan implementation", choices=("auto", "cuda", "torch", "reference")),
    ParamSpec("cpu_threads", 0, "Torch threads for CPU inference; 0 = torch's default (one per core). On a "
              "computer shared with other nodes fewer threads are often faster: busy-waiting OpenMP threads "
              "compete for the cores", low=0, high=256),
    # -- inputs
    ParamSpec("event_input", "event_packet", "Event input: event_camera_msgs/EventPacket on topic events "
              "(evt3, mono), pre-rendered event frames (sensor_msgs/Image) on event_frames, or legacy "
              "dvs_msgs / prophesee_event_msgs EventArray on events", choices=EVENT_INPUTS),
    ParamSpec("image_transport", "raw", "RGB input: raw = sensor_msgs/Image on topic image, compressed = "
              "sensor_msgs/CompressedImage on image/compressed", choices=("raw", "compressed")),
    *WINDOW_SPECS,
    ParamSpec("event_clock", "auto", "Mapping of event times to image time: header = estimated from "
              "EventPacket header stamps; fixed = event_clock_offset_ns; auto = header for EventPacket "
              "input, fixed for legacy arrays (their times are ROS time)", choices=EVENT_CLOCKS),
    ParamSpec("event_clock_offset_ns", 0, "Image time minus event time (ns) when event_clock is fixed",
              low=-(2 ** 62), high=2 ** 62, unit="ns"),
    ParamSpec("max_wait", 0.1, "Longest an image waits for the event stream to pass its window end "
              "(or for its event frame); then it is processed with what arrived", low=0.0, high=10.0, unit="s"),
    ParamSpec("event_frame_tolerance", 0.005, "event_frames input: largest stamp difference of a matched "
              "event frame", low=0.0, high=1.0, unit="s"),
    ParamSpec("event_buffer_span", 0.5, "Events kept in the buffer (time span); must exceed the longest event "
              "window plus max_wait", low=0.01, high=60.0, unit="s"),
    ParamSpec("max_buffered_events", 10_000_000, "Events kept in the buffer (count)", low=1000, high=1_000_000_000),
    ParamSpec("renderer", "ahu", "Event-frame rendering fed to the network (ahu: the Event-AHU "
              "colours the official weights were trained on)", choices=("ahu",)),
    ParamSpec("queue_size", 1, "Images waiting for inference", low=1, high=1000),
    ParamSpec("queue_policy", "newest", "When the model is slower than the camera: newest = a new image "
              "replaces the oldest waiting one; oldest = new images are dropped while the queue is full",
              choices=QUEUE_POLICIES),
    *_qos("image", "the RGB image subscription", "best_effort", 5),
    *_qos("events", "the event subscription", "best_effort", 1000),
    *_qos("event_frames", "the event-frame subscription", "best_effort", 5),
    *_qos("output", "the published topics", "reliable", 10),
    # -- target and outputs
    ParamSpec("initial_box", [0.0], "Initial target [x, y, w, h] (px) applied to the first image; "
              "[] or [0.0] = wait for ~/set_target"),
    ParamSpec("publish_debug_image", True, "Publish ~/debug_image and ~/event_frame (rendered only when "
              "someone subscribes)", read_only=False),
    ParamSpec("diagnostics_period", 1.0, "Period of /diagnostics", low=0.01, high=60.0, unit="s"),
    ParamSpec("autostart", True, "Configure and activate the lifecycle node at start-up"),
    *TRACKER_SPECS,
]

SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
TRACKER_PARAM_NAMES = tuple(spec.name for spec in TRACKER_SPECS)


def validate(name: str, value) -> str | None:
    """``None`` when ``value`` is acceptable for parameter ``name``, else the reason."""
    spec = SPEC_BY_NAME.get(name)
    if spec is None:
        return None  # not ours (e.g. use_sim_time): rclpy checks it
    expected = type(spec.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is list:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) for v in value):
            return f"{name} must be a list of numbers, got {value!r}"
    elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return f"{name} must be a {expected.__name__}, got {type(value).__name__} {value!r}"
    if expected is float and not math.isfinite(value):
        return f"{name} must be finite, got {value}"
    if spec.low is not None and not spec.low <= value <= spec.high:
        return f"{name}={value} is outside [{spec.low}, {spec.high}]" + (f" {spec.unit}" if spec.unit else "")
    if spec.choices is not None and value not in spec.choices:
        return f"{name}={value!r} is not one of {', '.join(spec.choices)}"
    if spec.pattern is not None and not spec.pattern.match(value):
        return f"{name}={value!r} does not match {spec.pattern.pattern}"
    if name == "initial_box":
        return _box_reason(value)
    return None


def as_declared_type(name: str, value):
    """``value`` as the declared type when it is an integer for a double parameter (or a list of
    integers for a double array), else ``value`` unchanged (validation reports other mismatches).

    ROS types ``1`` and ``[10, 20, 30, 40]`` as integers, and rclpy refuses an integer for a
    double parameter, so ``ros2 param set ... template_update_threshold 1`` or
    ``-p initial_box:=[10,20,30,40]`` would fail on the type alone.
    """
    spec = SPEC_BY_NAME.get(name)
    if spec is None:
        return value
    if isinstance(spec.default, float) and _is_int(value):
        return float(value)
    if isinstance(spec.default, list) and isinstance(value, (list, tuple)) and len(value) \
            and all(_is_int(v) for v in value):
        return [float(v) for v in value]
    return value


def as_declared_types(params: list) -> list:
    """rclpy pre-set-parameters callback: :func:`as_declared_type` on each rclpy ``Parameter``
    (so ``ros2 param set`` with an integer for a double is accepted, as the double)."""
    from rclpy.parameter import Parameter

    out = []
    for param in params:
        value = as_declared_type(param.name, param.value)
        out.append(param if value is param.value else Parameter(param.name, value=value))
    return out


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _box_reason(box) -> str | None:
    if len(box) == 0 or list(box) == [0.0]:
        return None
    if len(box) != 4:
        return f"initial_box must be [x, y, w, h] (4 numbers) or [], got {len(box)} values"
    if not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
        return f"initial_box must be finite with w, h > 0, got {list(box)}"
    return None


def initial_box(value) -> list[float] | None:
    """The configured initial box, or None when none is set."""
    return None if len(value) == 0 or list(value) == [0.0] else [float(v) for v in value]


def tracker_params(values: dict) -> TrackerParams:
    """TrackerParams from parameter values (names in :data:`TRACKER_PARAM_NAMES`); raises ValueError."""
    return TrackerParams(**{name: values[name] for name in TRACKER_PARAM_NAMES})


def check_tracker_change(current: dict, changes: dict) -> tuple[TrackerParams | None, str | None]:
    """Validate a change of tracker settings as a whole: (new params, None) or (None, reason)."""
    merged = {**current, **{k: v for k, v in changes.items() if k in TRACKER_PARAM_NAMES}}
    merged = {k: float(v) if isinstance(SPEC_BY_NAME[k].default, float) else v for k, v in merged.items()}
    try:
        return tracker_params(merged), None
    except (TypeError, ValueError) as exc:
        return None, str(exc)


def window_policy(values: dict):
    """The :class:`~fetrack_ros.events.WindowPolicy` for parameter values (the node's and
    ``fetrack eval --live``'s; defaults where a window parameter is missing)."""
    return window_policy_from_settings(values)


def params_yaml() -> str:
    """``config/tracker.yaml``: every parameter with its default and a comment (the test keeps the
    file equal to this, so the file and the declarations cannot drift apart). The tracker settings
    are written commented out: any value in a params file counts as the user's and would replace
    the settings a checkpoint recommends for its weights."""
    import textwrap

    lines = ["# fetrack_ros tracker_node parameters, with their defaults. Load with:",
             "#   ros2 run fetrack_ros tracker_node --ros-args --params-file config/tracker.yaml",
             "#   ros2 launch fetrack_ros tracker.launch.py params_file:=<this file>",
             "# 'read-only' parameters need a restart; 'dynamic' ones can be changed at runtime",
             "# (ros2 param set /tracker_node template_update_threshold 0.5) and apply from the next frame.",
             "# Doubles are written with a decimal point (0.0); tracker_node also accepts an integer (0).",
             "# Generated by fetrack_ros.node.parameters.params_yaml().",
             "/**:", "  ros__parameters:"]
    opened: set[str] = set()
    for spec in SPECS:
        parts = spec.name.split(".")
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            if prefix not in opened:
                opened.add(prefix)
                lines.append("    " + "  " * (depth - 1) + parts[depth - 1] + ":")
        indent = "    " + "  " * (len(parts) - 1)
        tracker_setting = spec.name in TRACKER_PARAM_NAMES
        if spec.name == TRACKER_PARAM_NAMES[0]:
            lines += [f"{indent}# {line}" for line in textwrap.wrap(
                "Tracker settings, commented out: a checkpoint may recommend values for its weights (the "
                "packaged model: size_update_rate 0.3, still_event_density 0.02), and a value set here "
                "replaces them. Uncomment a line to choose your own.", 100 - len(indent) - 2)]
        comment = f"{spec.description}{f' [{spec.unit}]' if spec.unit else ''}. {spec.constraints[:1].upper()}{spec.constraints[1:]}."
        lines += [f"{indent}# {line}" for line in textwrap.wrap(comment, 100 - len(indent) - 2)]
        lines.append(f"{indent}{'# ' if tracker_setting else ''}{parts[-1]}: {_yaml_value(spec.default)}")
    return "\n".join(lines) + "\n"


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(repr(float(v)) for v in value) + "]"
    return repr(value)
