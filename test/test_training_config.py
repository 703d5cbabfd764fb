"""Training config files that start from another one (``base:``): merging, paths, errors."""
from pathlib import Path

import pytest

from fetrack_ros.training.config import ConfigError, TrainConfig, merge

def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_merge_mappings_key_by_key_and_replaces_lists_and_scalars():
    base = {"train": {"lr": 1.0, "epochs": 3}, "data": {"sources": [{"kind": "synthetic", "reuse": 8}],
                                                        "pairs": {"max_gap": 40, "scale_jitter": 0.25}},
            "validation": {"folder": {"root": "/a"}}}
    override = {"train": {"lr": 2.0}, "data": {"sources": [{"kind": "synthetic", "pool": 8}],
                                               "pairs": {"max_gap": 10}},
                "validation": {"folder": None}}
    merged = merge(base, override)
    assert merged == {"train": {"lr": 2.0, "epochs": 3},
                      "data": {"sources": [{"kind": "synthetic", "pool": 8}],  # a list replaces, no element merge
                               "pairs": {"max_gap": 10, "scale_jitter": 0.25}},
                      "validation": {"folder": None}}
    assert base["train"] == {"lr": 1.0, "epochs": 3}  # inputs untouched


def test_base_is_relative_to_the_file_and_chains(tmp_path):
    write(tmp_path / "recipes" / "one.yaml",
          "model: {name: vim_t, overrides: {depth: 4, embed_dim: 128}}\n"
          "train: {seed: 1, epochs: 5, lr: 8.0e-4}\n"
          "data: {pairs: {max_gap: 40}}\n")
    write(tmp_path / "recipes" / "two.yaml",
          "base: one.yaml\nmodel: {overrides: {depth: 6}}\ntrain: {seed: 2}\n")
    three = write(tmp_path / "stages" / "three.yaml",
                  "base: ../recipes/two.yaml\ntrain: {epochs: 7}\ndata: {pairs: {static_target_prob: 0.25}}\n")
    config = TrainConfig.load(three)
    assert config.model.overrides == {"depth": 6, "embed_dim": 128}
    assert (config.train.seed, config.train.epochs, config.train.lr) == (2, 7, 8e-4)
    assert config.data.pairs == {"max_gap": 40, "static_target_prob": 0.25}
    absolute = write(tmp_path / "elsewhere" / "four.yaml", f"base: {three}\ntrain: {{seed: 4}}\n")
    assert TrainConfig.load(absolute).train.epochs == 7


def test_base_cycles_and_missing_files_are_refused(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\ntrain: {seed: 1}\n")
    write(tmp_path / "b.yaml", "base: ./a.yaml\n")  # another spelling of the same file
    with pytest.raises(ConfigError, match=r"cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        TrainConfig.load(tmp_path / "a.yaml")
    write(tmp_path / "self.yaml", "base: self.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        TrainConfig.load(tmp_path / "self.yaml")
    write(tmp_path / "orphan.yaml", "base: gone.yaml\n")
    with pytest.raises(ConfigError, match=r"not found: .*gone\.yaml \(the base of .*orphan\.yaml\)"):
        TrainConfig.load(tmp_path / "orphan.yaml")
    write(tmp_path / "bad.yaml", "base: [a.yaml]\n")
    with pytest.raises(ConfigError, match="base must be the path"):
        TrainConfig.load(tmp_path / "bad.yaml")


def test_unknown_fields_of_a_merged_config_name_their_path_and_files(tmp_path):
    write(tmp_path / "base.yaml", "train: {seed: 1}\n")
    child = write(tmp_path / "child.yaml", "base: base.yaml\ntrain: {lrr: 1}\n")
    with pytest.raises(ConfigError, match=r"'lrr'.* in train.*child\.yaml <- .*base\.yaml"):
        TrainConfig.load(child)
    write(tmp_path / "bad_base.yaml", "data: {sources: [{kind: synthetic, seeds: 3}]}\n")
    with pytest.raises(ConfigError, match=r"'seeds'.* in data\.sources\[0\]"):
        TrainConfig.load(write(tmp_path / "ok.yaml", "base: bad_base.yaml\n"))


def test_every_shipped_config_loads_with_valid_data_settings():
    """The stage configs chain through ``base:``; a renamed or edited base breaks its children
    only when someone reruns them, so every file is loaded here, with its simulator and pair settings."""
    from fetrack_ros.simulation.simulator import SimConfig
    folder = Path(__file__).resolve().parents[1] / "fetrack_ros" / "training" / "configs"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 2
    for path in files:
        config = TrainConfig.load(path)
        config.pair_settings(128, 256)
        for source in config.data.sources:
            if source.kind == "synthetic":
                assert SimConfig.from_dict(source.sim).num_frames > 0, path.name
