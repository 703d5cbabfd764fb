"""The long fuzz run (``make fuzz``): hostile input through the node's own input path, counted.

Cases are mutations of well-formed traffic, fed through exactly what the node's callbacks run,
in one long-lived state (as a node that has been up for hours): serialized EventPackets (bit
flips, truncation, random fields and encodings, duplicates, reordering, bursts) through
``parse_event_packet`` and a :class:`FrameAssembler` with the node's default settings; Image
messages of any encoding, size and step through ``check_image_msg`` + ``image_to_rgb``; and
malformed checkpoint files through ``read_checkpoint``. A valid image every 33 packet cases keeps
windows being cut. Anything other than the documented error of a path is a crash; a case slower
than ``HANG_S`` a hang. Memory is the process RSS, sampled every 1000 cases.

Writes ``reports/fuzz.json`` and ``reports/fuzz.md``. Usage: ``python -m bench.fuzz [--cases N]``.
"""
from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

REPORT_DIR = Path(__file__).resolve().parents[1] / "reports"
HANG_S = 2.0
OFFSET_NS = 1_800_000_000 * 10**9
IMAGE_ENCODINGS = ["rgb8", "bgr8", "rgba8", "mono8", "mono16", "bayer_rggb8", "yuv422", "nv12", "nv21", "16UC1",
                   "32FC1", "8UC4", "jpeg", ""]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class PacketSource:
    """Well-formed 1 ms EVT3 packets (1 M events/s on 346x260) and their serialized form."""

    def __init__(self, rng) -> None:
        from fetrack_ros.data.rostypes import EVENT_PACKET, get_typestore

        self.rng, self.typestore, self.msgtype = rng, get_typestore(), EVENT_PACKET
        self.t_us, self.seq = 1_000_000, 0

    def next(self, encoding="evt3"):
        from fetrack_ros.events import encode_evt3, encode_mono, make_events

        n = 1000
        t = np.sort(self.rng.integers(self.t_us, self.t_us + 1000, n))
        events = make_events(self.rng.integers(0, 346, n), self.rng.integers(0, 260, n), t * 1000,
                             self.rng.integers(0, 2, n))
        data, time_base = (encode_evt3(events), 0) if encoding == "evt3" else encode_mono(events)
        stamp = OFFSET_NS + self.t_us * 1000 + 200_000
        self.t_us += 1000
        self.seq += 1
        return self.serialize(stamp, 260, 346, self.seq, time_base, encoding, data)

    def serialize(self, stamp, height, width, seq, time_base, encoding, data) -> bytes:
        from rosbags.typesys.stores.ros2_jazzy import builtin_interfaces__msg__Time as Time
        from rosbags.typesys.stores.ros2_jazzy import std_msgs__msg__Header as Header

        cls = self.typestore.types[self.msgtype]
        msg = cls(header=Header(stamp=Time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id="ev"),
                  height=height, width=width, seq=seq, time_base=time_base, encoding=encoding, is_bigendian=False,
                  events=np.frombuffer(bytes(data), np.uint8))
        return bytes(self.typestore.serialize_cdr(msg, self.msgtype))


