"""mono, legacy-array and aedat4 decoding, and the EventPacket decoder factory."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetrack_ros.events import (EVENT_DTYPE, EventDecodeError, MonoDecoder, decode_legacy_arrays, encode_mono,
                                make_decoder, make_events, read_aedat4_events)
from fetrack_ros.messages.cdr import PacketRecord
from fetrack_ros.messages.events import EventDecoding


def test_mono_stream_equals_reference_decoder(evt3_fixtures):
    d = np.load(evt3_fixtures.stream("mono_stream"), allow_pickle=False)
    data, offsets = d["bytes"], d["packet_offsets"]
    decoding = EventDecoding("event_packet", "fixed", fixed_offset_ns=0)  # times stay sensor times
    parts = [decoding.decode(PacketRecord(1_000_000 * k, int(d["height"]), int(d["width"]), k, int(d["time_base"][k]),
                                          "mono", data[offsets[k]:offsets[k + 1]].tobytes()))[0]
             for k in range(len(offsets) - 1)]
    assert [len(p) for p in parts] == d["dec_cd_counts"].tolist()
    events = np.concatenate(parts)
    for field in ("x", "y", "p"):
        np.testing.assert_array_equal(events[field], d[f"dec_{field}"])
    np.testing.assert_array_equal(events["t"], d["cpp_cd_t"].astype(np.int64))
    # event_camera_py keeps only the low 32 bits (deliberate difference: we keep int64)
    np.testing.assert_array_equal(events["t"].astype(np.uint32).view(np.int32), d["dec_t"])
    # a mono packet starts at its time_base, its first event may be later
    last = MonoDecoder().decode(data[offsets[-2]:offsets[-1]].tobytes(), int(d["time_base"][-1]))
    assert last.start_time_ns == int(d["time_base"][-1]) and len(last.triggers) == 0
    np.testing.assert_array_equal(last.events, parts[-1])


def test_mono_round_trip_bit_layout():
    rng = np.random.default_rng(0)
    n = 5000
    events = make_events(rng.integers(0, 2**16, n), rng.integers(0, 2**15, n),
                         np.sort(rng.integers(10**15, 10**15 + 2**32, n)), rng.integers(0, 2, n))
    data, time_base = encode_mono(events)
    assert time_base == events["t"][0] and len(data) == 8 * n
    word = int.from_bytes(data[8:16], "little")  # docs/design.md §6 layout, checked by hand once
    e = events[1]
    assert word == (int(e["p"]) << 63 | int(e["y"]) << 48 | int(e["x"]) << 32 | int(e["t"]) - time_base)
    np.testing.assert_array_equal(MonoDecoder().decode(data, time_base).events, events)
    with pytest.raises(ValueError, match="dt"):
        encode_mono(make_events([0, 0], [0, 0], [0, 2**32], [1, 1]))
    with pytest.raises(ValueError, match="15 bits"):
        encode_mono(make_events([0], [2**15], [0], [1]))


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=200), time_base=st.integers(0, 2**62))
def test_mono_random_bytes_then_recovery(garbage, time_base):
    decoder = MonoDecoder()
    events = decoder.decode(garbage, time_base).events
    assert events.dtype == EVENT_DTYPE and len(events) == len(garbage) // 8
    assert decoder.stats.partial_bytes == len(garbage) % 8
    valid = make_events([1, 2], [3, 4], [10, 20], [1, 0])
    data, base = encode_mono(valid)
    np.testing.assert_array_equal(decoder.decode(data, base).events, valid)


def test_legacy_arrays():
    events = decode_legacy_arrays([1, 2], [3, 4], [1, 2], [True, False], ts_nanosec=[5, 999_999_999])
    assert events.dtype == EVENT_DTYPE
    assert events["t"].tolist() == [1_000_000_005, 2_999_999_999] and events["p"].tolist() == [1, 0]
    np.testing.assert_array_equal(decode_legacy_arrays([1], [2], np.array([7], np.int64), [1])["t"], [7])
    with pytest.raises(ValueError, match="'y'"):
        decode_legacy_arrays([1, 2], [3], [1, 2], [0, 1])
    with pytest.raises(ValueError, match="'x'"):
        decode_legacy_arrays([70000], [3], [1], [0])


def test_aedat4_written_by_dv_processing(tmp_path):
    dv = pytest.importorskip("dv_processing")
    store = dv.EventStore()
    expected = [(1000, 1, 2, True), (1500, 3, 4, False), (1500, 639, 479, True)]
    for t, x, y, p in expected:
        store.push_back(t, x, y, p)
    writer = dv.io.MonoCameraWriter(str(tmp_path / "t.aedat4"),
                                    dv.io.MonoCameraWriter.EventOnlyConfig("test", (640, 480)))
    writer.writeEvents(store)
    del writer  # closes the file
    events, size = read_aedat4_events(tmp_path / "t.aedat4")
    assert size == (640, 480)
    assert events.tolist() == [(x, y, t * 1000, int(p)) for t, x, y, p in expected]
    with pytest.raises(FileNotFoundError):
        read_aedat4_events(tmp_path / "missing.aedat4")
    data = (tmp_path / "t.aedat4").read_bytes()
    rng = np.random.default_rng(0)
    # random and truncated files give the documented error (bytes flipped inside a valid file
    # can make dv-processing 2.0.4 loop forever, so they are not tried here)
    for k, bad in enumerate([rng.bytes(300), b"", data[:len(data) // 2], data[:40]]):
        (tmp_path / f"bad{k}.aedat4").write_bytes(bad)
        with pytest.raises(EventDecodeError, match="dv-processing"):
            read_aedat4_events(tmp_path / f"bad{k}.aedat4")


def test_make_decoder_errors_name_what_is_missing():
    with pytest.raises(ValueError, match="'foo' is unknown"):
        make_decoder("foo", 10, 10)
    try:
        import event_camera_py  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="event_camera_py"):
            make_decoder("libcaer_cmp", 346, 260)
    assert make_decoder("evt3", 1280, 720).width == 1280
