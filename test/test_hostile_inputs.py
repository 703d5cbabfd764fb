"""Hostile and broken inputs (issue 17, findings F1-F10): each is refused with a named reason.

The decoders, converters and readers are pure functions of their input bytes, so these tests
hand them the bytes directly; the same inputs sent to the running node over DDS are in
``test_node_hostile.py``.
"""
import zipfile
from types import SimpleNamespace as Msg

import numpy as np
import pytest
import torch

from fetrack_ros.events import EventDecodeError, MonoDecoder, encode_evt3, make_events
from fetrack_ros.messages import EventDecoding, ImageConversionError, image_to_rgb
from fetrack_ros.messages.cdr import CdrError, PacketRecord, parse_event_packet
from fetrack_ros.model import CheckpointError, build_model, read_checkpoint


def mono_packet(time_base, dt=(0, 5), seq=0, stamp_ns=10**9):
    words = np.array([d | (3 << 32) | (2 << 48) for d in dt], "<u8").tobytes()
    return PacketRecord(stamp_ns, 260, 346, seq, time_base, "mono", words)


def evt3_packet(events, seq, stamp_ns, width=346, height=260):
    return PacketRecord(stamp_ns, height, width, seq, 0, "evt3", encode_evt3(events))


def events_at(t_us, x=1, y=2):
    n = len(t_us)
    return make_events(np.full(n, x), np.full(n, y), np.asarray(t_us, np.int64) * 1000, np.arange(n) % 2)


# ------------------------------------------------------------------ F1, F2: mono time_base
@pytest.mark.parametrize("time_base", [2**63, 2**64 - 1, 2**63 - 1, 2**63 - 2**32 + 1])
def test_f1_f2_mono_time_base_beyond_int64_is_refused_by_the_decoder(time_base):
    with pytest.raises(EventDecodeError, match="does not fit an int64"):
        MonoDecoder().decode(mono_packet(0, dt=(0, 0xFFFFFFFF)).payload, time_base)


def test_f1_f2_mono_time_base_is_a_named_skip_for_the_node_and_the_stream_goes_on():
    decoding = EventDecoding("event_packet", "fixed")
    chunks, _, errors = decoding.decode_many([mono_packet(2**63, seq=1), mono_packet(2**63 - 2**31, (0, 2**31 + 7), 2),
                                              mono_packet(1000, seq=3)])
    assert [e.reason for e in errors] == ["events.malformed_packet"] * 2
    assert "time_base" in str(errors[0])
    (events,) = chunks
    assert list(events["t"]) == [1000, 1005]  # never a negative (wrapped) time


def test_mono_time_base_at_the_int64_edge_still_decodes():
    events = MonoDecoder().decode(mono_packet(0, dt=(0, 7)).payload, 2**63 - 8).events
    assert list(events["t"]) == [2**63 - 8, 2**63 - 1]


# ------------------------------------------------------------------ F6, F9: counters
def test_f6_events_outside_the_packet_geometry_are_counted():
    decoding = EventDecoding("event_packet", "fixed")
    source = make_events([10, 500, 600, 20], [5, 5, 300, 5], np.array([1, 2, 3, 4]) * 1000, [1, 1, 1, 1])
    (events,), _, errors = decoding.decode_many([evt3_packet(source, 0, 10**9, width=346, height=260)])
    assert not errors and list(events["x"]) == [10, 20]
    assert decoding.counts["events.out_of_geometry"] == 2


def test_f9_duplicate_packets_are_skipped_and_seq_gaps_counted():
    decoding = EventDecoding("event_packet", "fixed")
    packets = [evt3_packet(events_at([1000 + 10 * k]), seq=k, stamp_ns=10**9 + k * 10**6) for k in range(6)]
    stream = [packets[0], packets[1], packets[1], packets[2], packets[5]]  # 1 repeated, 3 and 4 lost
    chunks, _, errors = decoding.decode_many(stream)
    assert [e.reason for e in errors] == ["events.duplicate_packet"]
    assert len(np.concatenate(chunks)) == 4
    assert decoding.counts["events.lost_packets"] == 2


