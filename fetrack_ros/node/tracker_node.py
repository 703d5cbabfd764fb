"""``tracker_node``: the Mamba-FETrack V2 RGB + event tracker as a managed (lifecycle) ROS 2 node.

Run: ``ros2 run fetrack_ros tracker_node --ros-args --params-file config/tracker.yaml`` or
``python -m fetrack_ros.node.tracker_node --ros-args -p checkpoint:=weights.pth.tar``.

Topics (relative names: remap them): subscribes ``image`` (sensor_msgs/Image) or
``image/compressed``, and ``events`` (EventPacket / legacy EventArray) or ``event_frames``
(sensor_msgs/Image); publishes ``~/track`` (fetrack_ros/Track, header = the image's),
``~/confidence``, ``~/debug_image`` and ``~/event_frame`` (only while subscribed),
``~/detections`` (vision_msgs, when installed) and ``/diagnostics``. Services ``~/set_target``
(fetrack_ros/SetTarget) and ``~/reset`` (std_srvs/Trigger).

Threads: the executor thread runs the callbacks. Event packets arrive serialized (``raw=True``:
no Python message is built) and each wake-up takes every packet queued on the subscription, so
the intake keeps up with a driver's 1 kHz packets while inference runs; the pairing of images
with their events is :class:`~fetrack_ros.sync.FrameAssembler`'s (shared with the bag reader).
One worker thread converts, renders, runs the tracker and publishes. Between them is a bounded
queue (``queue_size``, ``queue_policy``: newest wins by default). Every image ends as one Track
or under a named ``dropped.*`` reason on ``/diagnostics``.

Lifecycle: configure loads the model and creates the interfaces, activate starts processing;
with ``autostart`` (default) the node configures and activates itself.
"""
from __future__ import annotations

import ctypes
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import rclpy
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType,
                                SetParametersResult)
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float32
from std_srvs.srv import Trigger

from fetrack_ros.events import EventBuffer, RenderStats, render_ahu
from fetrack_ros.events.windows import seconds_to_ns
from fetrack_ros.messages import (EventDecoding, ImageConversionError, check_image_msg, image_to_rgb, rgb_to_image,
                                  stamp_to_ns)
from fetrack_ros.messages.cdr import CdrError, parse_event_packet
from fetrack_ros.messages.track import STATUS_NAMES, status_code
from fetrack_ros.model.loading import ModelLoadError, load_inference_model
from fetrack_ros.msg import Track
from fetrack_ros.srv import SetTarget
from fetrack_ros.sync import TIME_JUMP_BACK_NS, AssembledFrame, EventFrameMatcher, FrameAssembler
from fetrack_ros.tracking import Tracker
from fetrack_ros.tracking.inputs import match_event_frame
from fetrack_ros.tracking.params import with_recommended

from . import READY_LINE
from . import parameters as P
from .annotate import annotate
from .diagnostics import Diagnostics, to_diagnostic_array
from .event_input import MissingPackageError, message_type
from .qos import qos_from_parameters

NODE_NAME = "tracker_node"


class StartupError(RuntimeError):
    """The node cannot start with its parameters; ``str()`` is a one-line reason."""

#: Most event messages taken from the subscription's queue per wake-up; more left queued is a
#: backlog (images then wait longer for their events, see fetrack_ros.sync).
INTAKE_BUDGET = 2000


@dataclass
class TargetRequest:
    box: list
    stamp_ns: int                 # 0 = the next image


