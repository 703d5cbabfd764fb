"""rosbag2 bags (sqlite3 or mcap, read through ``rosbags``) as :class:`~.sequence.Sequence` sources.

A bag sequence pairs every message of the RGB topic (``sensor_msgs/Image`` or
``CompressedImage``) with the event data for it and, optionally, a ground-truth box:

- event frames recorded as images (``Image`` / ``CompressedImage`` on the event topic) are paired
  with the RGB image of the nearest header stamp (within ``match_tolerance_ns``);
- ``event_camera_msgs/EventPacket`` streams (evt3, mono, ...) are decoded, mapped to the image
  clock and windowed exactly as the tracker node does (:class:`~fetrack_ros.messages.EventDecoding`,
  :class:`~fetrack_ros.events.EventBuffer`, :class:`~fetrack_ros.events.WindowPolicy`), and each
  image's window is rendered the Event-AHU way at the sensor geometry. An image is released once
  the stream has passed its window end (or the bag ends);
- ground truth comes from a topic of ``fetrack_ros/msg/Track`` (paired the same way) or from a
  text file with one ``x,y,w,h`` line per RGB image.

Stamps are header stamps (int ns); a message whose header stamp is zero uses its log time.
Frames keep the bag's log-time order of the RGB topic.
"""
from __future__ import annotations

import dataclasses
import struct
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
from rosbags.rosbag2 import Reader

# The node's own message conversions, so a bag read here gives the node's pixels and events.
from ..messages import EventDecoding, ImageConversionError, image_to_rgb, sec_nanosec_to_ns, stamp_to_ns
from ..messages.cdr import CdrError, parse_event_packet
from .groundtruth import read_boxes
from .rostypes import COMPRESSED_IMAGE, EVENT_PACKET, IMAGE, TRACK, get_typestore
from .sequence import Frame, Sequence, SourceError, check_frame_sizes

# The tracker node's input names (relative: "image", "event_frames", "events") without a namespace,
# so that bags written with these topics play straight into the node.
DEFAULT_RGB_TOPIC = "/image"
DEFAULT_EVENT_FRAME_TOPIC = "/event_frames"
DEFAULT_EVENT_PACKET_TOPIC = "/events"
DEFAULT_GT_TOPIC = "/ground_truth"

IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
#: What reading a bag's event stream can find wrong (the node's diagnostics reasons): damaged or
#: impossible data, reported after the frames were read (``BagSequence.input_problems``).
PROBLEM_REASONS = ("events.bad_message", "events.malformed_packet", "events.unknown_encoding", "events.bad_geometry",
                   "events.decoder_error", "events.duplicate_packet", "events.lost_packets", "events.seq_reset",
                   "events.out_of_geometry", "events.implausible_time", "events.buffer_resets",
                   "images.duplicate_stamp", "images.out_of_order_stamp", "images.time_jump_back",
                   "images.missing")