def test_seq_left_constant_by_a_producer_is_not_judged():
    decoding = EventDecoding("event_packet", "fixed")
    packets = [evt3_packet(events_at([1000 + 10 * k]), seq=0, stamp_ns=10**9 + k * 10**6) for k in range(4)]
    chunks, _, errors = decoding.decode_many(packets)
    assert not errors and len(np.concatenate(chunks)) == 4 and not decoding.counts


def test_a_producer_restart_resets_seq_without_counting_loss():
    decoding = EventDecoding("event_packet", "fixed")
    packets = [evt3_packet(events_at([1000 + 10 * k]), seq=s, stamp_ns=10**9 + k * 10**6)
               for k, s in enumerate([500, 501, 0, 1])]
    decoding.decode_many(packets)
    assert decoding.counts == {"events.seq_reset": 1}


# ------------------------------------------------------------------ F7: image encodings
@pytest.mark.parametrize("encoding,width,height", [("nv12", 5, 4), ("nv21", 4, 5), ("yuv422", 3, 2)])
def test_f7_unconvertible_image_sizes_are_image_errors(encoding, width, height):
    msg = Msg(encoding=encoding, height=height, width=width, step=width * 2, data=bytes(width * height * 2),
              is_bigendian=0)
    with pytest.raises(ImageConversionError, match=encoding):
        image_to_rgb(msg)


def test_nv12_images_convert_with_their_chroma_rows():
    import cv2

    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # Y rows, then U and V planes
    u, v = i420[4:5].reshape(-1)[:6], i420[5:6].reshape(-1)[:6]
    nv12 = np.concatenate([i420[:4], np.stack([u, v], 1).reshape(2, 6)])  # Y rows, then interleaved UV
    out = image_to_rgb(Msg(encoding="nv12", height=4, width=6, step=6, data=nv12.tobytes(), is_bigendian=0))
    assert out.shape == (4, 6, 3) and tuple(out[0, 0]) == (200, 0, 0)


# ------------------------------------------------------------------ F3, F4, F5: checkpoints
@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(0)
    return build_model("vim_t", depth=1).state_dict()


def _deflated_copy(path, out):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))


def test_f3_a_decompression_bomb_is_refused_before_inflating(tmp_path):
    plain = tmp_path / "zeros.pt"
    torch.save({"state_dict": {"w": torch.zeros(16 * 2**20)}}, plain)  # a 64 MiB record
    bomb = tmp_path / "bomb.pt"
    _deflated_copy(plain, bomb)
    assert bomb.stat().st_size < 2**20
    with pytest.raises(CheckpointError, match=r"declares 67108864 bytes stored in \d+"):
        read_checkpoint(bomb)


def test_f3_an_ordinary_checkpoint_passes_the_size_check(tmp_path, tiny_state):
    path = tmp_path / "ok.pt"
    torch.save(tiny_state, path)
    state, _ = read_checkpoint(path)
    assert state.keys() == tiny_state.keys()