def mutate_packet(source: PacketSource, rng) -> tuple[str, list[bytes]]:
    """(mutation name, serialized packets to feed in order)."""
    kind = rng.choice(["valid", "bitflip", "truncate", "fields", "random_payload", "random_bytes", "duplicate",
                       "reorder", "mono", "mono_time_base", "burst", "length_lie"])
    if kind == "valid":
        return kind, [source.next()]
    if kind == "bitflip":
        raw = bytearray(source.next())
        for i in rng.integers(0, len(raw), int(rng.integers(1, 200))):
            raw[i] ^= 1 << int(rng.integers(0, 8))
        return kind, [bytes(raw)]
    if kind == "truncate":
        raw = source.next()
        return kind, [raw[:int(rng.integers(0, len(raw)))]]
    if kind == "fields":
        source.next()
        stamp = OFFSET_NS + source.t_us * 1000 + int(rng.integers(-2**40, 2**40))
        return kind, [source.serialize(max(stamp, 0), int(rng.choice([0, 1, 260, 2**32 - 1, int(rng.integers(0, 2**32))])),
                                       int(rng.choice([0, 1, 346, 65536, int(rng.integers(0, 2**32))])),
                                       int(rng.integers(0, 2**63)), int(rng.integers(0, 2**63)) * 2,
                                       str(rng.choice(["evt3", "mono", "libcaer_cmp", "x" * 40, ""])),
                                       rng.integers(0, 256, int(rng.integers(0, 500)), dtype=np.uint8).tobytes())]
    if kind == "random_payload":
        source.next()
        return kind, [source.serialize(OFFSET_NS + source.t_us * 1000, 260, 346, source.seq, 0, "evt3",
                                       rng.integers(0, 256, int(rng.integers(0, 4000)), dtype=np.uint8).tobytes())]
    if kind == "random_bytes":
        return kind, [rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()]
    if kind == "duplicate":
        raw = source.next()
        return kind, [raw, raw]
    if kind == "reorder":
        first, second = source.next(), source.next()
        return kind, [second, first]
    if kind == "mono":
        return kind, [source.next("mono")]
    if kind == "mono_time_base":
        source.next()
        word = np.array([0xFFFFFFFF | 3 << 32 | 2 << 48], "<u8").tobytes()
        return kind, [source.serialize(OFFSET_NS + source.t_us * 1000, 260, 346, source.seq, 2**63 + int(rng.integers(0, 2**62)),
                                       "mono", word)]
    if kind == "burst":
        return kind, [source.next() for _ in range(int(rng.integers(5, 40)))]
    from fetrack_ros.messages.cdr import parse_event_packet

    raw = bytearray(source.next())  # length_lie: the events length field says anything
    at = len(raw) - len(parse_event_packet(bytes(raw)).payload) - 4
    raw[at:at + 4] = int(rng.integers(0, 2**32)).to_bytes(4, "little")
    return kind, [bytes(raw)]


def image_case(rng):
    from types import SimpleNamespace

    encoding = str(rng.choice(IMAGE_ENCODINGS))
    height, width = int(rng.integers(0, 40)), int(rng.integers(0, 40))
    step = max(int(width * rng.integers(0, 9) + rng.integers(-4, 5)), 0)
    size = int(rng.integers(0, 40 * 40 * 8))
    return encoding, SimpleNamespace(encoding=encoding, height=height, width=width, step=step,
                                     data=rng.integers(0, 256, size, dtype=np.uint8).tobytes(),
                                     is_bigendian=bool(rng.integers(0, 2)))


def checkpoint_case(rng, folder: Path) -> tuple[str, Path]:
    import zipfile

    import torch

    kind = str(rng.choice(["random", "truncated", "member", "deflated", "nan"]))
    path = folder / f"{kind}.pt"
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(64)}, buf)
    valid = buf.getvalue()
    if kind == "random":
        path.write_bytes(rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes())
    elif kind == "truncated":
        path.write_bytes(valid[:int(rng.integers(0, len(valid)))])
    elif kind in ("member", "deflated"):
        with zipfile.ZipFile(io.BytesIO(valid)) as src, zipfile.ZipFile(
                path, "w", zipfile.ZIP_DEFLATED if kind == "deflated" else zipfile.ZIP_STORED) as dst:
            names = src.namelist()
            victim = names[int(rng.integers(0, len(names)))]
            for name in names:
                data = src.read(name)
                if name == victim and kind == "member":
                    data = rng.integers(0, 256, len(data), dtype=np.uint8).tobytes()
                elif name == victim:
                    data = bytes(int(rng.integers(2**20, 2**24)))  # compresses ~1000x
                dst.writestr(name, data)
    else:
        torch.save({"w": torch.full((8,), float("nan"))}, path)
    return kind, path


