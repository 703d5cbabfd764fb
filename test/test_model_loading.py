"""The network for inference (fetrack_ros.model.loading) and `fetrack eval --model auto`.

Real checkpoints written by the project's own writer, the real packaged model, the real CLI.
"""
import argparse
import json

import numpy as np
import pytest
import torch

from fetrack_ros.cli import eval as eval_cli
from fetrack_ros.data import synthetic_folders as synthetic
from fetrack_ros.evaluation.run import ModelSpec
from fetrack_ros.model import build_model, default_checkpoint, save_checkpoint
from fetrack_ros.model.checkpoint import model_card, read_extra
from fetrack_ros.model.loading import ModelLoadError, load_inference_model, read_weights_info

SMALL = {"depth": 1, "embed_dim": 64, "head_channels": 32, "template_size": 64, "search_size": 128}


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    """A vim_t variant no preset describes: only its stored config can rebuild it."""
    torch.manual_seed(3)
    model = build_model("vim_t", **SMALL)
    card = {"name": "test model", "trained_on": "nothing at all", "card": "docs/nowhere.md",
            "real_cameras": "do not use", "unknown_field": "dropped"}
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "small.pt", extra={"model_card": card}), model


def test_auto_rebuilds_the_stored_architecture_with_its_weights(small_checkpoint):
    path, original = small_checkpoint
    loaded = load_inference_model("auto", str(path), device="cpu", scan_backend="torch")
    assert loaded.model.config.embed_dim == 64 and loaded.model.config.search_size == 128
    for key, value in original.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[key], value, rtol=0, atol=0)
    # not the packaged model: no "on real cameras" warning, but what it was trained on and its card
    assert loaded.provenance == "test model, trained on nothing at all (model card: docs/nowhere.md)"
    assert "small.pt on cpu (fp32, torch scan" in loaded.description


def test_a_named_config_that_does_not_fit_is_a_one_line_error(small_checkpoint):
    path, _ = small_checkpoint
    with pytest.raises(ModelLoadError, match=r"cannot be loaded into model 'vim_s'.*model 'auto' builds") as err:
        load_inference_model("vim_s", str(path), device="cpu")
    assert "\n" not in str(err.value)


def test_model_card_fields_are_filtered_and_shortened(tmp_path):
    model = build_model("vim_t", **SMALL)
    hostile = {"name": "x" * 5000, "trained_on": ["not", "a", "string"], "card": "a\nmulti\nline"}
    path = save_checkpoint(model, tmp_path / "hostile.pt", extra={"model_card": hostile})
    card = model_card(read_extra(path))
    assert len(card["name"]) == 300 and card["card"] == "a multi line"
    assert card["trained_on"] == "['not', 'a', 'string']"
    no_card = save_checkpoint(model, tmp_path / "plain.pt")
    assert model_card(read_extra(no_card)) == {}
    assert "what they were trained on is unknown" in read_weights_info(str(no_card)).provenance


def test_recommended_tracker_settings_are_read_as_plain_numbers(small_checkpoint, tmp_path):
    path, model = small_checkpoint
    assert read_weights_info(str(path)).tracker_settings == {}        # none stored
    assert read_weights_info(None).tracker_settings == {"size_update_rate": 0.3,   # the packaged model's
                                                        "still_event_density": 0.02}
    ours = save_checkpoint(model, tmp_path / "ours.pt", extra={"tracker_params": {"search_factor": 4.5}})
    assert load_inference_model("auto", str(ours), device="cpu").tracker_settings == {"search_factor": 4.5}
    for bad in ({"search_factor": "wide"}, {"search_factor": True}, ["search_factor", 4.5]):
        broken = save_checkpoint(model, tmp_path / "broken.pt", extra={"tracker_params": bad})
        with pytest.raises(ModelLoadError, match=r"broken.pt.*must map setting names to numbers"):
            read_weights_info(str(broken))
        with pytest.raises(ModelLoadError, match=r"must map setting names to numbers"):
            load_inference_model("auto", str(broken), device="cpu")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match=r"checkpoint '.*garbage.pt': "):
        read_weights_info(str(garbage))
    with pytest.raises(ModelLoadError, match=r"missing.pt' does not exist"):
        read_weights_info(str(tmp_path / "missing.pt"))


def test_the_packaged_model_says_what_to_expect_on_real_cameras():
    packaged = default_checkpoint()
    assert packaged is not None, "the packaged default model resource/default_model.pt is missing"
    line = read_weights_info(None).provenance
    assert "trained on synthetic" in line and "on real cameras:" in line and "docs/model_card.md" in line
    assert read_weights_info(str(packaged)).provenance == line   # named explicitly, it is still the packaged one


def test_model_spec_auto_refuses_architecture_overrides():
    with pytest.raises(ValueError, match=r"cannot override \['embed_dim'\]"):
        ModelSpec("auto", overrides=(("embed_dim", 64),))
    with pytest.raises(ValueError, match=r"cannot override \['embed_dim'\]"):
        ModelSpec("vim_t", checkpoint="weights.pt", overrides=(("embed_dim", 64),))
    ModelSpec("auto", overrides=(("depth", 1),))   # depth and scan backend stay settable
    ModelSpec("vim_t", overrides=(("embed_dim", 64),))   # random weights: any architecture


def _cli(argv):
    parser = argparse.ArgumentParser(prog="fetrack eval")
    eval_cli.add_arguments(parser)
    return eval_cli.main(parser.parse_args(argv))


def test_fetrack_eval_defaults_to_the_checkpoints_own_architecture(small_checkpoint, tmp_path, capsys):
    path, _ = small_checkpoint
    root = tmp_path / "coesot"
    synthetic.write_sequence(root, "seq_a", "coesot", n_frames=4, height=96, width=128, seed=0)
    base = ["--dataset", "coesot", "--root", str(root), "--no-progress", "--no-bags", "--threads", "1"]
    assert _cli(base + ["--checkpoint", str(path), "--out", str(tmp_path / "auto")]) == 0
    err = capsys.readouterr().err
    assert "model: test model, trained on nothing at all" in err and "random weights" not in err
    config = json.loads((tmp_path / "auto" / "run_config.json").read_text())
    assert config["model"]["name"] == "auto" and config["model"]["checkpoint"] == str(path)
    boxes = np.loadtxt(tmp_path / "auto" / "results" / "seq_a.txt", delimiter="\t")
    assert boxes.shape == (4, 4) and np.isfinite(boxes).all()
    # the preset the weights were not trained with is refused with the reason, not a traceback
    assert _cli(base + ["--model", "vim_s", "--checkpoint", str(path), "--out", str(tmp_path / "vim_s")]) == 2
    assert "cannot be loaded into model 'vim_s'" in capsys.readouterr().err   # and the hint:


def test_fetrack_eval_without_a_checkpoint_evaluates_the_packaged_model(tmp_path, capsys):
    root = tmp_path / "coesot"
    synthetic.write_sequence(root, "seq_a", "coesot", n_frames=3, height=96, width=128, seed=1)
    assert _cli(["--dataset", "coesot", "--root", str(root), "--no-progress", "--no-bags", "--threads", "1",
                 "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "fetrack_ros default model" in err and "on real cameras:" in err
    assert (tmp_path / "out" / "results" / "seq_a.txt").is_file()
