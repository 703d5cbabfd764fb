"""Classical trackers run on the same frames as the network, as the reference point of every
accuracy claim (RGB only: they never see the events)."""
from __future__ import annotations

import time

import numpy as np


def track_csrt(frames: list) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV CSRT on the RGB ``frames`` from the first ground-truth box: ``(boxes (N, 4), seconds (N-1,))``,
    boxes ``[x, y, w, h]`` in pixels, seconds per ``update`` call.

    The first box is rounded to whole pixels (CSRT's ``init`` takes integers). A frame where CSRT
    reports failure keeps its previous box (what a user of it would publish).
    """
    import cv2

    tracker = cv2.TrackerCSRT.create()
    box = frames[0].gt_xywh.astype(np.float64)
    tracker.init(np.ascontiguousarray(frames[0].rgb[..., ::-1]), tuple(int(round(v)) for v in box))
    boxes, seconds = [box], []
    for frame in frames[1:]:
        start = time.perf_counter()
        ok, found = tracker.update(np.ascontiguousarray(frame.rgb[..., ::-1]))
        seconds.append(time.perf_counter() - start)
        if ok:
            box = np.asarray(found, dtype=np.float64)
        boxes.append(box)
    return np.stack(boxes), np.asarray(seconds)