class TrackerNode(LifecycleNode):
    """The tracker node; see the module docstring. Parameters: :mod:`fetrack_ros.node.parameters`."""

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.diag = Diagnostics()
        self.configure_error: str | None = None
        # An integer override (-p, params file) where a double is declared is declared converted:
        # rclpy would refuse `-p initial_box:=[10,20,30,40]` on the type alone. Other overrides go
        # through rclpy unchanged (it types a parameter by the value it is declared with).
        overrides = getattr(self, "_parameter_overrides", {})  # rclpy's name for them (Humble on)
        for spec in P.SPECS:
            override = overrides.get(spec.name)
            value = P.as_declared_type(spec.name, override.value) if override is not None else None
            converted = override is not None and value is not override.value
            try:
                self.declare_parameter(spec.name, value if converted else spec.default, _descriptor(spec),
                                       ignore_override=converted)
            except Exception as exc:  # a wrongly typed override from the command line or params file
                reason = f"parameter '{spec.name}': {' '.join(str(exc).split())}"
                self.get_logger().error(f"cannot start: {reason}")  # to /rosout while the node exists
                _flush_rosout(self, discover=True)
                raise StartupError(reason) from None
        # Tracker settings the user gives (at start-up or with `ros2 param set`) win over the ones a
        # checkpoint recommends for its weights (applied at configure).
        self._user_tracker_settings = {name for name in overrides if name in P.TRACKER_PARAM_NAMES}
        self._applying_recommendation = False
        if hasattr(self, "add_pre_set_parameters_callback"):  # rclpy >= Iron; Humble keeps refusing
            self.add_pre_set_parameters_callback(P.as_declared_types)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._lock = threading.Condition()
        self._jobs: deque[AssembledFrame] = deque()
        self._worker: threading.Thread | None = None
        self._stop = False
        self._active = False
        self._entities: list = []
        self._tracker: Tracker | None = None
        self._tracking = False
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)

    # ------------------------------------------------------------------ parameters
    def _value(self, name: str):
        return self.get_parameter(name).value

    def _on_set_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        for name, value in changes.items():
            reason = P.validate(name, value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        if any(name in P.TRACKER_PARAM_NAMES for name in changes):
            current = {name: self._value(name) for name in P.TRACKER_PARAM_NAMES}
            new_params, reason = P.check_tracker_change(current, changes)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
            with self._lock:
                self._tracker_params = new_params  # the worker applies it before the next frame
        if "publish_debug_image" in changes:
            self._publish_debug = bool(changes["publish_debug_image"])
        if not self._applying_recommendation:
            self._user_tracker_settings.update(name for name in changes if name in P.TRACKER_PARAM_NAMES)
        return SetParametersResult(successful=True)

    def _apply_recommended(self, recommended: dict) -> None:
        """Set the tracker parameters the checkpoint recommends for its weights, except the ones
        the user set; log what was applied. A malformed recommendation stops the configure."""
        if not recommended:
            return
        try:
            with_recommended(recommended)  # names and ranges, checked as the offline tools check them
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        applied = {name: value for name, value in recommended.items()
                   if name in P.TRACKER_PARAM_NAMES and name not in self._user_tracker_settings}
        if applied:
            self._applying_recommendation = True
            try:
                result = self.set_parameters_atomically(
                    [Parameter(name, value=P.as_declared_type(name, value)) for name, value in applied.items()])
            finally:
                self._applying_recommendation = False
            if not result.successful:
                raise StartupError(f"the checkpoint's recommended tracker settings {applied} were refused: {result.reason}")
        kept = sorted(name for name in recommended if name in self._user_tracker_settings)
        ignored = sorted(name for name in recommended if name not in P.TRACKER_PARAM_NAMES)
        self.get_logger().info(
            "tracker settings recommended by the checkpoint: "
            + (", ".join(f"{name}={value}" for name, value in applied.items()) or "none applied")
            + (f"; kept the user's {', '.join(kept)}" if kept else "")
            + (f"; not node parameters, ignored: {', '.join(ignored)}" if ignored else ""))

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._configure()
        except (StartupError, ModelLoadError, MissingPackageError) as exc:
            self.configure_error = str(exc)
            self.get_logger().error(f"cannot start: {exc}")
            self._destroy_entities()
            return TransitionCallbackReturn.FAILURE
        self.configure_error = None
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        values = {spec.name: self._value(spec.name) for spec in P.SPECS}
        for name, value in values.items():
            reason = P.validate(name, value)
            if reason:
                raise StartupError(f"parameter {reason}")
        try:
            self._tracker_params = P.tracker_params(values)
        except (TypeError, ValueError) as exc:
            raise StartupError(f"tracker parameters: {exc}") from None
        self._publish_debug = values["publish_debug_image"]
        self._mode = values["event_input"]
        event_type = message_type(self._mode) if self._mode != "event_frames" else Image
        loaded = load_inference_model(values["model"], values["checkpoint"] or None, values["model_depth"],
                                      values["device"], values["precision"], values["scan_backend"],
                                      values["cpu_threads"])
        self.get_logger().info(f"model: {loaded.provenance}")
        self._apply_recommended(loaded.tracker_settings)
        self._tracker = Tracker(loaded.model, self._tracker_params)
        self._tracking = False
        self.diag.info.update({"model": loaded.description, "weights": loaded.provenance,
                               "device": loaded.device, "backend": loaded.backend, "event_input": self._mode})
        box = P.initial_box(values["initial_box"])
        self._target: TargetRequest | None = TargetRequest(box, 0) if box else None
        self._reset_requested = False

        # event side: one assembler pairs images with their event data
        clock = values["event_clock"]
        if clock == "auto":
            clock = "header" if self._mode == "event_packet" else "fixed"
        self._raw_events = self._mode == "event_packet"
        if self._mode == "event_frames":
            source = {"matcher": EventFrameMatcher(seconds_to_ns(values["event_frame_tolerance"]))}
        else:
            source = {"decoding": EventDecoding(self._mode, clock, values["event_clock_offset_ns"])}
        policy = P.window_policy(values)
        buffer = EventBuffer(max_span_ns=seconds_to_ns(values["event_buffer_span"]),
                             max_events=values["max_buffered_events"], reset_backward_ns=TIME_JUMP_BACK_NS)
        self._assembler = FrameAssembler(policy=policy, buffer=buffer, max_wait_s=values["max_wait"], **source)
        self._buffer_peak = buffer.nbytes
        self._render_stats = RenderStats()
        self._queue_size, self._queue_policy = values["queue_size"], values["queue_policy"]

        # interfaces
        qos = {name: qos_from_parameters(self._value, name) for name in ("image", "events", "event_frames", "output")}
        out = qos["output"]
        self._pub_track = self.create_lifecycle_publisher(Track, "~/track", out)
        self._pub_confidence = self.create_lifecycle_publisher(Float32, "~/confidence", out)
        self._pub_debug = self.create_lifecycle_publisher(Image, "~/debug_image", out)
        self._pub_event_frame = self.create_lifecycle_publisher(Image, "~/event_frame", out)
        self._detections = _vision_msgs()
        self._pub_detections = (self.create_lifecycle_publisher(self._detections[0], "~/detections", out)
                                if self._detections else None)
        from diagnostic_msgs.msg import DiagnosticArray
        self._pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        if values["image_transport"] == "compressed":
            image_sub = self.create_subscription(CompressedImage, "image/compressed", self._on_image, qos["image"])
        else:
            image_sub = self.create_subscription(Image, "image", self._on_image, qos["image"])
        if self._mode == "event_frames":
            event_sub = self.create_subscription(Image, "event_frames", self._on_event_frame, qos["event_frames"])
        else:
            event_sub = self.create_subscription(event_type, "events", self._on_events, qos["events"],
                                                 raw=self._raw_events)
        self._event_sub = event_sub
        lifecycle_pubs = [self._pub_track, self._pub_confidence, self._pub_debug, self._pub_event_frame]
        if self._pub_detections is not None:
            lifecycle_pubs.append(self._pub_detections)
        self._entities = (
            [(self.destroy_lifecycle_publisher, pub) for pub in lifecycle_pubs]
            + [(self.destroy_publisher, self._pub_diagnostics),
               (self.destroy_subscription, image_sub), (self.destroy_subscription, event_sub),
               (self.destroy_service, self.create_service(SetTarget, "~/set_target", self._on_set_target)),
               (self.destroy_service, self.create_service(Trigger, "~/reset", self._on_reset)),
               # wall-clock timers: with use_sim_time, ROS-time timers stop when the bag pauses or
               # ends, and waiting images would never be released by max_wait
               (self.destroy_timer, self.create_timer(0.005, self._on_tick, clock=self._steady)),
               (self.destroy_timer, self.create_timer(values["diagnostics_period"], self._publish_diagnostics,
                                                      clock=self._steady))])
        self._stop = False
        self._worker = threading.Thread(target=self._work, name="fetrack_worker", daemon=True)
        self._worker.start()

    def on_activate(self, state) -> TransitionCallbackReturn:
        self._active = True
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._active = False
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._destroy_entities()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._active = False
        self._destroy_entities()
        self.finalized = True  # main() ends the process once the transition's reply is out
        return TransitionCallbackReturn.SUCCESS

    def _destroy_entities(self) -> None:
        self.stop_worker()
        for destroy, entity in self._entities:
            destroy(entity)
        self._entities = []
        self._tracker = None

    def stop_worker(self) -> None:
        with self._lock:
            self._stop = True
            self._jobs.clear()
            self._lock.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=10.0)
        self._worker = None

    # ------------------------------------------------------------------ executor thread: inputs
    def _on_image(self, msg) -> None:
        if not self._active:
            self.diag.count("dropped.inactive")
            return
        now = time.monotonic()
        self.diag.count("images.received")
        self.diag.rate("images")
        try:
            check_image_msg(msg)  # cheap: a bad image must not take a good one's place in the queue
        except ImageConversionError as exc:
            self.diag.count("dropped.bad_image")
            self.get_logger().warning(f"image dropped: {exc}", throttle_duration_sec=5.0)
            return
        if not self._assembler.event_frames:
            self._take_events(now)  # the stream state is up to date before this image's checks
        self._assembler.add_image(msg, stamp_to_ns(msg.header.stamp), now)
        self._release(now)

    def _on_events(self, msg) -> None:
        """Take this message and every one queued behind it; release the images they complete."""
        if not self._active:
            return
        now = time.monotonic()
        self._add_event_messages([msg], now)
        backlog = self._take_events(now)
        if len(self._assembler) or backlog:
            self._release(now, backlog)

    def _take_events(self, now: float) -> bool:
        """Move the event messages queued on the subscription into the assembler, at most
        INTAKE_BUDGET; returns True when that budget ran out (more are queued: a backlog)."""
        sub, taken = self._event_sub, []
        try:
            with sub.handle:
                while len(taken) < INTAKE_BUDGET:
                    item = sub.handle.take_message(sub.msg_type, sub.raw)
                    if item is None:
                        break
                    taken.append(item[0])
        except Exception as exc:  # a destroyed subscription (shutdown) or a message that failed to deserialize
            self.get_logger().warning(f"event intake: {type(exc).__name__}: {exc}", throttle_duration_sec=5.0)
        self._add_event_messages(taken, now)
        backlog = len(taken) >= INTAKE_BUDGET
        if backlog:
            self.diag.count("events.intake_backlog")
        return backlog

    def _add_event_messages(self, msgs: list, now: float) -> None:
        if not msgs:
            return
        self.diag.count("events.packets", len(msgs))
        self.diag.rate("event_packets", len(msgs))
        if self._raw_events:
            records = []
            for raw in msgs:
                try:
                    records.append(parse_event_packet(raw))
                except CdrError as exc:
                    self.diag.count("events.bad_message")
                    self.get_logger().warning(f"event message skipped: {exc}", throttle_duration_sec=5.0)
            msgs = records
        self._assembler.add_event_messages(msgs, now)

    def _on_event_frame(self, msg) -> None:
        if not self._active:
            return
        self.diag.count("events.packets")
        self.diag.rate("event_packets")
        self._assembler.add_event_frame(stamp_to_ns(msg.header.stamp), msg)
        self._release(time.monotonic())

    def _on_tick(self) -> None:
        if not self._active:
            return
        now = time.monotonic()
        backlog = not self._assembler.event_frames and self._take_events(now)
        if backlog or self._assembler.needs_service(now):
            self._release(now, backlog)
        self._account()

    def _release(self, now: float, backlog: bool = False) -> None:
        """Hand every image whose event data is complete (or whose wait ran out) to the worker."""
        try:
            frames = self._assembler.release(now, backlog)
        except Exception as exc:  # whatever a message did, the node goes on; the images wait on
            self.diag.count("events.decoder_error")
            self.get_logger().error(f"event assembly failed: {type(exc).__name__}: {exc}", throttle_duration_sec=5.0)
            return
        for frame in frames:
            self._enqueue(frame)

    def _account(self) -> None:
        """Move the assembler's counts and notices to /diagnostics and the log."""
        counts = self._assembler.take_counts()
        for reason, amount in counts.items():
            self.diag.count(reason, amount)
        if counts.get("events.decoded"):
            self.diag.rate("events", counts["events.decoded"])
        for notice in self._assembler.take_notices():
            self.get_logger().warning(notice, throttle_duration_sec=5.0)
        held = self._assembler.buffer.nbytes
        if held * 2 < self._buffer_peak:  # the buffer shrank after a burst: hand the memory back
            _return_freed_memory()
            self._buffer_peak = held
        else:
            self._buffer_peak = max(self._buffer_peak, held)

    def _enqueue(self, job: AssembledFrame) -> None:
        with self._lock:
            if len(self._jobs) >= self._queue_size:
                if self._queue_policy == "oldest":
                    self.diag.count("dropped.queue_overflow")
                    return
                self._jobs.popleft()
                self.diag.count("dropped.skipped_for_newer")
            self._jobs.append(job)
            self._lock.notify()

    # ------------------------------------------------------------------ executor thread: services
    def _on_set_target(self, request, response):
        box = [request.x, request.y, request.width, request.height]
        if not all(np.isfinite(box)) or request.width <= 0 or request.height <= 0:
            self.diag.count("targets.rejected")
            response.success, response.message = False, f"box {box} must be finite with width, height > 0"
            return response
        stamp = stamp_to_ns(request.stamp)
        with self._lock:
            self._target = TargetRequest([float(v) for v in box], stamp)
        response.success = True
        response.message = (f"target {box} will start tracking on the "
                            + (f"first image stamped at or after {stamp} ns" if stamp else "next image"))
        return response

    def _on_reset(self, request, response):
        with self._lock:
            self._reset_requested = True
            self._target = None
        self.diag.count("tracker.resets")
        response.success, response.message = True, "tracking stops from the next image until a new target is set"
        return response

    # ------------------------------------------------------------------ worker thread
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._stop:
                    self._lock.wait()
                if self._stop:
                    return
                job = self._jobs.popleft()
            try:
                self._process(job)
            except Exception as exc:  # the node must survive anything one frame can do
                self.diag.count("dropped.tracker_error")
                self.get_logger().error(f"frame {job.stamp_ns} ns failed: {type(exc).__name__}: {exc}",
                                        throttle_duration_sec=5.0)

    def _process(self, job: AssembledFrame) -> None:
        try:
            rgb = image_to_rgb(job.item)
        except ImageConversionError as exc:
            self.diag.count("dropped.bad_image")
            self.get_logger().warning(f"image dropped: {exc}", throttle_duration_sec=5.0)
            return
        event_frame = self._event_frame(job, rgb.shape[:2])
        with self._lock:
            params, target, reset = self._tracker_params, self._target, self._reset_requested
            if target is not None and (target.stamp_ns == 0 or job.stamp_ns >= target.stamp_ns):
                self._target = None
            else:
                target = None
            self._reset_requested = False
        tracker = self._tracker
        if tracker is None:
            return
        if reset:
            self._tracking = False
        if tracker.params is not params:
            tracker.params = params
        started, ran = time.perf_counter(), target is not None or self._tracking
        track = Track(header=job.item.header, status=Track.STATUS_UNINITIALIZED)
        track.num_events = len(job.events) if job.events is not None else 0
        track.event_window = Track.EVENT_WINDOW_COMPLETE if job.complete else Track.EVENT_WINDOW_INCOMPLETE
        if target is not None:
            try:
                tracker.initialize(rgb, event_frame, target.box)
                self._tracking = True
                self.diag.count("targets.set")
                track.status, track.confidence, track.template_updated = Track.STATUS_TRACKING, 1.0, True
                track.x, track.y, track.width, track.height = target.box
            except ValueError as exc:
                self.diag.count("targets.rejected")
                self.get_logger().warning(f"target rejected: {exc}")
        elif self._tracking:
            result = tracker.track(rgb, event_frame, events_complete=job.complete)
            track.status = status_code(result.status)
            track.x, track.y, track.width, track.height = result.box
            track.confidence, track.template_updated = result.confidence, result.template_updated
            if result.held_still:
                self.diag.count("tracks.held_still")
        inference_ms = (time.perf_counter() - started) * 1e3 if ran else None
        self._publish(track, rgb, event_frame)
        self.diag.latency((self.get_clock().now().nanoseconds - job.stamp_ns) / 1e6, inference_ms)

    def _event_frame(self, job: AssembledFrame, rgb_hw) -> np.ndarray:
        """The event frame at the RGB size; a blank one (counted) when there is none or it does not fit."""
        frame = None
        if job.events is not None:
            if not len(job.events):
                self.diag.count("images.empty_event_window")
            if job.sensor_hw is not None:
                before = self._render_stats.out_of_bounds
                frame = render_ahu(job.events, *job.sensor_hw, stats=self._render_stats)
                if self._render_stats.out_of_bounds > before:
                    self.diag.count("events.out_of_sensor", self._render_stats.out_of_bounds - before)
        elif job.event_frame is None:
            self.diag.count("images.no_event_frame")
        else:
            try:
                frame = image_to_rgb(job.event_frame)
            except ImageConversionError as exc:
                self.diag.count("images.no_event_frame")
                self.get_logger().warning(f"event frame unusable: {exc}", throttle_duration_sec=5.0)
        if frame is not None:
            if frame.shape[:2] != tuple(rgb_hw):
                self.diag.count("images.event_frame_resized")
                self.get_logger().warning(f"event data is {frame.shape[1]}x{frame.shape[0]} but the RGB image is "
                                          f"{rgb_hw[1]}x{rgb_hw[0]}: resized; check that both cameras show the same "
                                          f"field of view", throttle_duration_sec=30.0)
            try:
                return match_event_frame(frame, rgb_hw)
            except ValueError as exc:
                self.diag.count("images.event_size_mismatch")
                self.get_logger().warning(str(exc), throttle_duration_sec=5.0)
        return np.full((*rgb_hw, 3), 255, np.uint8)

    def _publish(self, track, rgb: np.ndarray, event_frame: np.ndarray) -> None:
        self._pub_track.publish(track)
        self.diag.count("tracks.published")
        self.diag.rate("tracks")
        self._pub_confidence.publish(Float32(data=float(track.confidence)))
        tracked = track.status != Track.STATUS_UNINITIALIZED
        if self._pub_detections is not None and tracked:
            self._pub_detections.publish(_detection_array(self._detections, track))
        if self._publish_debug and self._pub_debug.get_subscription_count():
            status = STATUS_NAMES.get(track.status, "uninitialized")
            box = (track.x, track.y, track.width, track.height) if tracked else None
            image = annotate(rgb, box, track.confidence if tracked else None, status)
            self._pub_debug.publish(rgb_to_image(image, track.header, Image))
        if self._publish_debug and self._pub_event_frame.get_subscription_count():
            self._pub_event_frame.publish(rgb_to_image(event_frame, track.header, Image))

    def _publish_diagnostics(self) -> None:
        with self._lock:
            queued = len(self._jobs)
        self.diag.info["queue.waiting"] = str(queued)
        self.diag.info["tracking"] = str(self._tracking)
        state = "active" if self._active else "inactive"
        level = "WARN" if self.diag.dropped_total() else "OK"
        message = f"{state}, {'tracking' if self._tracking else 'no target'}"
        self._pub_diagnostics.publish(to_diagnostic_array(
            self.diag, f"{self.get_name()}: tracker", self.diag.info.get("device", ""),
            self.get_clock().now().to_msg(), message, level))


