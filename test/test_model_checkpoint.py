"""Checkpoint IO: official-style pickles (safely), plain state dicts, project checkpoints, errors."""
import collections
import os
import sys
import types

import numpy as np
import pytest
import torch

from fetrack_ros.model import (CheckpointError, UnsafeCheckpointError, build_model, infer_config,
                               load_checkpoint, load_model, read_checkpoint, save_checkpoint)
from fetrack_ros.model.checkpoint import resize_position_embeddings

FOREIGN_MODULE = "lib.train.admin.settings_not_here"


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("vim_t", depth=1)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _foreign_classes():
    """Classes that pickle as FOREIGN_MODULE.Settings / .AverageMeter (like the reference's objects)."""
    module = types.ModuleType(FOREIGN_MODULE)

    class Settings:
        def __init__(self):
            self.workspace_dir = "/tmp/ws"
            self.cfg = {"lr": 1e-4}

    class AverageMeter(dict):
        pass

    for cls in (Settings, AverageMeter):
        cls.__module__ = FOREIGN_MODULE
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
    return module


def _install(patch, module):
    """Put ``module`` and its (empty) parent packages into sys.modules for the patch's lifetime."""
    parts = module.__name__.split(".")
    for i in range(1, len(parts)):
        patch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    patch.setitem(sys.modules, module.__name__, module)


def _save_official_style(path, model, monkeypatch):
    module = _foreign_classes()
    with monkeypatch.context() as patch:  # the module exists only while saving
        _install(patch, module)
        stats = module.AverageMeter(avg=0.5)
        stats.count = 3
        torch.save({"epoch": 50, "actor_type": "MambaFETrackActor", "net_type": "Mamba_FEtrack",
                    "net": model.state_dict(), "net_info": None, "device": torch.device("cpu"),
                    "numpy": {"loss": np.float64(0.25), "hist": np.arange(3, dtype=np.float32)},
                    "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]},
                    "stats": collections.OrderedDict(train=stats), "settings": module.Settings()}, path)
    assert FOREIGN_MODULE not in sys.modules


def test_official_style_pickle_loads_weights_without_importing(tmp_path, tiny, monkeypatch):
    path = tmp_path / "Mamba_FEtrack_ep0050.pth.tar"
    _save_official_style(path, tiny, monkeypatch)
    with pytest.raises(Exception):  # what weights_only refuses, and why we need the restricted reader
        torch.load(path, weights_only=True)
    model = load_checkpoint(build_model("vim_t", depth=1), path)
    assert _same_weights(model, tiny)
    assert FOREIGN_MODULE not in sys.modules
    from fetrack_ros.model import safe_pickle
    raw = torch.load(path, weights_only=False, pickle_module=safe_pickle)
    assert raw["epoch"] == 50 and raw["numpy"]["loss"] == 0.25
    assert list(raw["numpy"]["hist"]) == [0, 1, 2]
    settings = raw["settings"]
    assert isinstance(settings, safe_pickle.OpaqueObject)
    assert settings.pickled_class == f"{FOREIGN_MODULE}.Settings"
    assert settings.state == {"workspace_dir": "/tmp/ws", "cfg": {"lr": 1e-4}}
    meter = raw["stats"]["train"]
    assert meter.items == {"avg": 0.5} and meter.state == {"count": 3}
    assert load_model(path).config.embed_dim == 192  # config inferred from the keys


def test_official_style_pickle_executes_nothing_even_if_module_exists(tmp_path, tiny, monkeypatch):
    path = tmp_path / "official.pth.tar"
    _save_official_style(path, tiny, monkeypatch)
    calls = []
    trap = types.ModuleType(FOREIGN_MODULE)

    class Settings:
        def __new__(cls, *a, **k):
            calls.append("new")
            return super().__new__(cls)

        def __setstate__(self, state):
            calls.append("setstate")

    class AverageMeter(dict):
        def __setitem__(self, key, value):
            calls.append("setitem")

    trap.Settings, trap.AverageMeter = Settings, AverageMeter
    _install(monkeypatch, trap)
    assert _same_weights(load_checkpoint(build_model("vim_t", depth=1), path), tiny)
    assert calls == []


class _Evil:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def test_malicious_pickle_calling_os_system_is_refused(tmp_path, tiny):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"net": tiny.state_dict(), "x": _Evil(os.system, f"touch {marker}")}, path)
    with pytest.raises(UnsafeCheckpointError, match="refusing"):
        load_checkpoint(build_model("vim_t", depth=1), path)
    assert not marker.exists()


