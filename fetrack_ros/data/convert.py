"""Dataset sequences -> rosbag2 bags that play straight into the tracker node (``ros2 bag play``
or ``fetrack replay``) and evaluate with ``fetrack eval --bag``.

Each frame becomes an RGB ``sensor_msgs/Image`` (rgb8, or PNG ``CompressedImage``), its event
frame the same on the event-frame topic, and its ground-truth box a ``fetrack_ros/msg/Track``
(status TRACKING, or LOST for an invalid box with w <= 0 or h <= 0) with the image's stamp.
A sequence with a raw event stream (dataset folders opened with ``events="aedat4"``) also gets
that stream as EVT 3.0 ``event_camera_msgs/EventPacket`` messages in 1 ms packets, as a camera
driver publishes them: event times in the sensor clock (EVT3's 24-bit microsecond counter),
header stamps in the image clock at each packet's first event, so the node's header clock
estimate recovers the mapping. Stamps are ``start_ns`` + the source's stamps.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from ..events import EVENT_DTYPE, packetize
from ..messages.track import STATUS_LOST, STATUS_TRACKING
from .bags import DEFAULT_EVENT_FRAME_TOPIC, DEFAULT_EVENT_PACKET_TOPIC, DEFAULT_GT_TOPIC, DEFAULT_RGB_TOPIC
from .bagwriter import BagWriter
from .sequence import Sequence, SourceError

DEFAULT_START_NS = 1_000_000_000  # a zero stamp reads as "unset" in ROS tools
PACKET_US = 1000


def convert_sequence(sequence: Sequence, out_bag: str | Path, *, storage: str = "mcap", compressed: bool = False,
                     rgb_topic: str = DEFAULT_RGB_TOPIC, event_topic: str = DEFAULT_EVENT_FRAME_TOPIC,
                     packet_topic: str = DEFAULT_EVENT_PACKET_TOPIC, gt_topic: str = DEFAULT_GT_TOPIC,
                     start_ns: int | None = None, frame_id: str = "camera",
                     event_frame_id: str = "event_camera") -> Path:
    """Write ``sequence`` to a new bag folder ``out_bag``; returns its path.

    ``start_ns`` is added to every stamp; by default 1 s for a source whose stamps start at 0
    (dataset folders without times), else 0. The bag is written to a scratch folder beside
    ``out_bag`` and moved into place when complete, so an interrupted conversion leaves no bag
    that looks finished.
    """
    out_bag = Path(out_bag)
    if out_bag.exists():
        raise FileExistsError(f"bag output {out_bag} already exists; remove it or choose another folder")
    scratch = out_bag.parent / f".partial-{out_bag.name}"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    count = 0
    packets = _event_packets(sequence) if sequence.has_raw_events else iter(())
    pending = next(packets, None)
    with BagWriter(scratch / out_bag.name, storage) as writer:
        write_image = writer.write_compressed_image if compressed else writer.write_image

        def write_packets(until_ns: int | None) -> None:
            # the packets up to an image's stamp go before it, in stamp order
            nonlocal pending
            while pending is not None and (until_ns is None or pending[0] + offset <= until_ns):
                stamp, seq, payload, (height, width) = pending
                writer.write_event_packet(packet_topic, stamp + offset, payload, encoding="evt3", width=width,
                                          height=height, seq=seq, frame_id=event_frame_id)
                pending = next(packets, None)

        offset = None
        for frame in sequence.frames():
            if offset is None:
                offset = int(start_ns) if start_ns is not None else (DEFAULT_START_NS if frame.stamp_ns == 0 else 0)
            stamp = offset + int(frame.stamp_ns)
            write_packets(stamp)
            write_image(rgb_topic, stamp, frame.rgb, frame_id=frame_id)
            if frame.event_frame is None:
                raise SourceError(f"sequence {sequence.name} frame {frame.index} has no event frame to write")
            write_image(event_topic, stamp, frame.event_frame, frame_id=frame_id)
            if frame.gt_xywh is not None:
                valid = frame.gt_xywh[2] > 0 and frame.gt_xywh[3] > 0
                writer.write_track(gt_topic, stamp, frame.gt_xywh, status=STATUS_TRACKING if valid else STATUS_LOST,
                                   frame_id=frame_id)
            count += 1
        if offset is not None:
            write_packets(None)  # events after the last image
    if count != len(sequence):
        raise SourceError(f"sequence {sequence.name}: {count} frames read, {len(sequence)} expected")
    (scratch / out_bag.name).rename(out_bag)
    scratch.rmdir()
    return out_bag


def _event_packets(sequence: Sequence) -> Iterator[tuple[int, int, bytes, tuple[int, int]]]:
    """``(stamp_ns, seq, evt3_payload, (height, width))`` of the sequence's raw event stream in
    ``PACKET_US`` packets; the stream's batches are re-cut so no packet straddles two of them."""
    width, height = sequence.sensor_size
    seq = 0
    carry = np.zeros(0, EVENT_DTYPE)
    last_t = None  # one EVT3 stream across batches: the decoder must see every 2^24 us rollover
    for batch in sequence.event_batches():
        events = np.concatenate([carry, batch]) if len(carry) else batch
        if not len(events):
            continue
        # keep the last, possibly incomplete, packet interval for the next batch
        cut = int(np.searchsorted(events["t"], events["t"][-1] // (PACKET_US * 1000) * PACKET_US * 1000))
        carry = events[cut:]
        for stamp, payload in packetize(events[:cut], PACKET_US, previous_t=last_t):
            yield stamp, seq, payload, (height, width)
            seq += 1
        if cut:
            last_t = int(events["t"][cut - 1])
    for stamp, payload in packetize(carry, PACKET_US, previous_t=last_t):
        yield stamp, seq, payload, (height, width)
        seq += 1