def _descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    types = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
             list: ParameterType.PARAMETER_DOUBLE_ARRAY}
    descriptor = ParameterDescriptor(description=spec.description + (f" [{spec.unit}]" if spec.unit else ""),
                                     type=types[type(spec.default)], read_only=spec.read_only,
                                     additional_constraints=spec.constraints)
    if spec.low is not None and isinstance(spec.default, float):
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high))]
    elif spec.low is not None and isinstance(spec.default, int):
        descriptor.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
    return descriptor


def _return_freed_memory() -> None:
    """Give freed heap memory back to the system. glibc keeps it after a burst's large temporaries
    (its mmap threshold rises as large blocks are freed), so the process would stay at its peak."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _vision_msgs():
    """(Detection2DArray, Detection2D, ObjectHypothesisWithPose) when vision_msgs is installed, else None."""
    try:
        from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose
    except ImportError:
        return None
    return Detection2DArray, Detection2D, ObjectHypothesisWithPose


def _detection_array(types, track):
    array_type, detection_type, hypothesis_type = types
    detection = detection_type(header=track.header)
    detection.bbox.center.position.x = float(track.x + track.width / 2)
    detection.bbox.center.position.y = float(track.y + track.height / 2)
    detection.bbox.size_x, detection.bbox.size_y = float(track.width), float(track.height)
    hypothesis = hypothesis_type()
    hypothesis.hypothesis.class_id = "target"
    hypothesis.hypothesis.score = float(track.confidence)
    detection.results = [hypothesis]
    return array_type(header=track.header, detections=[detection])


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C or its lifecycle shutdown transition; returns the process exit
    code (0, or 1: it could not start).

    The ready line and start-up errors are logged with the node's logger: they reach ``/rosout``
    and the ROS log files, and the console (stderr) as one line each.
    """
    rclpy.init(args=sys.argv if args is None else args)
    node = None
    try:
        node = TrackerNode()
        logger = node.get_logger()
        if node.get_parameter("autostart").value:
            node.trigger_configure()
            if node.configure_error is not None:
                _flush_rosout(node, discover=True)  # on_configure logged the one-line reason
                return 1
            node.trigger_activate()
            logger.info(f"{READY_LINE}: {node.diag.info.get('model', '')}; event input "
                        f"{node.diag.info.get('event_input', '')}")
        else:
            logger.info(f"{NODE_NAME} unconfigured (autostart false): drive it through its lifecycle services")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while executor.context.ok() and not getattr(node, "finalized", False):
            executor.spin_once(timeout_sec=0.2)
        if getattr(node, "finalized", False):  # `ros2 lifecycle set <node> shutdown`
            logger.info(f"{NODE_NAME} finalized: exiting")
            _flush_rosout(node, executor=executor)  # the transition's reply and the log line go out
    except StartupError:
        return 1  # a parameter the node could not declare: logged by the node as it failed
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # launchers often send SIGINT twice (to the process group and to the node): a second
        # Ctrl-C must not turn the clean shutdown into a traceback
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None:
            node.stop_worker()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


#: How long the process keeps serving after a failed start or the shutdown transition, so that
#: service replies and /rosout messages already queued reach their subscribers before it exits;
#: after a failed start it first waits up to ROSOUT_DISCOVERY_S for a /rosout subscriber (e.g.
#: rqt_console) to be discovered: a process that fails at once would otherwise end unheard.
ROSOUT_LINGER_S = 0.5
ROSOUT_DISCOVERY_S = 3.0


def _flush_rosout(node, discover: bool = False, executor=None) -> None:
    if executor is None:
        executor = SingleThreadedExecutor()
        executor.add_node(node)
    start = time.monotonic()
    if discover:
        while (executor.context.ok() and node.count_subscribers("/rosout") == 0
               and time.monotonic() < start + ROSOUT_DISCOVERY_S):
            executor.spin_once(timeout_sec=0.05)
        start = time.monotonic()
    while executor.context.ok() and time.monotonic() < start + ROSOUT_LINGER_S:
        executor.spin_once(timeout_sec=0.05)


if __name__ == "__main__":
    sys.exit(main())