def test_pickle_calling_an_unknown_function_is_refused(tmp_path, tiny, monkeypatch):
    module = types.ModuleType("lib.utils_not_here")

    def make_trouble(arg):
        return arg

    make_trouble.__module__, make_trouble.__qualname__ = module.__name__, "make_trouble"
    module.make_trouble = make_trouble
    path = tmp_path / "evil2.pth"
    with monkeypatch.context() as patch:
        _install(patch, module)
        torch.save({"net": tiny.state_dict(), "x": _Evil(make_trouble, "rm -rf")}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"call lib\.utils_not_here\.make_trouble"):
        read_checkpoint(path)


def test_plain_state_dict_and_dataparallel_prefix(tmp_path, tiny):
    plain, prefixed = tmp_path / "plain.pt", tmp_path / "dp.pt"
    torch.save(tiny.state_dict(), plain)
    torch.save({f"module.{k}": v for k, v in tiny.state_dict().items()}, prefixed)
    for path in (plain, prefixed):
        assert _same_weights(load_checkpoint(build_model("vim_t", depth=1), path), tiny)


def test_project_checkpoint_round_trip_rebuilds_config(tmp_path, tiny):
    path = save_checkpoint(tiny, tmp_path / "ckpt" / "model.pt", extra={"epoch": 3})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "fetrack_ros/1" and raw["extra"] == {"epoch": 3}
    assert "scan_backend" not in raw["config"]
    model = load_model(path, scan_backend="reference")
    assert model.config == build_model("vim_t", depth=1, scan_backend="reference").config
    assert not model.training and _same_weights(model, tiny)
    state, config = read_checkpoint(path)
    assert config.depth == 1 and config.embed_dim == 192


def test_missing_file_and_not_a_checkpoint(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tiny, tmp_path / "nope.pt")
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint\n")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for path in (text, garbage, empty):
        with pytest.raises(CheckpointError, match="not a checkpoint"):
            load_checkpoint(tiny, path)
    no_weights = tmp_path / "dict.pt"
    torch.save({"epoch": 1, "lr": 0.1}, no_weights)
    with pytest.raises(CheckpointError, match="without a state dict"):
        load_checkpoint(tiny, no_weights)
    a_list = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], a_list)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(tiny, a_list)
    bad_format = tmp_path / "future.pt"
    torch.save({"format": "fetrack_ros/9", "config": {}, "state_dict": {}}, bad_format)
    with pytest.raises(CheckpointError, match="unsupported checkpoint format"):
        read_checkpoint(bad_format)


def test_wrong_architecture_names_differences_and_fitting_config(tmp_path, tiny):
    path = tmp_path / "vim_t_d1.pt"
    torch.save(tiny.state_dict(), path)
    with pytest.raises(CheckpointError) as wrong_depth:
        load_checkpoint(build_model("vim_t", depth=2), path)
    message = str(wrong_depth.value)
    assert "missing keys: backbone.layers.1.mixer.A_log" in message
    assert 'fits build_model("vim_t", depth=1)' in message
    with pytest.raises(CheckpointError) as wrong_width:
        load_checkpoint(build_model("vim_s", depth=1), path)
    message = str(wrong_width.value)
    assert "shape mismatches: backbone.cls_token: checkpoint (1, 1, 192) vs model (1, 1, 384)" in message
    assert 'fits build_model("vim_t", depth=1)' in message


def test_infer_config_on_official_keys(official_fixtures, tmp_path):
    """The reference model's own key list and shapes (vim_s_keys.json), cut to its first two layers."""
    import json
    import re

    spec = json.loads((official_fixtures / "vim_s_keys.json").read_text())["keys"]
    layer = lambda key: re.match(r"backbone\.layers\.(\d+)\.", key)  # noqa: E731
    state = {k["key"]: torch.zeros(k["shape"], dtype=getattr(torch, k["dtype"])) for k in spec
             if not layer(k["key"]) or int(layer(k["key"]).group(1)) < 2}
    assert infer_config(state) == build_model("vim_s", depth=2).config
    torch.save({"net": state}, tmp_path / "official_depth2.pth.tar")  # the official checkpoint layout
    model = load_model(tmp_path / "official_depth2.pth.tar")
    assert model.config.depth == 2 and model.config.embed_dim == 384


