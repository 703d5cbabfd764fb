"""Dataset folder sources (FE108 / COESOT / FELT layouts) on small synthetic folders."""
import cv2
import numpy as np
import pytest

from fetrack_ros.data import datasets, synthetic_folders as synthetic
from fetrack_ros.data.groundtruth import read_boxes, write_boxes
from fetrack_ros.data.sequence import SourceError


@pytest.mark.parametrize("dataset, rgb_dir, gt_file, ext", [
    ("fe108", "aps", "groundtruth_rect.txt", "bmp"),
    ("coesot", "seqA_aps", "groundtruth.txt", "png"),
    ("felt", "seqA_aps", "groundtruth.txt", "png"),
])
def test_layouts_read_back_exact_pixels(tmp_path, dataset, rgb_dir, gt_file, ext):
    seq_dir = synthetic.write_sequence(tmp_path, "seqA", dataset, n_frames=4, height=40, width=56, ext=ext)
    assert (seq_dir / rgb_dir / f"frame0000.{ext}").is_file() and (seq_dir / gt_file).is_file()
    rgb, event, gt = synthetic.make_frames(4, 40, 56)
    seq = datasets.FolderSequence(seq_dir, dataset, frame_period_ns=10_000_000)
    assert len(seq) == 4 and seq.name == "seqA"
    np.testing.assert_array_equal(seq.gt_xywh, gt)
    frames = list(seq.frames())
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert [f.stamp_ns for f in frames] == [0, 10_000_000, 20_000_000, 30_000_000]
    for f, r, e, g in zip(frames, rgb, event, gt):
        # lossless formats: the RGB order survives the cv2 BGR round trip exactly
        np.testing.assert_array_equal(f.rgb, r)
        np.testing.assert_array_equal(f.event_frame, e)
        np.testing.assert_array_equal(f.gt_xywh, g)
        assert f.events is None
    # event frames really contain the Event-AHU colours (red ON first in RGB order)
    assert (frames[1].event_frame.reshape(-1, 3) == synthetic.ON_RGB).all(1).any()


def test_frames_sorted_numerically_with_any_digit_count(tmp_path):
    folder = tmp_path / "aps"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"frame{i}.png"), np.full((4, 4, 3), i, np.uint8))
    (folder / "notes.txt").write_text("ignored")
    assert [p.name for p in datasets.list_frames(folder)][:3] == ["frame0.png", "frame1.png", "frame2.png"]
    assert datasets.list_frames(folder)[10].name == "frame10.png"


@pytest.mark.parametrize("separator", [",", "\t", " ", ", "])
def test_ground_truth_separators(tmp_path, separator):
    path = tmp_path / "gt.txt"
    path.write_text(f"1{separator}2{separator}3.5{separator}4\n\n5{separator}6{separator}7{separator}8\n")
    np.testing.assert_array_equal(read_boxes(path), [[1, 2, 3.5, 4], [5, 6, 7, 8]])


def test_ground_truth_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(SourceError, match=r"gt.txt:2: expected 4 numbers"):
        read_boxes(path)
    path.write_text("1,2,3,x\n")
    with pytest.raises(SourceError, match=r"gt.txt:1: not a number"):
        read_boxes(path)


def test_result_file_round_trip_and_reference_truncation(tmp_path):
    boxes = np.array([[10.0, 20.0, 30.0, 40.0], [1.25, -2.75, 3.1, 4.999999]])
    path = write_boxes(tmp_path / "r" / "seq.txt", boxes)
    assert path.read_text().splitlines()[0] == "10\t20\t30\t40"
    np.testing.assert_array_equal(read_boxes(path), boxes)
    write_boxes(path, boxes, truncate_to_int=True)
    assert path.read_text().splitlines()[1] == "1\t-2\t3\t4"


def test_missing_frame_is_reported(tmp_path):
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=5, height=16, width=16)
    (seq_dir / "s_aps" / "frame0002.png").unlink()
    with pytest.raises(SourceError, match=r"s_aps: 1 missing frame\(s\) between 0 and 4: numbers 2"):
        datasets.FolderSequence(seq_dir, "coesot")


