"""Benchmark dataset folders (FE108, COESOT, FELT) as :class:`~.sequence.Sequence` sources.

Layouts (one folder per sequence under the dataset root):

- FE108:  ``<seq>/aps/frame0000.png``, ``<seq>/dvs/frame0000.png``, ``<seq>/groundtruth_rect.txt``
- COESOT, FELT: ``<seq>/<seq>_aps/``, ``<seq>/<seq>_dvs/``, ``<seq>/groundtruth.txt``

Frames are ``frame<NNNN>.png`` or ``.bmp`` (any number of digits), numbered from 0 without gaps;
the ``dvs`` folder holds the event frames rendered for the same frame numbers. The sequence list
comes from ``list.txt`` (FELT: ``list1k.txt``) when present, otherwise from the sub-folders.
Folders carry no timestamps: frame ``i`` gets ``stamp_ns = i * frame_period_ns``.

With ``events="aedat4"`` the event frames are rendered from the sequence's raw recording instead
(``<seq>/<seq>.aedat4`` or ``<seq>/events.aedat4``, read through dv-processing): frame ``i`` is
the recording's frame ``i`` and is stamped with its time, its events are cut with a
:class:`~fetrack_ros.events.WindowPolicy` (default: from the previous frame to this one, as the
node) and rendered the Event-AHU way; the ``dvs`` folder is then not needed.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..events import EventBuffer, WindowPolicy
from .groundtruth import read_boxes
from .sequence import Frame, Sequence, SourceError, check_frame_sizes

_FRAME_NAME = re.compile(r"^frame(\d+)\.(png|bmp|jpg|jpeg)$", re.IGNORECASE)
DEFAULT_FRAME_PERIOD_NS = 33_333_333  # 30 Hz; dataset folders have no per-frame times


@dataclass(frozen=True)
class Layout:
    """Where one dataset keeps a sequence's parts, relative to the sequence folder.

    ``{seq}`` in a name stands for the sequence name.
    """

    name: str
    rgb_dir: str
    event_dir: str
    gt_file: str
    list_files: tuple[str, ...]
    raw_event_files: tuple[str, ...] = ("{seq}.aedat4", "events.aedat4")  # first found is used


LAYOUTS: dict[str, Layout] = {
    "fe108": Layout("fe108", "aps", "dvs", "groundtruth_rect.txt", ("list.txt",),
                    ("events.aedat4", "{seq}.aedat4")),
    "coesot": Layout("coesot", "{seq}_aps", "{seq}_dvs", "groundtruth.txt", ("list.txt",)),
    "felt": Layout("felt", "{seq}_aps", "{seq}_dvs", "groundtruth.txt", ("list1k.txt", "list.txt")),
}

#: Where a dataset sequence's event frames come from.
EVENT_SOURCES = ("frames", "aedat4")


def get_layout(dataset: str) -> Layout:
    try:
        return LAYOUTS[dataset.lower()]
    except KeyError:
        raise SourceError(f"unknown dataset layout {dataset!r}; expected one of {sorted(LAYOUTS)}") from None


def list_frames(folder: Path) -> list[Path]:
    """The ``frame<N>`` images of ``folder`` sorted by N; N must run 0..len-1 without gaps.

    Raises :class:`SourceError` for a missing folder, no frames, duplicated or missing numbers.
    """
    if not folder.is_dir():
        raise SourceError(f"frame folder not found: {folder}")
    numbered: dict[int, Path] = {}
    for path in folder.iterdir():
        match = _FRAME_NAME.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in numbered:
            raise SourceError(f"{folder}: frame number {number} appears twice "
                              f"({numbered[number].name} and {path.name})")
        numbered[number] = path
    if not numbered:
        raise SourceError(f"{folder}: no frame images (expected frame0000.png or frame0000.bmp, ...)")
    missing = sorted(set(range(max(numbered) + 1)) - set(numbered))
    if missing:
        shown = ", ".join(str(m) for m in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise SourceError(f"{folder}: {len(missing)} missing frame(s) between 0 and {max(numbered)}: "
                          f"numbers {shown}")
    return [numbered[i] for i in range(len(numbered))]


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as H x W x 3 uint8 RGB (grayscale is expanded to three channels)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        what = "missing" if not path.exists() else "unreadable or not an image"
        raise SourceError(f"image {path} is {what}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class FolderSequence(Sequence):
    """One sequence folder of a benchmark dataset; frames are read lazily from disk.

    ``events``: ``"frames"`` reads the ``dvs`` event frames; ``"aedat4"`` renders them from the
    raw recording, windowed by ``window`` (see the module docstring). The folder structure,
    the ground-truth length and (aedat4) the recording's frame count are checked on
    construction; images are decoded (and their sizes checked) while iterating.
    """

    def __init__(self, seq_dir: str | Path, dataset: str = "coesot",
                 frame_period_ns: int = DEFAULT_FRAME_PERIOD_NS, require_gt: bool = True,
                 events: str = "frames", window: WindowPolicy | None = None):
        self.seq_dir = Path(seq_dir)
        self.layout = get_layout(dataset)
        self.name = self.seq_dir.name
        self.frame_period_ns = int(frame_period_ns)
        if events not in EVENT_SOURCES:
            raise ValueError(f"events={events!r} is unknown; expected one of {EVENT_SOURCES}")
        self.window = window if window is not None else WindowPolicy()
        if not self.seq_dir.is_dir():
            raise SourceError(f"sequence folder not found: {self.seq_dir}")
        self.rgb_paths = list_frames(self.seq_dir / self.layout.rgb_dir.format(seq=self.name))
        self.stamps_ns = np.arange(len(self.rgb_paths), dtype=np.int64) * self.frame_period_ns
        self.aedat4_path: Path | None = None  # the raw recording the event frames come from
        self.event_paths: list[Path] | None = None
        if events == "aedat4":
            self.aedat4_path = self._find_recording()
            self._read_recording_times()
        else:
            self.event_paths = list_frames(self.seq_dir / self.layout.event_dir.format(seq=self.name))
            if len(self.event_paths) != len(self.rgb_paths):
                raise SourceError(f"sequence {self.name}: {len(self.rgb_paths)} RGB frames but "
                                  f"{len(self.event_paths)} event frames; they must correspond one to one")
        gt_path = self.seq_dir / self.layout.gt_file
        self._gt: np.ndarray | None = None
        if gt_path.exists():
            gt = read_boxes(gt_path)
            if len(gt) < len(self.rgb_paths):
                raise SourceError(f"{gt_path}: {len(gt)} ground-truth lines for {len(self.rgb_paths)} "
                                  f"frames; expected one line per frame")
            if len(gt) > len(self.rgb_paths):
                raise SourceError(f"{gt_path}: {len(gt)} ground-truth lines but only {len(self.rgb_paths)} "
                                  f"frames in {self.rgb_paths[0].parent}; expected one line per frame")
            self._gt = gt
        elif require_gt:
            raise SourceError(f"sequence {self.name}: ground-truth file not found: {gt_path}")

    def _find_recording(self) -> Path:
        candidates = [self.seq_dir / name.format(seq=self.name) for name in self.layout.raw_event_files]
        for path in candidates:
            if path.is_file():
                return path
        raise SourceError(f"sequence {self.name}: no raw event recording to render event frames from; looked "
                          f"for {', '.join(str(c) for c in candidates)}")

    def _read_recording_times(self) -> None:
        from ..events import EventDecodeError, aedat4_event_resolution, read_aedat4_frame_times
        try:
            stamps = read_aedat4_frame_times(self.aedat4_path)
            self.sensor_size = aedat4_event_resolution(self.aedat4_path)  # (width, height)
        except (EventDecodeError, ImportError) as exc:
            raise SourceError(str(exc)) from None
        if len(stamps) != len(self.rgb_paths):
            raise SourceError(f"sequence {self.name}: {self.aedat4_path} has {len(stamps)} frames but "
                              f"{self.rgb_paths[0].parent} has {len(self.rgb_paths)}; frame i of the folder must "
                              f"be frame i of the recording")
        if len(stamps) > 1 and np.any(np.diff(stamps) <= 0):
            raise SourceError(f"sequence {self.name}: the frame times in {self.aedat4_path} do not increase")
        self.stamps_ns = stamps

    def __len__(self) -> int:
        return len(self.rgb_paths)

    @property
    def has_raw_events(self) -> bool:
        return self.aedat4_path is not None

    @property
    def gt_xywh(self) -> np.ndarray | None:
        return None if self._gt is None else self._gt.copy()

    def frames(self) -> Iterator[Frame]:
        if self.has_raw_events:
            yield from self._frames_from_recording()
            return
        sizes = None
        for i, (rgb_path, event_path) in enumerate(zip(self.rgb_paths, self.event_paths)):
            rgb = read_rgb(rgb_path)
            event_frame = read_rgb(event_path)
            sizes = check_frame_sizes(sizes, rgb, event_frame, f"sequence {self.name} frame {i}")
            yield Frame(index=i, stamp_ns=int(self.stamps_ns[i]), rgb=rgb, event_frame=event_frame,
                        gt_xywh=None if self._gt is None else self._gt[i].copy())

    def event_batches(self) -> Iterator[np.ndarray]:
        """The raw recording's events in file order (EVENT_DTYPE, ns in the frames' clock)."""
        from ..events import EventDecodeError, iter_aedat4_events
        if self.aedat4_path is None:
            raise SourceError(f"sequence {self.name} reads event frames (events='frames'): no raw events")
        try:
            yield from iter_aedat4_events(self.aedat4_path)
        except EventDecodeError as exc:
            raise SourceError(str(exc)) from None

    def _frames_from_recording(self) -> Iterator[Frame]:
        from ..events import render_ahu
        from ..sync import FrameAssembler
        policy = dataclasses.replace(self.window)  # between_frames keeps state: one per pass
        width, height = self.sensor_size
        # the buffer keeps the longest window, and a second for the batches read past its end
        spans = np.diff(self.stamps_ns) if len(self.stamps_ns) > 1 else np.zeros(1, np.int64)
        longest = max(int(spans.max()), policy.duration_ns, policy.exposure_ns)
        assembler = FrameAssembler(policy=policy, sensor_hw=(height, width), max_pending=len(self.stamps_ns) + 1,
                                   buffer=EventBuffer(max_span_ns=longest + 1_000_000_000))
        for i, stamp in enumerate(self.stamps_ns.tolist()):
            assembler.add_image(i, stamp, 0.0)
        sizes = None

        def release(ready) -> Iterator[Frame]:
            nonlocal sizes
            for frame in ready:
                i, events = frame.item, frame.events
                rgb = read_rgb(self.rgb_paths[i])
                event_frame = render_ahu(events, height, width)
                sizes = check_frame_sizes(sizes, rgb, event_frame, f"sequence {self.name} frame {i}")
                yield Frame(index=i, stamp_ns=int(self.stamps_ns[i]), rgb=rgb, event_frame=event_frame,
                            events=events, gt_xywh=None if self._gt is None else self._gt[i].copy())

        for batch in self.event_batches():
            assembler.add_events(batch)
            yield from release(assembler.release(0.0))
        yield from release(assembler.finish())


def list_sequences(root: str | Path, dataset: str = "coesot", list_file: str | Path | None = None) -> list[str]:
    """Sequence names of a dataset root: from ``list_file`` (relative to root or absolute), else
    from the layout's list file if present, else every sub-folder (sorted)."""
    root = Path(root)
    layout = get_layout(dataset)
    if not root.is_dir():
        raise SourceError(f"dataset root not found: {root}")
    candidates = [root / list_file] if list_file is not None else [root / f for f in layout.list_files]
    for path in candidates:
        if path.is_file():
            names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
            if not names:
                raise SourceError(f"sequence list {path} is empty")
            return names
    if list_file is not None:
        raise SourceError(f"sequence list not found: {candidates[0]}")
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not names:
        raise SourceError(f"dataset root {root} has no sequence folders and no {' or '.join(layout.list_files)}")
    return names


def open_dataset(root: str | Path, dataset: str = "coesot", list_file: str | Path | None = None,
                 names: list[str] | None = None, **kwargs) -> list[FolderSequence]:
    """All (or the named) sequences of a dataset root; extra kwargs go to :class:`FolderSequence`.

    Every sequence is checked up front, so a malformed folder is reported before any tracking.
    """
    root = Path(root)
    names = list(names) if names is not None else list_sequences(root, dataset, list_file)
    return [FolderSequence(root / name, dataset, **kwargs) for name in names]