def test_position_embeddings_resample_to_other_crop_sizes(tmp_path, tiny):
    """Weights trained at 128/256 px crops fine-tune at 192/320: only the position grids change."""
    path = tmp_path / "at_128_256.pt"
    torch.save(tiny.state_dict(), path)
    larger = build_model("vim_t", depth=1, template_size=192, search_size=320)
    with pytest.raises(CheckpointError, match=r"pos_embed_x: checkpoint \(1, 256, 192\) vs model \(1, 400, 192\)"):
        load_checkpoint(larger, path)
    load_checkpoint(larger, path, resize_positions=True)
    source, loaded = tiny.state_dict(), larger.state_dict()
    for key, side, old_side in (("backbone.pos_embed_z", 12, 8), ("backbone.pos_embed_x", 20, 16)):
        old = source[key].reshape(old_side, old_side, -1)
        new = loaded[key].reshape(side, side, -1)
        for corner in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
            assert torch.allclose(new[corner], old[corner], atol=1e-6), (key, corner)   # corners aligned
        # Interpolated tokens stay within the range the old grid spans (up to bicubic overshoot).
        spread = old.max() - old.min()
        assert new.min() >= old.min() - 0.25 * spread and new.max() <= old.max() + 0.25 * spread
    assert all(torch.equal(loaded[k], v) for k, v in source.items() if "pos_embed" not in k)


def test_position_embedding_resampling_keeps_fitting_grids_and_smooth_fields():
    config = build_model("vim_t", depth=1, template_size=96, search_size=160).config   # 6x6, 10x10 grids
    rows = torch.arange(8.0).reshape(8, 1, 1).expand(8, 8, 3)
    state = {"backbone.pos_embed_z": (2.0 * rows + 1.0).reshape(1, 64, 3),
             "backbone.pos_embed_x": torch.full((1, 100, 3), 0.5), "other": torch.ones(2)}
    out = resize_position_embeddings(state, config)
    assert out["backbone.pos_embed_x"] is state["backbone.pos_embed_x"] and out["other"] is state["other"]
    # A field rising down the rows still rises down the (fewer) new rows, from the same first to
    # the same last value, and stays constant along each row.
    z = out["backbone.pos_embed_z"].reshape(6, 6, 3)
    assert torch.allclose(z[0], torch.tensor(1.0)) and torch.allclose(z[-1], torch.tensor(15.0))
    assert (z[1:, :, :] > z[:-1, :, :]).all()
    assert torch.allclose(z, z[:, :1, :1].expand(6, 6, 3))
    constant = resize_position_embeddings({"backbone.pos_embed_z": torch.full((1, 64, 3), 0.25)}, config)
    assert torch.allclose(constant["backbone.pos_embed_z"], torch.tensor(0.25)) and constant["backbone.pos_embed_z"].shape == (1, 36, 3)
    with pytest.raises(CheckpointError, match="not a square grid"):
        resize_position_embeddings({"backbone.pos_embed_z": torch.zeros(1, 60, 3)}, config)
    with pytest.raises(CheckpointError, match=r"expected \(1, tokens, dim\)"):
        resize_position_embeddings({"backbone.pos_embed_x": torch.zeros(64, 3)}, config)


def test_grown_backbone_computes_what_the_checkpoint_did(tmp_path):
    torch.manual_seed(0)
    shallow = build_model("vim_t", depth=2).eval()
    for p in shallow.parameters():   # trained-looking weights, not the init's symmetric ones
        p.data.add_(0.05 * torch.randn_like(p))
    path = save_checkpoint(shallow, tmp_path / "shallow.pt")
    deep = build_model("vim_t", depth=4)
    initial = {k: v.clone() for k, v in deep.state_dict().items()}
    with pytest.raises(CheckpointError, match="missing keys"):
        load_checkpoint(deep, path)
    load_checkpoint(deep, path, layer_sources=[None, 0, None, 1]).eval()
    inputs = [torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128),
              torch.rand(1, 3, 256, 256), torch.rand(1, 3, 256, 256)]
    with torch.no_grad():
        before, after = shallow(*inputs), deep(*inputs)
    for key in ("score_map", "size_map", "offset_map"):
        assert torch.allclose(before[key], after[key], atol=1e-6), key
    grown, source = deep.state_dict(), shallow.state_dict()
    for new, old in ((1, 0), (3, 1)):
        prefix = f"backbone.layers.{old}."
        assert all(torch.equal(grown[f"backbone.layers.{new}." + k[len(prefix):]], v)
                   for k, v in source.items() if k.startswith(prefix))
    for new in (0, 2):
        prefix = f"backbone.layers.{new}."
        assert torch.count_nonzero(grown[prefix + "mixer.out_proj.weight"]) == 0
        # The rest of a new layer is the model's own initialisation, so it can learn.
        assert torch.equal(grown[prefix + "mixer.in_proj.weight"], initial[prefix + "mixer.in_proj.weight"])
    # Training moves a new layer off the identity: its output projection gets a gradient.
    deep.train()
    out = deep(*inputs)
    (out["score_map"].sum() + out["size_map"].sum()).backward()
    assert deep.backbone.layers[2].mixer.out_proj.weight.grad.abs().sum() > 0