def run(cases: int, seed: int = 0) -> dict:
    from fetrack_ros.events import EventBuffer, WindowPolicy
    from fetrack_ros.messages import EventDecoding, ImageConversionError, check_image_msg, image_to_rgb
    from fetrack_ros.messages.cdr import CdrError, parse_event_packet
    from fetrack_ros.model import CheckpointError, read_checkpoint
    from fetrack_ros.sync import FrameAssembler

    rng = np.random.default_rng(seed)
    source = PacketSource(rng)
    assembler = FrameAssembler(policy=WindowPolicy(), decoding=EventDecoding("event_packet", "header"),
                               buffer=EventBuffer(max_span_ns=500_000_000), max_wait_s=0.1)
    kinds, reasons, crashes, hangs = Counter(), Counter(), [], []
    rss = [_rss_mb()]
    frames = 0
    started = time.perf_counter()
    slowest = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(cases):
            t0 = time.perf_counter()
            area = "packet" if case % 10 < 8 else ("image" if case % 10 == 8 else "checkpoint")
            if area == "checkpoint" and case % 100 != 9:  # checkpoints are slow: 1 case in 100
                area = "image"
            try:
                if area == "packet":
                    kind, raws = mutate_packet(source, rng)
                    records = []
                    for raw in raws:
                        try:
                            records.append(parse_event_packet(raw))
                        except CdrError:
                            reasons["events.bad_message"] += 1
                    assembler.add_event_messages(records, case * 1e-3)
                    if case % 33 == 0:
                        assembler.add_image(case, OFFSET_NS + (source.t_us - 500) * 1000, case * 1e-3)
                    frames += len(assembler.release(case * 1e-3))
                elif area == "image":
                    kind, msg = image_case(rng)
                    try:
                        check_image_msg(msg)
                        image_to_rgb(msg)
                        reasons["images.converted"] += 1
                    except ImageConversionError:
                        reasons["dropped.bad_image"] += 1
                else:
                    kind, path = checkpoint_case(rng, Path(tmp))
                    try:
                        read_checkpoint(path)
                        reasons["checkpoint.accepted"] += 1
                    except CheckpointError:
                        reasons["checkpoint.refused"] += 1
                kinds[f"{area}.{kind}"] += 1
            except Exception:
                crashes.append(traceback.format_exc(limit=3))
            elapsed = time.perf_counter() - t0
            slowest = max(slowest, elapsed)
            if elapsed > HANG_S:
                hangs.append((case, area, elapsed))
            if case % 1000 == 999:
                rss.append(_rss_mb())
                reasons.update(assembler.take_counts())
                print(f"[fuzz] {case + 1}/{cases} cases, {len(crashes)} crashes, RSS {rss[-1]:.0f} MB", flush=True)
    reasons.update(assembler.take_counts())
    frames += len(assembler.finish())
    return {"cases": cases, "seed": seed, "seconds": time.perf_counter() - started, "crashes": len(crashes),
            "crash_examples": crashes[:5], "hangs": len(hangs), "slowest_case_s": slowest,
            "frames_released": frames, "rss_mb": {"start": rss[0], "after_1000": rss[min(1, len(rss) - 1)],
                                                   "max": max(rss), "end": rss[-1]},
            "cases_by_kind": dict(sorted(kinds.items())), "reasons": dict(sorted(reasons.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.cases, args.seed)
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / "fuzz.json").write_text(json.dumps(result, indent=2))
    lines = [f"# Fuzz run: {result['cases']} cases (seed {result['seed']}), {result['seconds']:.0f} s\n",
             f"- crashes: {result['crashes']}, hangs (> {HANG_S} s): {result['hangs']}, slowest case "
             f"{result['slowest_case_s'] * 1e3:.0f} ms, frames released: {result['frames_released']}",
             f"- RSS MB: start {result['rss_mb']['start']:.0f}, after 1000 cases {result['rss_mb']['after_1000']:.0f}, "
             f"max {result['rss_mb']['max']:.0f}, end {result['rss_mb']['end']:.0f}\n",
             "| case kind | cases |", "|---|---|", *[f"| {k} | {v} |" for k, v in result["cases_by_kind"].items()],
             "", "| reason | count |", "|---|---|", *[f"| {k} | {v} |" for k, v in result["reasons"].items()]]
    (REPORT_DIR / "fuzz.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if result["crashes"] or result["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