def test_f4_a_wrongly_shaped_architecture_tensor_is_named(tmp_path, tiny_state):
    from fetrack_ros.model import load_model

    bad = dict(tiny_state)
    key = "backbone.layers.0.mixer.A_log"
    bad[key] = bad[key][: bad[key].shape[0] // 4]
    path = tmp_path / "bad.pt"
    torch.save(bad, path)
    with pytest.raises(CheckpointError, match=r"A_log has shape \(\d+, \d+\), expected \(expand x"):
        load_model(path)
    bad[key] = torch.zeros(3)  # wrong rank
    torch.save(bad, path)
    with pytest.raises(CheckpointError, match="shapes read: .*A_log"):
        load_model(path)


def test_f5_non_finite_weights_are_refused_at_load(tmp_path, tiny_state):
    bad = {k: v.clone() for k, v in tiny_state.items()}
    bad["box_head.conv1_ctr.0.weight"].view(-1)[3] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(bad, path)
    with pytest.raises(CheckpointError, match=r"box_head.conv1_ctr.0.weight .* 1 NaN or infinite"):
        read_checkpoint(path)


# ------------------------------------------------------------------ CDR reading
def test_cdr_reading_matches_rclpy_serialization():
    from event_camera_msgs.msg import EventPacket
    from rclpy.serialization import serialize_message

    msg = EventPacket(height=260, width=346, seq=2**40 + 3, time_base=2**63 + 5, encoding="evt3",
                      events=bytes(range(7)))
    msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id = 17, 999, "camera_frame"
    record = parse_event_packet(serialize_message(msg))
    assert record == PacketRecord(17 * 10**9 + 999, 260, 346, 2**40 + 3, 2**63 + 5, "evt3", record.payload)
    assert bytes(record.payload) == bytes(range(7))


@pytest.mark.parametrize("raw,match", [(b"", "fewer than"), (b"\x00\x09\x00\x00" + bytes(40), "encapsulation"),
                                       (b"\x00\x01\x00\x00" + bytes(6), "inside its fixed fields"),
                                       (b"\x00\x01\x00\x00" + bytes(8) + b"\xff\xff\xff\x7f", "string")])
def test_cdr_reading_refuses_broken_bytes(raw, match):
    with pytest.raises(CdrError, match=match):
        parse_event_packet(raw)


def test_cdr_payload_longer_than_the_message_is_refused():
    from event_camera_msgs.msg import EventPacket
    from rclpy.serialization import serialize_message

    raw = bytearray(serialize_message(EventPacket(encoding="evt3", events=bytes(16))))
    raw[-20:-16] = (10**6).to_bytes(4, "little")  # the events length field
    with pytest.raises(CdrError, match="declares 1000000 bytes"):
        parse_event_packet(bytes(raw))


# ------------------------------------------------------------------ F10: damaged bags
def _event_bag(path, frames=6):
    from fetrack_ros.data.bagwriter import BagWriter

    rng = np.random.default_rng(0)
    offset = 1_700_000_000 * 10**9
    with BagWriter(path, "sqlite3") as writer:
        for k in range(frames * 33):
            t = np.sort(rng.integers(k * 1000, (k + 1) * 1000, 300)) + 1_000_000
            events = make_events(rng.integers(0, 64, 300), rng.integers(0, 48, 300), t * 1000, rng.integers(0, 2, 300))
            writer.write_event_packet("/events", offset + (k * 1000 + 1_000_000) * 1000, encode_evt3(events),
                                      encoding="evt3", width=64, height=48, seq=k)
            if k % 33 == 32:
                stamp = offset + ((k + 1) * 1000 + 1_000_000) * 1000
                writer.write_image("/image", stamp, np.full((48, 64, 3), 100, np.uint8))
    return path


def test_f10_a_bag_with_flipped_payload_bytes_reports_its_problems(tmp_path, capsys):
    import sqlite3

    from fetrack_ros.data.bags import BagSequence

    clean = BagSequence(_event_bag(tmp_path / "clean"), event_topic="/events")
    assert len(list(clean.frames())) == 6 and clean.input_problems == {}
    damaged = _event_bag(tmp_path / "damaged")
    (db,) = damaged.glob("*.db3")
    rng = np.random.default_rng(1)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT m.id, m.data FROM messages m JOIN topics t ON m.topic_id = t.id "
                            "WHERE t.name = '/events'").fetchall()
        assert len(rows) == 198
        for row_id, data in [rows[i] for i in rng.choice(len(rows), 150, replace=False)] + rows[:50]:
            data = bytearray(data)
            data[rng.integers(len(data) - 400, len(data))] ^= 0xFF  # one byte of the EVT3 payload
            conn.execute("UPDATE messages SET data = ? WHERE id = ?", (bytes(data), row_id))
    sequence = BagSequence(damaged, event_topic="/events")
    assert len(list(sequence.frames())) == 6
    assert sequence.input_problems, "200 flipped payload bytes went unnoticed"
    assert set(sequence.input_problems) <= {"events.malformed_packet", "events.out_of_geometry",
                                            "events.implausible_time", "events.buffer_resets"}