def open_reader(path: str | Path) -> Reader:
    """Open a rosbag2 folder (or its single .db3/.mcap file); errors become :class:`SourceError`."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"bag not found: {path}")
    path = _storage_to_open(path)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # rosbags raises several types (ReaderError, sqlite3, mcap, yaml)
        raise SourceError(f"cannot open bag {path}: {type(exc).__name__}: {exc}") from None
    return reader


def _storage_to_open(path: Path) -> Path:
    """``path``, or the bag folder's single storage file when its metadata.yaml names no storage
    plugin (``storage_identifier: ""``, as some recorders write): ros2 bag then goes by the file
    extension, and rosbags does too when handed the .mcap/.db3 file itself."""
    metadata = path / "metadata.yaml"
    if not metadata.is_file():
        return path
    try:
        import yaml

        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        if info.get("storage_identifier"):
            return path
        files = [path / Path(name).name for name in info.get("relative_file_paths") or []]
    except Exception:  # unreadable metadata: let rosbags report it
        return path
    if len(files) == 1 and files[0].suffix in (".mcap", ".db3") and not info.get("compression_mode"):
        return files[0]
    raise SourceError(f"bag {path}: metadata.yaml names no storage_identifier and the storage cannot be "
                      f"inferred from its {len(files)} files {[f.name for f in files]}; set "
                      "storage_identifier to mcap or sqlite3")


def describe_topics(reader: Reader) -> str:
    return ", ".join(f"{name} ({info.msgtype}, {info.msgcount} msgs)"
                     for name, info in sorted(reader.topics.items())) or "no topics"


def _connections(reader: Reader, topic: str, allowed: tuple[str, ...], role: str, path: Path):
    connections = [c for c in reader.connections if c.topic == topic]
    if not connections:
        raise SourceError(f"bag {path} has no {role} topic {topic!r}; its topics: {describe_topics(reader)}")
    types = sorted({c.msgtype for c in connections})
    if len(types) != 1 or types[0] not in allowed:
        raise SourceError(f"bag {path}: {role} topic {topic!r} carries {', '.join(types)}; "
                          f"expected {' or '.join(allowed)}")
    return connections


def read_messages(reader: Reader, connections, path: Path, what: str):
    """``reader.messages(connections)`` with any storage error turned into :class:`SourceError`."""
    messages = reader.messages(connections=connections)
    while True:
        try:
            item = next(messages)
        except StopIteration:
            return
        except Exception as exc:  # sqlite3, mcap record/decompression errors, truncated files
            raise SourceError(f"bag {path} is corrupt or unreadable while reading {what}: "
                              f"{type(exc).__name__}: {exc}") from None
        yield item


def raw_header_stamp(raw: bytes) -> int:
    """Header stamp (ns) of a CDR-serialized message whose first field is a std_msgs/Header."""
    if len(raw) < 12:
        raise ValueError("message too short for a CDR header stamp")
    endian = "<" if raw[1] == 1 else ">"  # encapsulation id 0x0001 = CDR little endian
    sec, nanosec = struct.unpack_from(endian + "iI", raw, 4)
    return sec_nanosec_to_ns(sec, nanosec)


def _nearest(stamps: np.ndarray, targets: np.ndarray, tolerance_ns: int) -> np.ndarray:
    """Index into ``stamps`` of the nearest stamp for each target, -1 where none within tolerance."""
    if stamps.size == 0:
        return np.full(targets.shape, -1, np.int64)
    order = np.argsort(stamps, kind="stable")
    s = stamps[order]
    right = np.clip(np.searchsorted(s, targets), 0, s.size - 1)
    left = np.clip(right - 1, 0, s.size - 1)
    pick = np.where(np.abs(s[left] - targets) <= np.abs(s[right] - targets), left, right)
    out = order[pick]
    out[np.abs(stamps[out] - targets) > tolerance_ns] = -1
    return out


def image_msg_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/Image`` (any encoding rosbags-image knows) or ``CompressedImage`` -> a writable
    H x W x 3 uint8 RGB array; the node's converter, with its errors as :class:`SourceError`."""
    try:
        image = image_to_rgb(msg)
    except ImageConversionError as exc:
        raise SourceError(str(exc)) from None
    # a view of the message buffer is read-only; callers get an array they own
    return image if image.flags.writeable else image.copy()


