"""Writing rosbag2 bags (sqlite3 or mcap) without ROS, through ``rosbags``.

Used for the results bag of ``fetrack eval`` (Track messages, replayable in RViz/Foxglove), by the
dataset converters and by tests. Message times: the header stamp is the data's time
(``stamp_ns``); the bag's log time defaults to the same value.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from ..messages.stamps import ns_to_stamp
from ..messages.track import EVENT_WINDOW_COMPLETE, STATUS_TRACKING
from .rostypes import COMPRESSED_IMAGE, EVENT_PACKET, IMAGE, TRACK, get_typestore

STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}


class BagWriter:
    """A rosbag2 writer that creates connections on first use of a topic.

    ``storage`` is ``"sqlite3"`` or ``"mcap"``; ``path`` is the bag folder to create (it must not
    exist). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, storage: str = "sqlite3", typestore=None, version: int = 9):
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag output {self.path} already exists; choose a new folder")
        self.typestore = typestore or get_typestore()
        self._writer = Writer(self.path, version=version, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: dict[str, object] = {}

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _header(self, stamp_ns: int, frame_id: str):
        time_type = self.typestore.types["builtin_interfaces/msg/Time"]
        return self.typestore.types["std_msgs/msg/Header"](stamp=ns_to_stamp(stamp_ns, time_type), frame_id=frame_id)

    def write(self, topic: str, msg, log_time_ns: int) -> None:
        """Serialize ``msg`` (a typestore message object) to ``topic`` at ``log_time_ns``."""
        msgtype = msg.__msgtype__
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = connection
        elif connection.msgtype != msgtype:
            raise ValueError(f"topic {topic} already carries {connection.msgtype}, cannot also write {msgtype}")
        self._writer.write(connection, int(log_time_ns), self.typestore.serialize_cdr(msg, msgtype))

    def write_image(self, topic: str, stamp_ns: int, rgb: np.ndarray, frame_id: str = "camera",
                    log_time_ns: int | None = None) -> None:
        """An H x W x 3 uint8 RGB array as ``sensor_msgs/Image`` with encoding ``rgb8``."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"rgb must be H x W x 3 uint8, got shape {rgb.shape}")
        height, width = rgb.shape[:2]
        msg = self.typestore.types[IMAGE](header=self._header(stamp_ns, frame_id), height=height, width=width,
                                          encoding="rgb8", is_bigendian=0, step=width * 3,
                                          data=rgb.reshape(-1))
        self.write(topic, msg, stamp_ns if log_time_ns is None else log_time_ns)

    def write_compressed_image(self, topic: str, stamp_ns: int, rgb: np.ndarray, frame_id: str = "camera",
                               fmt: str = "png", log_time_ns: int | None = None) -> None:
        """An RGB array as ``sensor_msgs/CompressedImage`` (``png`` lossless or ``jpeg``)."""
        ok, buf = cv2.imencode(f".{fmt}", cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError(f"cv2 could not encode the image as {fmt}")
        msg = self.typestore.types[COMPRESSED_IMAGE](header=self._header(stamp_ns, frame_id),
                                                     format=f"rgb8; {fmt} compressed bgr8",
                                                     data=buf.reshape(-1))
        self.write(topic, msg, stamp_ns if log_time_ns is None else log_time_ns)

    def write_track(self, topic: str, stamp_ns: int, box_xywh, *, status: int = STATUS_TRACKING,
                    confidence: float = 1.0, template_updated: bool = False, num_events: int = 0,
                    event_window: int = EVENT_WINDOW_COMPLETE, frame_id: str = "camera",
                    log_time_ns: int | None = None) -> None:
        """One ``fetrack_ros/msg/Track`` (codes of :mod:`fetrack_ros.messages.track`; default: tracking, complete)."""
        x, y, w, h = (float(v) for v in np.asarray(box_xywh, dtype=np.float64).reshape(4))
        msg = self.typestore.types[TRACK](header=self._header(stamp_ns, frame_id), status=int(status),
                                          x=x, y=y, width=w, height=h, confidence=float(confidence),
                                          template_updated=bool(template_updated), num_events=int(num_events),
                                          event_window=int(event_window))
        self.write(topic, msg, stamp_ns if log_time_ns is None else log_time_ns)

    def write_event_packet(self, topic: str, stamp_ns: int, data: bytes | np.ndarray, *, encoding: str,
                           width: int, height: int, seq: int, time_base: int = 0, frame_id: str = "camera",
                           log_time_ns: int | None = None) -> None:
        """One ``event_camera_msgs/msg/EventPacket`` holding ``data`` (already encoded, e.g. EVT3)."""
        payload = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data
        msg = self.typestore.types[EVENT_PACKET](header=self._header(stamp_ns, frame_id), height=int(height),
                                                 width=int(width), seq=int(seq), time_base=int(time_base),
                                                 encoding=encoding, is_bigendian=False,
                                                 events=np.ascontiguousarray(payload, dtype=np.uint8).reshape(-1))
        self.write(topic, msg, stamp_ns if log_time_ns is None else log_time_ns)