def test_event_and_rgb_counts_must_match(tmp_path):
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=5, height=16, width=16)
    (seq_dir / "s_dvs" / "frame0004.png").unlink()
    with pytest.raises(SourceError, match="5 RGB frames but 4 event frames"):
        datasets.FolderSequence(seq_dir, "coesot")


def test_short_and_long_ground_truth_are_reported(tmp_path):
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=5, height=16, width=16)
    gt = seq_dir / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(SourceError, match="3 ground-truth lines for 5 frames"):
        datasets.FolderSequence(seq_dir, "coesot")
    gt.write_text("\n".join(lines + lines[:1]) + "\n")
    with pytest.raises(SourceError, match="6 ground-truth lines but only 5 frames"):
        datasets.FolderSequence(seq_dir, "coesot")
    gt.unlink()
    with pytest.raises(SourceError, match="ground-truth file not found"):
        datasets.FolderSequence(seq_dir, "coesot")
    assert datasets.FolderSequence(seq_dir, "coesot", require_gt=False).gt_xywh is None


def test_unreadable_image_is_reported_while_iterating(tmp_path):
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=3, height=16, width=16)
    (seq_dir / "s_aps" / "frame0001.png").write_bytes(b"not a png")
    frames = datasets.FolderSequence(seq_dir, "coesot").frames()
    next(frames)
    with pytest.raises(SourceError, match=r"frame0001.png is unreadable or not an image"):
        next(frames)


def test_image_size_change_is_reported(tmp_path):
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=3, height=16, width=16)
    cv2.imwrite(str(seq_dir / "s_dvs" / "frame0002.png"), np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(SourceError, match=r"frame 2: RGB \(16, 16\) and event frame \(8, 16\) \(H, W\) differ"):
        list(datasets.FolderSequence(seq_dir, "coesot").frames())


def test_event_frames_of_another_constant_size_are_allowed(tmp_path):
    # the tracker resizes them to the RGB size (one sensor, e.g. APS and DVS of a DAVIS)
    seq_dir = synthetic.write_sequence(tmp_path, "s", "coesot", n_frames=2, height=16, width=16)
    for i in range(2):
        cv2.imwrite(str(seq_dir / "s_dvs" / f"frame{i:04d}.png"), np.full((32, 32, 3), 255, np.uint8))
    frames = list(datasets.FolderSequence(seq_dir, "coesot").frames())
    assert frames[1].rgb.shape == (16, 16, 3) and frames[1].event_frame.shape == (32, 32, 3)


def test_missing_folders_are_reported(tmp_path):
    with pytest.raises(SourceError, match="sequence folder not found"):
        datasets.FolderSequence(tmp_path / "nope", "fe108")
    (tmp_path / "s").mkdir()
    with pytest.raises(SourceError, match=r"frame folder not found: .*s[/\\]aps"):
        datasets.FolderSequence(tmp_path / "s", "fe108")
    with pytest.raises(SourceError, match="dataset root not found"):
        datasets.list_sequences(tmp_path / "nope")
    with pytest.raises(SourceError, match="unknown dataset layout 'lasot'"):
        datasets.get_layout("lasot")


def test_sequence_lists(tmp_path):
    for name in ("b", "a", "c"):
        synthetic.write_sequence(tmp_path, name, "felt", n_frames=2, height=16, width=16)
    assert datasets.list_sequences(tmp_path, "felt") == ["a", "b", "c"]
    (tmp_path / "list.txt").write_text("c\na\n")
    assert datasets.list_sequences(tmp_path, "felt") == ["c", "a"]
    (tmp_path / "list1k.txt").write_text("b\n")  # FELT prefers list1k.txt
    assert [s.name for s in datasets.open_dataset(tmp_path, "felt")] == ["b"]
    assert datasets.list_sequences(tmp_path, "coesot") == ["c", "a"]
    with pytest.raises(SourceError, match="sequence list not found"):
        datasets.list_sequences(tmp_path, "felt", list_file="test.txt")
