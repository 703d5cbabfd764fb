"""FEMamba against the numerical fixtures of the public reference (test/fixtures/official).

The full network file is in ../shared only: the tests of the backbone features and the
intermediates need it; the checkpoint test runs on the weights rebuilt from the extract too."""
import json

import pytest
import torch

from fetrack_ros.model import build_model, load_checkpoint

INPUTS = ("template_rgb", "template_event", "search_rgb", "search_event")
TOL = 1e-4


@pytest.fixture(scope="module")
def fixture(official_fixtures):
    return torch.load(official_fixtures / "femamba_depth2.pt", weights_only=True)


@pytest.fixture(scope="module")
def model(fixture):
    model = build_model("vim_s", depth=2)
    model.load_state_dict(fixture["state_dict"], strict=True)
    return model


def _close(actual, expected, name):
    err = (actual.float() - expected.float()).abs().max().item()
    assert err <= TOL, f"{name}: max abs error {err:.3g} > {TOL}"


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_forward_matches_reference_outputs(model, fixture, backend):
    model.set_scan_backend(backend)
    inputs = [fixture["inputs"][k] for k in INPUTS]
    with torch.inference_mode():
        out = model(*inputs)
        bb = model.backbone(*inputs)
    assert set(out) == {"pred_boxes", "score_map", "size_map", "offset_map"}
    for key in ("pred_boxes", "score_map", "size_map", "offset_map"):
        assert out[key].shape == fixture["outputs"][key].shape, key
        _close(out[key], fixture["outputs"][key], key)
    _close(bb.features, fixture["outputs"]["backbone_feat"], "backbone_feat")
    _close(bb.prompts_rgb, fixture["outputs"]["p_r"], "p_r")
    _close(bb.prompts_event, fixture["outputs"]["p_e"], "p_e")
    assert torch.equal(bb.route_idx_rgb, fixture["outputs"]["rgb_route_idx"])
    assert torch.equal(bb.route_idx_event, fixture["outputs"]["event_route_idx"])


def test_intermediates_match(model, fixture):
    """Tokens, router, layer-0 scans and mixer output, and the head input."""
    model.set_scan_backend("torch")
    inputs = [fixture["inputs"][k] for k in INPUTS]
    inter = fixture["intermediates"]
    bb = model.backbone
    with torch.inference_mode():
        rgb = bb.embed(inputs[0], inputs[2])
        event = bb.embed(inputs[1], inputs[3])
        _close(rgb, inter["rgb_tokens"], "rgb_tokens")
        _close(event, inter["event_tokens"], "event_tokens")
        _close(bb.route(rgb), inter["rgb_route_logp"], "rgb_route_logp")
        _close(bb.route(event), inter["event_route_logp"], "event_route_logp")
        p_r, p_e = fixture["outputs"]["p_r"], fixture["outputs"]["p_e"]
        layer0 = bb.layers[0]
        normed, _ = layer0.norm.add_norm(torch.cat([rgb, event]), None)
        cross = torch.cat([p_e, p_r])
        scans = layer0.mixer.scan(normed, cross)                   # (2, 2, E, L)
        for m, modality in enumerate(("rgb", "event")):
            for d, direction in enumerate(("fwd", "bwd")):
                name = f"layer0_scan_{modality}_{direction}_ch0_63"
                _close(scans[m, d, :64].unsqueeze(0), inter[name], name)
        hidden = layer0.mixer(normed, cross)
        _close(torch.cat([hidden[:1], hidden[1:]], dim=1), inter["layer0_hidden"], "layer0_hidden")
        feat = fixture["outputs"]["backbone_feat"]
        head_in = (feat[:, 64:320] + feat[:, 384:]).transpose(1, 2).reshape(1, 384, 16, 16)
        _close(head_in, inter["head_in"], "head_in")
        out = model.box_head(head_in)
        _close(out["score_map"], fixture["outputs"]["score_map"], "score_map from head_in")


def test_full_vim_s_keys_shapes_and_parameter_count(official_fixtures):
    spec = json.loads((official_fixtures / "vim_s_keys.json").read_text())
    model = build_model("vim_s")
    state = model.state_dict()
    assert [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state.items()] == \
        [(e["key"], e["shape"], e["dtype"]) for e in spec["keys"]]
    assert sum(p.numel() for p in model.parameters()) == spec["total_parameters"]
    assert sum(v.numel() for v in state.values()) == spec["total_state_dict_elements"]
    assert model.config.template_size == 128 and model.config.search_size == 256
    assert model.config.feat_size == 16


def test_load_checkpoint_reads_fixture_dict(femamba_depth2, femamba_depth2_path):
    model = load_checkpoint(build_model("vim_s", depth=2), femamba_depth2_path)
    for key, value in femamba_depth2["state_dict"].items():
        assert torch.equal(model.state_dict()[key], value), key
