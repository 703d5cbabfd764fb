"""Training pipeline: pair sampling geometry, configuration, `fetrack train` runs, resume, DDP on gloo."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from fetrack_ros.training.config import ConfigError, TrainConfig
from fetrack_ros.training.sampling import Clip, PairSettings, box_in_crop, sample_pair
from fetrack_ros.tracking.crop import crop_geometry

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = {"name": "vim_t", "overrides": {"depth": 1, "embed_dim": 64, "head_channels": 32,
                                             "template_size": 64, "search_size": 128}}
TINY_SIM = {"num_frames": 8, "height": 96, "width": 128, "target_size_px": [14, 28]}


def tiny_config(out_dir: Path, **train) -> dict:
    return {"model": TINY_MODEL,
            "data": {"sources": [{"kind": "synthetic", "sim": TINY_SIM, "reuse": 8}]},
            "train": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "threads": 1, **train},
            "output": {"dir": str(out_dir)},
            "validation": {"every": 0}}


def fetrack_train(config: dict, tmp_path: Path, *extra: str, nproc: int = 1, timeout: float = 120):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "fetrack_ros.cli.train", "--config", str(path), "--no-progress", *extra]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "fetrack_ros.cli.train", "--config", str(path), "--no-progress", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def square_clip(n=5, box=(60.0, 40.0, 20.0, 20.0), hw=(120, 160)) -> Clip:
    rgb = np.zeros((*hw, 3), np.uint8)
    x, y, w, h = (int(v) for v in box)
    rgb[y:y + h, x:x + w] = 200
    boxes = np.tile(np.array(box), (n, 1))
    return Clip("square", boxes, lambda i: rgb, lambda i: np.full((*hw, 3), 255, np.uint8))


def test_box_in_crop_maps_the_box_into_the_resized_crop():
    box = np.array([50.0, 30.0, 20.0, 10.0])
    geo = crop_geometry(box, 4.0, 128, (200, 300))
    cx, cy, w, h = box_in_crop(box, geo, 128)
    side = geo.size
    assert w == pytest.approx(20.0 / side) and h == pytest.approx(10.0 / side)
    assert cx == pytest.approx((60.0 - geo.x1) / side) and cy == pytest.approx((35.0 - geo.y1) / side)


def test_pairs_without_jitter_centre_the_target_and_show_it():
    settings = PairSettings(template_size=64, search_size=128, scale_jitter=0.0, center_jitter=0.0,
                            brightness_jitter=0.0, flip_prob=0.0)
    pair = sample_pair(square_clip(), np.random.default_rng(0), settings)
    assert pair.search_rgb.shape == (128, 128, 3) and pair.template_rgb.shape == (64, 64, 3)
    cx, cy, w, h = pair.search_box
    assert abs(cx - 0.5) < 0.02 and abs(cy - 0.5) < 0.02 and w == pytest.approx(20 / 80) and h == pytest.approx(20 / 80)
    # The bright square sits where the box says.
    x1, y1, x2, y2 = (np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) * 128).round().astype(int)
    assert pair.search_rgb[y1 + 2:y2 - 2, x1 + 2:x2 - 2].min() > 150
    assert pair.search_rgb[:y1 - 2].max() == 0
    assert pair.template_rgb[16:48, 16:48].mean() > 150     # template: factor 2 -> box fills the middle half


def test_jitter_moves_and_scales_the_search_box_and_flip_mirrors_it():
    settings = PairSettings(template_size=64, search_size=128, flip_prob=0.0)
    boxes = np.array([sample_pair(square_clip(), np.random.default_rng(s), settings).search_box for s in range(40)])
    assert boxes[:, 0].std() > 0.05 and boxes[:, 2].std() > 0.01
    assert ((boxes[:, :2] >= 0) & (boxes[:, :2] <= 1)).all()
    flipped = sample_pair(square_clip(), np.random.default_rng(3), PairSettings(template_size=64, search_size=128, flip_prob=1.0))
    plain = sample_pair(square_clip(), np.random.default_rng(3), PairSettings(template_size=64, search_size=128, flip_prob=0.0))
    assert flipped.search_box[0] == pytest.approx(1 - plain.search_box[0])
    assert np.array_equal(flipped.search_event, plain.search_event[:, ::-1])


def test_static_target_erases_only_the_targets_events():
    base = square_clip()
    busy = np.full((120, 160, 3), (220, 30, 30), np.uint8)  # ON events everywhere
    clip = Clip("busy", base.boxes, base._rgb, lambda i: busy)
    settings = PairSettings(template_size=64, search_size=128, flip_prob=0.0, brightness_jitter=0.0)
    for seed in range(5):
        plain = sample_pair(clip, np.random.default_rng(seed), settings)
        erased = sample_pair(clip, np.random.default_rng(seed), replace(settings, static_target_prob=1.0))
        cx, cy, w, h = plain.search_box * 128
        inside = np.zeros((128, 128), bool)
        inside[int(cy - h / 2) + 1:int(cy + h / 2) - 1, int(cx - w / 2) + 1:int(cx + w / 2) - 1] = True
        assert (erased.search_event[inside] == 255).all() and (plain.search_event[inside] != 255).all()
        near = np.zeros_like(inside)
        near[int(cy - h / 2) - 2:int(cy + h / 2) + 3, int(cx - w / 2) - 2:int(cx + w / 2) + 3] = True
        np.testing.assert_array_equal(erased.search_event[~near], plain.search_event[~near])
        np.testing.assert_array_equal(erased.search_rgb, plain.search_rgb)
        np.testing.assert_array_equal(erased.template_event, plain.template_event)


def colour_clip() -> Clip:
    """A red target on a green-blue gradient, with ON events everywhere: every channel and
    both modalities carry something an augmentation could wrongly keep or destroy."""
    base = square_clip()
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[..., 1] = np.linspace(20, 220, 160, dtype=np.uint8)[None, :]
    rgb[..., 2] = np.linspace(200, 40, 120, dtype=np.uint8)[:, None]
    rgb[40:60, 60:80] = (230, 20, 20)
    busy = np.full((120, 160, 3), (220, 30, 30), np.uint8)
    return Clip("colour", base.boxes, lambda i: rgb, lambda i: busy)


def test_grayscale_gives_equal_channels_with_the_luma_and_keeps_events():
    settings = PairSettings(template_size=64, search_size=128, flip_prob=0.0, brightness_jitter=0.0)
    for seed in range(3):
        plain = sample_pair(colour_clip(), np.random.default_rng(seed), settings)
        grey = sample_pair(colour_clip(), np.random.default_rng(seed), replace(settings, grayscale_prob=1.0))
        for name in ("template_rgb", "search_rgb"):
            out, src = getattr(grey, name).astype(int), getattr(plain, name).astype(np.float64)
            assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
            luma = src @ np.array([0.299, 0.587, 0.114])
            assert np.abs(out[..., 0] - luma).max() <= 1.0
        np.testing.assert_array_equal(grey.search_event, plain.search_event)
        np.testing.assert_array_equal(grey.search_box, plain.search_box)


def test_contrast_jitter_flattens_rgb_within_its_range():
    settings = PairSettings(template_size=64, search_size=128, flip_prob=0.0, brightness_jitter=0.0)
    plain = sample_pair(colour_clip(), np.random.default_rng(0), settings)
    stds = [sample_pair(colour_clip(), np.random.default_rng(seed),
                        replace(settings, contrast_jitter=0.6)).search_rgb.std() for seed in range(12)]
    # contrast in [0.4, 1] and gamma in [exp(-0.6), exp(0.6)]: flatter on average, never blank
    assert np.median(stds) < plain.search_rgb.std() and min(stds) > 0.15 * plain.search_rgb.std()


def test_modality_dropout_blanks_one_modality_of_the_whole_pair():
    settings = PairSettings(template_size=64, search_size=128, flip_prob=0.0, brightness_jitter=0.0)
    for seed in range(3):
        plain = sample_pair(colour_clip(), np.random.default_rng(seed), settings)
        no_rgb = sample_pair(colour_clip(), np.random.default_rng(seed), replace(settings, rgb_dropout_prob=1.0))
        no_events = sample_pair(colour_clip(), np.random.default_rng(seed), replace(settings, event_dropout_prob=1.0))
        for name in ("template_rgb", "search_rgb"):
            assert np.ptp(getattr(no_rgb, name)) == 0
        assert no_rgb.template_rgb.flat[0] == no_rgb.search_rgb.flat[0]
        np.testing.assert_array_equal(no_rgb.search_event, plain.search_event)
        assert (no_events.search_event == 255).all() and (no_events.template_event == 255).all()
        np.testing.assert_array_equal(no_events.search_rgb, plain.search_rgb)
    dropped = [np.ptp(sample_pair(colour_clip(), np.random.default_rng(seed),
                                  replace(settings, rgb_dropout_prob=0.3)).search_rgb) == 0 for seed in range(200)]
    assert 0.2 < np.mean(dropped) < 0.4


def test_augmentation_settings_are_checked():
    with pytest.raises(ValueError, match="grayscale_prob"):
        PairSettings(grayscale_prob=1.5)
    with pytest.raises(ValueError, match="one modality stays"):
        PairSettings(rgb_dropout_prob=0.6, event_dropout_prob=0.6)
    with pytest.raises(ConfigError, match="contrast_jitter"):
        TrainConfig.from_dict({"data": {"pairs": {"contrast_jitter": 1.0}}})


def test_template_is_never_after_the_search_frame():
    clip = square_clip(n=30)
    for seed in range(20):
        pair = sample_pair(clip, np.random.default_rng(seed), PairSettings(template_size=64, search_size=128, max_gap=5))
        t, s = (int(v) for v in pair.source.split(":")[1].split("->"))
        assert 0 <= s - t <= 5


def test_config_reports_unknown_fields_and_keeps_the_reference_weights(tmp_path):
    config = TrainConfig.from_dict({})
    assert (config.train.loss_weights.giou, config.train.loss_weights.l1, config.train.loss_weights.focal) == (1, 14, 1)
    with pytest.raises(ConfigError, match=r"'lrr'.* in train"):
        TrainConfig.from_dict({"train": {"lrr": 1}})
    with pytest.raises(ConfigError, match=r"data.sources\[0\]"):
        TrainConfig.from_dict({"data": {"sources": [{"kind": "folder"}]}})
    with pytest.raises(ConfigError, match="model.overrides.search_size"):
        TrainConfig.from_dict({"data": {"pairs": {"search_size": 64}}})
    assert TrainConfig.from_dict({"train": {"lr": "4e-4", "epochs": 3.0}}).train.lr == 4e-4  # YAML 1.1 reads 4e-4 as str
    with pytest.raises(ConfigError, match="train.epochs must be a whole number"):
        TrainConfig.from_dict({"train": {"epochs": 2.5}})
    with pytest.raises(ConfigError, match=r"train.lr must be a number"):
        TrainConfig.from_dict({"train": {"lr": "fast"}})
    with pytest.raises(ConfigError, match="init_layers needs an init_checkpoint"):
        TrainConfig.from_dict({"model": {"init_layers": [0, None]}})
    with pytest.raises(ConfigError, match="init_widen needs an init_checkpoint"):
        TrainConfig.from_dict({"model": {"init_widen": True}})
    with pytest.raises(ConfigError, match="model.init_widen must be true or false, got str 'no'"):
        TrainConfig.from_dict({"model": {"init_checkpoint": "a.pt", "init_widen": "no"}})
    with pytest.raises(ConfigError, match=r"init_layers must be a list of checkpoint layer indices.*-1"):
        TrainConfig.from_dict({"model": {"init_checkpoint": "a.pt", "init_layers": [0, -1]}})
    round_trip = TrainConfig.from_dict(config.to_dict())
    assert round_trip == config


def test_fetrack_train_writes_loadable_checkpoints_and_resumes(tmp_path):
    from fetrack_ros.model import build_model, load_checkpoint, load_model

    out = tmp_path / "run"
    fetrack_train(tiny_config(out, epochs=1), tmp_path)
    first = out / "checkpoint_ep0001.pt"
    assert first.is_file()
    model = load_checkpoint(build_model("vim_t", **TINY_MODEL["overrides"]), first)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert load_model(first).config == model.config
    # resumed and lengthened, with a learning-rate drop after epoch 2 that the first run did not have
    result = fetrack_train(tiny_config(out), tmp_path, "--resume", "auto", "--set", "train.epochs=2",
                           "--set", "train.lr_drop_epoch=2")
    assert "resumed from" in result.stdout
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert log[1]["lr"] == pytest.approx(log[0]["lr"] * 0.1)
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the curves, redrawn each epoch
    state = torch.load(out / "checkpoint_ep0002.pt", weights_only=True)["extra"]
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert state["scheduler"]["last_epoch"] == 2
    # fine-tuned from it at larger crops (position embeddings resampled on load), one layer deeper
    # and wider (64 -> 96 channels, dt_rank kept)
    larger = {**TINY_MODEL, "overrides": {**TINY_MODEL["overrides"], "template_size": 96, "search_size": 192,
                                          "depth": 2, "embed_dim": 96, "dt_rank": 4},
              "init_checkpoint": str(first), "init_layers": [0, None], "init_widen": True}
    fetrack_train({**tiny_config(tmp_path / "larger"), "model": larger}, tmp_path)
    tuned = load_model(tmp_path / "larger" / "checkpoint_ep0001.pt")
    assert (tuned.config.template_size, tuned.config.search_size, tuned.config.depth) == (96, 192, 2)
    assert tuned.config.embed_dim == 96
    assert tuned.backbone.pos_embed_x.shape == (1, 144, 96) and tuned.backbone.pos_embed_z.shape == (1, 36, 96)
    # one epoch moved the new channels off their zero start
    assert torch.count_nonzero(tuned.backbone.patch_embed.proj.weight[64:]) > 0


def test_validation_tracks_held_out_sequences(tmp_path):
    from fetrack_ros.model import build_model
    from fetrack_ros.training.trainer import validate, validation_sequences

    config = TrainConfig.from_dict({"validation": {"num_sequences": 2, "sim": TINY_SIM}})
    sequences = validation_sequences(config)
    assert [s.seed for s in sequences] == [1_000_000, 1_000_001]
    assert [s.condition for s in sequences] == ["normal", "motion_blur"]
    torch.manual_seed(0)
    model = build_model("vim_t", **TINY_MODEL["overrides"]).train()
    metrics = validate(model, sequences, {})
    assert model.training, "validation must hand the model back in train mode"
    assert 0 <= metrics["all_auc"] <= 100 and 0 <= metrics["degraded_auc"] <= 100
    assert set(metrics) >= {"all_precision_20", "degraded_precision_20", "all_norm_precision_20"}


def test_ddp_on_two_gloo_processes_ends_with_identical_weights(tmp_path):
    out = tmp_path / "ddp"
    config = tiny_config(out, epochs=1, steps_per_epoch=2)
    config["output"]["rank_checkpoints"] = True
    fetrack_train(config, tmp_path, nproc=2, timeout=180)
    ranks = [torch.load(out / f"final_rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    # Training changed the weights (the ranks did not just agree on the initial ones).
    torch.manual_seed(0)
    from fetrack_ros.model import build_model
    initial = build_model("vim_t", **TINY_MODEL["overrides"]).state_dict()
    assert not torch.equal(initial["box_head.conv5_ctr.weight"], ranks[0]["box_head.conv5_ctr.weight"])
    assert (out / "checkpoint_ep0001.pt").is_file()


def test_synthetic_source_gives_the_same_event_frames_through_evt3():
    from fetrack_ros.training.sampling import SyntheticSource
    from fetrack_ros.simulation.simulator import SimConfig

    sim = SimConfig.from_dict(TINY_SIM)
    direct, evt3 = SyntheticSource(sim).simulate(21), SyntheticSource(sim, event_path="evt3").simulate(21)
    for i in range(len(direct)):
        assert np.array_equal(direct.event_frame(i), evt3.event_frame(i))
        assert np.array_equal(direct.rgb(i), evt3.rgb(i))


@pytest.mark.parametrize("pool", [1, 4])
def test_synthetic_source_pool_mixes_clips_at_the_same_simulation_cost(pool):
    """Every simulated clip serves exactly `reuse` calls; with a pool, consecutive calls (a batch)
    come from several clips, without one, from one clip at a time."""
    from fetrack_ros.training.sampling import SyntheticSource
    from fetrack_ros.simulation.simulator import SimConfig

    source = SyntheticSource(SimConfig.from_dict({**TINY_SIM, "num_frames": 2}), reuse=3, pool=pool)
    rng = np.random.default_rng(4)
    names = [source.clip(rng).name for _ in range(48)]
    uses = {name: names.count(name) for name in names}
    # Used-up clips served exactly `reuse` calls; the ones still in the pool at most that.
    assert sum(n == 3 for n in uses.values()) >= len(uses) - pool and max(uses.values()) == 3
    distinct_per_batch = [len(set(names[i:i + 6])) for i in range(0, 48, 6)]
    if pool == 1:
        assert names == [n for n in dict.fromkeys(names) for _ in range(3)][:48]   # one clip at a time
        assert max(distinct_per_batch) == 2
    else:
        assert np.mean(distinct_per_batch) > 3
    with pytest.raises(ValueError, match="pool >= 1"):
        SyntheticSource(pool=0)


@pytest.mark.parametrize("name", ["default_model.yaml", "finetune_coesot.yaml"])
def test_example_configs_load(name):
    config = TrainConfig.load(REPO / "fetrack_ros" / "training" / "configs" / name)
    assert config.train.loss_weights.l1 == 14.0
    from fetrack_ros.model import get_config
    get_config(config.model.name, **config.model.overrides)   # a buildable model


@pytest.mark.parametrize("path", sorted((REPO / "fetrack_ros" / "training" / "configs").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_packaged_training_configs_are_valid(path):
    config = TrainConfig.load(path)
    assert config.pair_settings(config.model.overrides.get("template_size", 128),
                                config.model.overrides.get("search_size", 256)).search_factor > 0


def test_stage_configs_are_small_overrides_of_their_previous_stage():
    """Every stage after the first names a base and lists only what it changes; every config the
    model card names exists and builds a model."""
    import re

    from fetrack_ros.model import get_config
    configs = REPO / "fetrack_ros" / "training" / "configs"
    stages = sorted(configs.glob("default_model_stage*.yaml"))
    assert len(stages) >= 6
    for path in stages:
        lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert lines[0].startswith("base: "), path.name
        assert len(lines) <= 16, path.name
    named = set(re.findall(r"default_model(?:_stage\d+)?\.yaml", (REPO / "docs" / "model_card.md").read_text()))
    assert {"default_model.yaml", "default_model_stage10.yaml"} <= named
    for name in named:
        config = TrainConfig.load(configs / name)
        get_config(config.model.name, **config.model.overrides)