def test_widened_backbone_computes_what_the_checkpoint_did(tmp_path):
    torch.manual_seed(0)
    narrow = build_model("vim_t", depth=2, embed_dim=64, dt_rank=4).eval()
    for p in narrow.parameters():   # trained-looking weights, not the init's symmetric ones
        p.data.add_(0.05 * torch.randn_like(p))
    path = save_checkpoint(narrow, tmp_path / "narrow.pt")
    # exact up to the norms' eps, which the wider model scales to keep the same function
    wide = build_model("vim_t", depth=2, embed_dim=96, dt_rank=4, norm_eps=1e-5 * 64 / 96)
    initial = {k: v.clone() for k, v in wide.state_dict().items()}
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(wide, path)
    load_checkpoint(wide, path, widen=True).eval()
    inputs = [torch.rand(2, 3, 128, 128), torch.rand(2, 3, 128, 128),
              torch.rand(2, 3, 256, 256), torch.rand(2, 3, 256, 256)]
    with torch.no_grad():   # in float64: what is left is the float32 rounding of the rescaled norm weights
        before = narrow.double()(*[x.double() for x in inputs])
        after = wide.double()(*[x.double() for x in inputs])
    narrow.float(), wide.float()
    for key in ("score_map", "size_map", "offset_map"):   # an unscaled eps alone moves them by 1e-5
        assert torch.allclose(before[key], after[key], rtol=1e-6, atol=1e-6), key
    grown, source = wide.state_dict(), narrow.state_dict()
    mixer = "backbone.layers.1.mixer."
    # the trained weights sit in the leading corner; in_proj's z half moved to the new z half
    assert torch.equal(grown[mixer + "in_proj.weight"][:128, :64], source[mixer + "in_proj.weight"][:128])
    assert torch.equal(grown[mixer + "in_proj.weight"][192:320, :64], source[mixer + "in_proj.weight"][128:])
    assert torch.equal(grown[mixer + "A_log"][:128], source[mixer + "A_log"])
    # nothing new writes to the residual stream yet; the new channels' other weights are the init's
    assert torch.count_nonzero(grown["backbone.patch_embed.proj.weight"][64:]) == 0
    assert torch.count_nonzero(grown[mixer + "out_proj.weight"][64:]) == 0
    assert torch.count_nonzero(grown[mixer + "out_proj.weight"][:, 128:]) == 0
    assert torch.equal(grown[mixer + "in_proj.weight"][128:192], initial[mixer + "in_proj.weight"][128:192])
    # Training moves the new channels off zero: the zeroed weights get gradients.
    wide.train()
    out = wide(*inputs)
    (out["score_map"].sum() + out["size_map"].sum()).backward()
    for weight in (wide.backbone.patch_embed.proj.weight, wide.backbone.layers[0].mixer.out_proj.weight):
        assert weight.grad[64:].abs().sum() > 0
    assert wide.backbone.layers[0].mixer.out_proj.weight.grad[:, 128:].abs().sum() > 0


def test_widening_refuses_what_it_cannot_keep(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(build_model("vim_t", depth=1, embed_dim=64, dt_rank=4), tmp_path / "narrow.pt")
    with pytest.raises(CheckpointError, match="keeps dt_rank.*set the model's dt_rank to 4"):
        load_checkpoint(build_model("vim_t", depth=1, embed_dim=96), path, widen=True)
    with pytest.raises(CheckpointError, match="cannot widen embed_dim 64 to a narrower 48"):
        load_checkpoint(build_model("vim_t", depth=1, embed_dim=48, dt_rank=4), path, widen=True)
    same = build_model("vim_t", depth=1, embed_dim=64, dt_rank=4)
    assert _same_weights(load_checkpoint(same, path, widen=True), load_model(path))


def test_layer_sources_must_use_every_checkpoint_layer_once(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(build_model("vim_t", depth=2), tmp_path / "shallow.pt")
    deep = build_model("vim_t", depth=3)
    for sources, message in (([0, None, 0], "exactly once"), ([0, None, None], "exactly once"),
                             ([0, 1, 2], r"layers \[2\]"), ([0, None, None, 1], "4 entries but the model has 3 layers")):
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(deep, path, layer_sources=sources)
