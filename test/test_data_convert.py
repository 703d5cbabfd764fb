"""Dataset folder -> bag conversion (fetrack convert), read back through the bag source."""
import argparse

import numpy as np
import pytest

from fetrack_ros.data import bags, datasets, synthetic_folders as synthetic
from fetrack_ros.cli import convert as convert_cli
from fetrack_ros.data.convert import DEFAULT_START_NS, convert_sequence
from fetrack_ros.data.rostypes import get_typestore
from fetrack_ros.data.sequence import SourceError


def _cli(argv):
    parser = argparse.ArgumentParser()
    convert_cli.add_arguments(parser)
    return convert_cli.main(parser.parse_args(argv))


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "data"
    for seed, name in enumerate(["s1", "s2"]):
        seq_dir = synthetic.write_sequence(root, name, "felt", n_frames=4, height=24, width=32, seed=seed)
    gt = seq_dir / "groundtruth.txt"  # s2 frame 2 has an invalid box (target absent)
    lines = gt.read_text().splitlines()
    lines[2] = "0,0,0,0"
    gt.write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("storage, compressed", [("mcap", False), ("sqlite3", True)])
def test_cli_converts_every_sequence_losslessly(root, tmp_path, storage, compressed, capsys):
    args = ["--dataset", "felt", "--root", str(root), "--out", str(tmp_path / "bags"), "--storage", storage,
            "--frame-period-ms", "50"] + (["--compressed"] if compressed else [])
    assert _cli(args) == 0
    assert "[2/2] s2: 4 frames" in capsys.readouterr().out
    for name in ("s1", "s2"):
        folder = datasets.FolderSequence(root / name, "felt")
        bag = bags.BagSequence(tmp_path / "bags" / name, gt_topic=bags.DEFAULT_GT_TOPIC)
        np.testing.assert_array_equal(bag.gt_xywh, folder.gt_xywh)
        for a, b in zip(folder.frames(), bag.frames()):
            assert b.stamp_ns == DEFAULT_START_NS + a.index * 50_000_000
            np.testing.assert_array_equal(a.rgb, b.rgb)
            np.testing.assert_array_equal(a.event_frame, b.event_frame)
    reader = bags.open_reader(tmp_path / "bags" / "s2")
    conns = [c for c in reader.connections if c.topic == bags.DEFAULT_GT_TOPIC]
    statuses = [get_typestore().deserialize_cdr(raw, c.msgtype).status for c, _, raw in reader.messages(conns)]
    reader.close()
    assert statuses == [1, 1, 3, 1]  # the invalid box is marked LOST
    # converting again into the same folder is refused, nothing is overwritten
    assert _cli(args) == 2
    assert "bags already exist" in capsys.readouterr().err


def test_convert_refuses_existing_output_and_leaves_no_partial_bag(root, tmp_path):
    seq = datasets.FolderSequence(root / "s1", "felt")
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        convert_sequence(seq, tmp_path / "out")
    (root / "s1" / "s1_aps" / "frame0003.png").write_bytes(b"broken")
    with pytest.raises(SourceError, match="frame0003.png is unreadable"):
        convert_sequence(seq, tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_cli_reports_bad_input(tmp_path, capsys):
    assert _cli(["--dataset", "coesot", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "b")]) == 2
    assert "dataset root not found" in capsys.readouterr().err