class BagSequence(Sequence):
    """Frames of one rosbag2 bag (see the module docstring for the pairing rules).

    Args:
        path: bag folder (or its .db3/.mcap file).
        rgb_topic: ``sensor_msgs/Image`` or ``CompressedImage`` topic of the RGB camera.
        event_topic: event frames as ``Image``/``CompressedImage``, or ``EventPacket`` stream.
        gt_topic: ``fetrack_ros/msg/Track`` ground-truth topic, or None.
        gt_file: text file with one box per RGB image, or None (not both with gt_topic).
        match_tolerance_ns: largest stamp difference for pairing event frames and ground truth.
        name: sequence name (default: the bag folder's name).
        window: event window per image for EventPacket streams (default ``WindowPolicy()``:
            from the previous image's stamp to this one's).
        event_clock: ``"header"`` (sensor-to-image offset estimated from packet header stamps, as
            the node) or ``"fixed"`` (``event_offset_ns`` added to every event time).
    """

    def __init__(self, path: str | Path, rgb_topic: str = DEFAULT_RGB_TOPIC,
                 event_topic: str = DEFAULT_EVENT_FRAME_TOPIC, gt_topic: str | None = None,
                 gt_file: str | Path | None = None, match_tolerance_ns: int = 1_000_000,
                 name: str | None = None, typestore=None, window=None, event_clock: str = "header",
                 event_offset_ns: int = 0):
        if gt_topic is not None and gt_file is not None:
            raise ValueError("give ground truth either as gt_topic or as gt_file, not both")
        self.path = Path(path)
        self.name = name or (self.path.stem if self.path.is_file() else self.path.name)
        self.rgb_topic, self.event_topic, self.gt_topic = rgb_topic, event_topic, gt_topic
        self.match_tolerance_ns = int(match_tolerance_ns)
        self.typestore = typestore or get_typestore()
        if event_clock not in ("header", "fixed"):
            raise ValueError(f"event_clock must be 'header' or 'fixed', got {event_clock!r}")
        self.window, self.event_clock, self.event_offset_ns = window, event_clock, int(event_offset_ns)
        reader = open_reader(self.path)
        try:
            self._index(reader)
        finally:
            reader.close()
        self._gt = None
        if gt_file is not None:
            gt = read_boxes(gt_file)
            if len(gt) != len(self):
                raise SourceError(f"{gt_file}: {len(gt)} ground-truth lines for {len(self)} RGB images on "
                                  f"{rgb_topic} in {self.path}; expected one line per image")
            self._gt = gt

    def _stamps(self, reader: Reader, connections, role: str) -> np.ndarray:
        stamps = []
        for _, log_time, raw in read_messages(reader, connections, self.path, f"the {role} topic"):
            try:
                stamp = raw_header_stamp(raw)
            except ValueError as exc:
                raise SourceError(f"bag {self.path}: {role} message has no header: {exc}") from None
            stamps.append(stamp if stamp else log_time)
        return np.asarray(stamps, dtype=np.int64)

    def _pair(self, stamps: np.ndarray, role: str, topic: str) -> np.ndarray:
        index = _nearest(stamps, self.stamps_ns, self.match_tolerance_ns)
        missing = np.flatnonzero(index < 0)
        if missing.size:
            shown = ", ".join(str(int(self.stamps_ns[i])) for i in missing[:5])
            raise SourceError(f"bag {self.path}: {missing.size} of {len(self)} RGB images have no {role} on "
                              f"{topic} within {self.match_tolerance_ns} ns (first RGB stamps, ns: {shown})")
        return index

    def _index(self, reader: Reader) -> None:
        self._rgb_conns = _connections(reader, self.rgb_topic, IMAGE_TYPES, "RGB image", self.path)
        self._event_conns = _connections(reader, self.event_topic, IMAGE_TYPES + (EVENT_PACKET,), "event",
                                         self.path)
        self.event_packets = self._event_conns[0].msgtype == EVENT_PACKET
        self.stamps_ns = self._stamps(reader, self._rgb_conns, "RGB")
        if self.stamps_ns.size == 0:
            raise SourceError(f"bag {self.path}: RGB topic {self.rgb_topic} has no messages")
        self.input_problems: dict[str, int] = {}  # diagnostics reason -> count, from the last frames()
        if self.event_packets:
            first = next(read_messages(reader, self._event_conns, self.path, "event packets"), None)
            if first is None:
                raise SourceError(f"bag {self.path}: event topic {self.event_topic} has no packets")
            packet = self._deserialize(first[0], first[2])
            self.sensor_hw = (int(packet.height), int(packet.width))
        else:
            self._event_index = self._pair(self._stamps(reader, self._event_conns, "event frame"),
                                           "event frame", self.event_topic)
        self._gt_from_topic = None
        if self.gt_topic is not None:
            conns = _connections(reader, self.gt_topic, (TRACK,), "ground-truth", self.path)
            msgs = []
            for connection, log_time, raw in read_messages(reader, conns, self.path, "ground truth"):
                try:
                    msg = self.typestore.deserialize_cdr(raw, connection.msgtype)
                except Exception as exc:
                    raise SourceError(f"bag {self.path}: cannot deserialize a Track on {self.gt_topic}: "
                                      f"{type(exc).__name__}: {exc}") from None
                stamp = stamp_to_ns(msg.header.stamp)
                msgs.append((stamp or log_time, (msg.x, msg.y, msg.width, msg.height)))
            stamps = np.array([m[0] for m in msgs], dtype=np.int64)
            boxes = np.array([m[1] for m in msgs], dtype=np.float64).reshape(-1, 4)
            self._gt_from_topic = boxes[self._pair(stamps, "ground-truth box", self.gt_topic)]

    def __len__(self) -> int:
        return int(self.stamps_ns.size)

    def __getstate__(self) -> dict:
        # The typestore holds generated classes that do not pickle; worker processes rebuild it.
        state = dict(self.__dict__)
        if state["typestore"] is get_typestore():
            state["typestore"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.typestore is None:
            self.typestore = get_typestore()

    @property
    def gt_xywh(self) -> np.ndarray | None:
        gt = self._gt if self._gt is not None else self._gt_from_topic
        return None if gt is None else gt.copy()

    def _decode_image(self, connection, raw: bytes) -> np.ndarray:
        return image_msg_to_rgb(self._deserialize(connection, raw))

    def _deserialize(self, connection, raw: bytes):
        try:
            return self.typestore.deserialize_cdr(raw, connection.msgtype)
        except Exception as exc:
            raise SourceError(f"bag {self.path}: cannot deserialize a {connection.msgtype} on {connection.topic}: "
                              f"{type(exc).__name__}: {exc}") from None

    def frames(self) -> Iterator[Frame]:
        reader = open_reader(self.path)
        try:
            if self.event_packets:
                yield from self._frames_from_packets(reader)
            else:
                yield from self._frames_from_event_images(reader)
        finally:
            reader.close()

    def _frames_from_event_images(self, reader: Reader) -> Iterator[Frame]:
        gt = self.gt_xywh
        rgb_conn_ids = {c.id for c in self._rgb_conns}
        # how many RGB images still need each event frame (an event frame may serve several)
        needed = np.bincount(self._event_index, minlength=int(self._event_index.max()) + 1)
        events_by_index: dict[int, bytes] = {}
        pending: list[tuple[int, object, bytes]] = []  # RGB images waiting for their event frame
        rgb_i = event_j = 0
        sizes = None
        for connection, _, raw in read_messages(reader, self._rgb_conns + self._event_conns, self.path,
                                                 "images"):
            if connection.id in rgb_conn_ids:
                pending.append((rgb_i, connection, raw))
                rgb_i += 1
            else:
                if event_j < needed.size and needed[event_j]:
                    events_by_index[event_j] = (connection, raw)
                event_j += 1
            while pending and int(self._event_index[pending[0][0]]) in events_by_index:
                i, rgb_conn, rgb_raw = pending.pop(0)
                j = int(self._event_index[i])
                event_conn, event_raw = events_by_index[j]
                needed[j] -= 1
                if not needed[j]:
                    del events_by_index[j]
                rgb = self._decode_image(rgb_conn, rgb_raw)
                event_frame = self._decode_image(event_conn, event_raw)
                sizes = check_frame_sizes(sizes, rgb, event_frame, f"bag {self.path} frame {i}")
                yield Frame(index=i, stamp_ns=int(self.stamps_ns[i]), rgb=rgb, event_frame=event_frame,
                            gt_xywh=None if gt is None else gt[i].copy())
        if pending or rgb_i != len(self):
            raise SourceError(f"bag {self.path} changed while reading: {rgb_i} RGB images read, {len(self)} indexed")

    def _frames_from_packets(self, reader: Reader) -> Iterator[Frame]:
        from ..events import WindowPolicy, render_ahu
        from ..sync import FrameAssembler

        gt = self.gt_xywh
        policy = dataclasses.replace(self.window) if self.window is not None else WindowPolicy()
        # the node's own pairing, on bag time: nothing times out, the bag's end releases the rest
        assembler = FrameAssembler(policy=policy,
                                   decoding=EventDecoding("event_packet", self.event_clock, self.event_offset_ns))
        counts: Counter = Counter()
        rgb_conn_ids = {c.id for c in self._rgb_conns}
        sizes = None

        def release(ready) -> Iterator[Frame]:
            nonlocal sizes
            for frame in ready:
                i, msg = frame.item
                rgb = image_msg_to_rgb(msg)
                event_frame = render_ahu(frame.events, *(frame.sensor_hw or self.sensor_hw))
                sizes = check_frame_sizes(sizes, rgb, event_frame, f"bag {self.path} frame {i}")
                yield Frame(index=i, stamp_ns=int(self.stamps_ns[i]), rgb=rgb, event_frame=event_frame,
                            events=frame.events, gt_xywh=None if gt is None else gt[i].copy())

        rgb_i = 0
        for connection, _, raw in read_messages(reader, self._rgb_conns + self._event_conns, self.path,
                                                 "images and event packets"):
            if connection.id not in rgb_conn_ids:
                try:  # the raw CDR, read as the node reads it
                    assembler.add_event_messages([parse_event_packet(raw)], 0.0)
                except CdrError:
                    counts["events.bad_message"] += 1
                continue
            assembler.add_image((rgb_i, self._deserialize(connection, raw)), int(self.stamps_ns[rgb_i]), 0.0)
            rgb_i += 1
            yield from release(assembler.release(0.0))
        yield from release(assembler.finish())
        counts.update(assembler.take_counts())
        self.input_problems = {reason: n for reason, n in sorted(counts.items()) if reason in PROBLEM_REASONS}
        if rgb_i != len(self):
            raise SourceError(f"bag {self.path} changed while reading: {rgb_i} RGB images read, {len(self)} indexed")
