"""Dataset sequences -> rosbag2 bags that play straight into the tracker node (``ros2 bag play``
or ``fetrack replay``) and evaluate with ``fetrack eval --bag``.

Each frame becomes an RGB ``sensor_msgs/Image`` (rgb8, or PNG ``CompressedImage``), its event
frame the same on the event-frame topic, and its ground-truth box a ``fetrack_ros/msg/Track``
(status TRACKING, or LOST for an invalid box with w <= 0 or h <= 0) with the image's stamp.
Stamps are ``start_ns`` + the source's stamp (dataset folders: frame index x frame period).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .bags import DEFAULT_EVENT_FRAME_TOPIC, DEFAULT_GT_TOPIC, DEFAULT_RGB_TOPIC
from .bagwriter import BagWriter
from .sequence import Sequence, SourceError

STATUS_TRACKING, STATUS_LOST = 1, 3
DEFAULT_START_NS = 1_000_000_000  # a zero stamp reads as "unset" in ROS tools


def convert_sequence(sequence: Sequence, out_bag: str | Path, *, storage: str = "mcap", compressed: bool = False,
                     rgb_topic: str = DEFAULT_RGB_TOPIC, event_topic: str = DEFAULT_EVENT_FRAME_TOPIC,
                     gt_topic: str = DEFAULT_GT_TOPIC, start_ns: int = DEFAULT_START_NS,
                     frame_id: str = "camera") -> Path:
    """Write ``sequence`` to a new bag folder ``out_bag``; returns its path.

    The bag is written to a scratch folder beside ``out_bag`` and moved into place when complete,
    so an interrupted conversion leaves no bag that looks finished.
    """
    out_bag = Path(out_bag)
    if out_bag.exists():
        raise FileExistsError(f"bag output {out_bag} already exists; remove it or choose another folder")
    scratch = out_bag.parent / f".partial-{out_bag.name}"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    count = 0
    with BagWriter(scratch / out_bag.name, storage) as writer:
        write_image = writer.write_compressed_image if compressed else writer.write_image
        for frame in sequence.frames():
            stamp = int(start_ns) + int(frame.stamp_ns)
            write_image(rgb_topic, stamp, frame.rgb, frame_id=frame_id)
            if frame.event_frame is None:
                raise SourceError(f"sequence {sequence.name} frame {frame.index} has no event frame to write")
            write_image(event_topic, stamp, frame.event_frame, frame_id=frame_id)
            if frame.gt_xywh is not None:
                valid = frame.gt_xywh[2] > 0 and frame.gt_xywh[3] > 0
                writer.write_track(gt_topic, stamp, frame.gt_xywh, status=STATUS_TRACKING if valid else STATUS_LOST,
                                   frame_id=frame_id)
            count += 1
    if count != len(sequence):
        raise SourceError(f"sequence {sequence.name}: {count} frames read, {len(sequence)} expected")
    (scratch / out_bag.name).rename(out_bag)
    scratch.rmdir()
    return out_bag
