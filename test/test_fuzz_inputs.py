"""Property-based fuzzing of every input path the node and the readers take (bounded for CI).

The rule everywhere: a bad input raises the path's own documented error (or is counted and
skipped), never anything else, and what comes out is well-formed. ``make fuzz`` runs the long
version (bench/fuzz.py); set FETRACK_FUZZ_EXAMPLES to run these with more examples.
"""
import os

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fetrack_ros.events import EVENT_DTYPE, EventDecodeError, Evt3Decoder, MonoDecoder, decode_legacy_arrays
from fetrack_ros.messages import EventDecoding, ImageConversionError, check_image_msg, image_to_rgb
from fetrack_ros.messages.cdr import CdrError, PacketRecord, parse_event_packet
from fetrack_ros.model import CheckpointError, read_checkpoint

EXAMPLES = int(os.environ.get("FETRACK_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
UINT32, UINT64 = st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)
GEOMETRY = st.one_of(st.integers(1, 2048), st.sampled_from([0, 65535, 65536, 2**32 - 1]))
ENCODINGS = st.one_of(st.sampled_from(["evt3", "mono", "libcaer", "libcaer_cmp", ""]), st.text(max_size=12))


def _well_formed(events, width=None, height=None):
    assert events.dtype == EVENT_DTYPE and events.ndim == 1
    if width is not None and len(events):
        assert events["x"].max() < width and events["y"].max() < height


@FUZZ
@given(data=st.binary(max_size=3000), width=st.integers(1, 65535), height=st.integers(1, 65535),
       cut=st.integers(0, 3000))
def test_evt3_decoder_takes_any_bytes_cut_anywhere(data, width, height, cut):
    decoder = Evt3Decoder(width, height)
    events = np.concatenate([decoder.decode(data[:cut]).events, decoder.decode(data[cut:]).events])
    _well_formed(events, width, height)


@FUZZ
@given(data=st.binary(max_size=400), time_base=UINT64)
def test_mono_decoder_refuses_or_decodes_with_non_negative_times(data, time_base):
    try:
        events = MonoDecoder().decode(data, time_base).events
    except EventDecodeError:
        return
    _well_formed(events)
    assert (events["t"] >= 0).all()


@FUZZ
@given(n=st.integers(0, 50), seed=st.integers(0, 2**32 - 1), nanosec=st.booleans())
def test_legacy_columns_refuse_or_decode(n, seed, nanosec):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(-10, 70_000, n), rng.integers(-10, 70_000, n)
    try:
        events = decode_legacy_arrays(x, y, rng.integers(0, 2**31, n), rng.integers(0, 2, n),
                                      rng.integers(0, 10**9, n) if nanosec else None)
    except ValueError:
        assert (x < 0).any() or (y < 0).any() or (x > 65535).any() or (y > 65535).any()
        return
    _well_formed(events)


packets = st.builds(PacketRecord, stamp_ns=st.integers(0, 2**63 - 1), height=UINT32, width=UINT32, seq=UINT64,
                    time_base=UINT64, encoding=ENCODINGS, payload=st.binary(max_size=600))


@FUZZ
@given(msgs=st.lists(packets, max_size=8), clock=st.sampled_from(["header", "fixed"]),
       offset=st.integers(-2**62, 2**62))
def test_event_decoding_of_arbitrary_packets_skips_with_a_reason(msgs, clock, offset):
    decoding = EventDecoding("event_packet", clock, offset)
    chunks, malformed, errors = decoding.decode_many(msgs)
    assert all(e.reason.startswith("events.") for e in errors) and malformed >= 0
    for chunk in chunks:
        _well_formed(chunk)
    assert all(reason.startswith("events.") for reason in decoding.counts)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_serialized_packets_parse_or_raise_cdr_errors(raw):
    try:
        record = parse_event_packet(raw)
    except CdrError:
        return
    assert len(bytes(record.payload)) <= len(raw)


class _Image:
    def __init__(self, encoding, height, width, step, data, is_bigendian):
        self.encoding, self.height, self.width, self.step = encoding, height, width, step
        self.data, self.is_bigendian = data, is_bigendian


IMAGE_ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "bayer_rggb8", "bayer_grbg16", "yuv422",
                   "uyvy", "yuyv", "nv12", "nv21", "8UC3", "16UC1", "32FC1", "64FC4", "rgb16", "bgra16"]


@FUZZ
@given(encoding=st.one_of(st.sampled_from(IMAGE_ENCODINGS), st.text(max_size=10)), height=st.integers(0, 24),
       width=st.integers(0, 24), extra_step=st.integers(-8, 8), size=st.integers(0, 24 * 24 * 32),
       bigendian=st.booleans())
def test_image_conversion_of_any_encoding_and_size(encoding, height, width, extra_step, size, bigendian):
    msg = _Image(encoding, height, width, max(width * 4 + extra_step, 0), bytes(size % 5000), bigendian)
    try:
        check_image_msg(msg)
        rgb = image_to_rgb(msg)
    except ImageConversionError:
        return
    assert rgb.dtype == np.uint8 and rgb.shape == (height, width, 3)


@FUZZ
@given(kind=st.sampled_from(["random", "truncated", "member", "pickle"]), seed=st.integers(0, 2**32 - 1))
def test_checkpoint_reading_of_malformed_files(tmp_path_factory, kind, seed):
    import io
    import pickle
    import zipfile

    rng = np.random.default_rng(seed)
    path = tmp_path_factory.mktemp("ckpt") / "bad.pt"
    valid = io.BytesIO()
    torch.save({"backbone.patch_embed.proj.weight": torch.zeros(4, 3, 2, 2)}, valid)
    if kind == "random":
        path.write_bytes(rng.integers(0, 256, int(rng.integers(0, 2000)), dtype=np.uint8).tobytes())
    elif kind == "truncated":
        path.write_bytes(valid.getvalue()[:int(rng.integers(0, len(valid.getvalue())))])
    elif kind == "member":  # a real torch zip with one member replaced by random bytes
        with zipfile.ZipFile(io.BytesIO(valid.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
            names = src.namelist()
            victim = names[int(rng.integers(0, len(names)))]
            for name in names:
                dst.writestr(name, rng.integers(0, 256, 64, dtype=np.uint8).tobytes() if name == victim
                             else src.read(name))
    else:  # a pickle stream with random bytes after a valid protocol header
        path.write_bytes(pickle.PROTO + bytes([2]) + rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
    try:
        read_checkpoint(path)
    except CheckpointError:  # UnsafeCheckpointError is one too
        return
