"""FEMamba network behaviour: configs, routing (eval vs training), backends agreeing end to end."""
import pytest
import torch

from fetrack_ros.model import CONFIGS, build_model
from fetrack_ros.model.modules.mixer import BiMambaMixer


def _inputs(batch=1, seed=0, template=64, search=128):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, template, template, generator=g), torch.randn(batch, 3, template, template, generator=g),
            torch.randn(batch, 3, search, search, generator=g), torch.randn(batch, 3, search, search, generator=g)]


@pytest.fixture(scope="module")
def small_model():
    """vim_t at depth 2 with half-size crops (80 tokens per modality) to keep the tests fast."""
    torch.manual_seed(0)
    model = build_model("vim_t", depth=2, template_size=64, search_size=128)
    with torch.no_grad():  # make the prompt pool large enough to matter (reference init is tiny)
        model.backbone.rgb_specific_prompt.weight.normal_(0, 0.6)
        model.backbone.event_specific_prompt.weight.normal_(0, 0.6)
    return model


def test_named_configs_and_overrides():
    s, t = CONFIGS["vim_s"], CONFIGS["vim_t"]
    assert (s.embed_dim, s.depth, s.d_inner, s.dt_rank) == (384, 24, 768, 24)
    assert (t.embed_dim, t.depth, t.d_inner, t.dt_rank) == (192, 24, 384, 12)
    model = build_model("vim_t", depth=2, scan_backend="reference")
    assert model.config.depth == 2 and len(model.backbone.layers) == 2
    assert model.config.scan_backend == "reference" and not model.training
    assert (model.config.template_size, model.config.search_size, model.config.feat_size) == (128, 256, 16)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vim_xl")
    with pytest.raises(TypeError, match="unknown override"):
        build_model("vim_s", dept=2)
    with pytest.raises(ValueError, match="scan_backend"):
        build_model("vim_s", depth=1, scan_backend="fast")


def test_output_dict_shapes_batch_two():
    model = build_model("vim_t", depth=1)
    with torch.inference_mode():
        out = model(*_inputs(batch=2, template=128, search=256))
    assert out["pred_boxes"].shape == (2, 1, 4)
    assert out["score_map"].shape == (2, 1, 16, 16)
    assert out["size_map"].shape == (2, 2, 16, 16) and out["offset_map"].shape == (2, 2, 16, 16)
    assert ((out["score_map"] >= 1e-4) & (out["score_map"] <= 1 - 1e-4)).all()
    # The box is read at the score peak: center = (cell + offset) / 16, size = size map there.
    peak = out["score_map"][0, 0].flatten().argmax()
    row, col = divmod(peak.item(), 16)
    cx = (col + out["offset_map"][0, 0, row, col]) / 16
    cy = (row + out["offset_map"][0, 1, row, col]) / 16
    expected = torch.stack([cx, cy, out["size_map"][0, 0, row, col], out["size_map"][0, 1, row, col]])
    torch.testing.assert_close(out["pred_boxes"][0, 0], expected)


def test_batch_rows_are_independent(small_model):
    a, b = _inputs(seed=1), _inputs(seed=2)
    with torch.inference_mode():
        both = small_model(*[torch.cat([x, y]) for x, y in zip(a, b)])
        single = small_model(*b)
    for key in single:
        torch.testing.assert_close(both[key][1:], single[key], atol=1e-5, rtol=1e-5)


def test_bad_input_shapes_are_named(small_model):
    inputs = _inputs()
    inputs[2] = inputs[2][:, :, :64]
    with pytest.raises(ValueError, match="search_rgb must have shape"):
        small_model(*inputs)


def test_eval_routing_is_deterministic(small_model):
    inputs = _inputs(seed=3)
    with torch.inference_mode():
        first, second = small_model(*inputs), small_model(*inputs)
        routed = small_model.backbone(*inputs)
        tokens = small_model.backbone.embed(inputs[0], inputs[2])
        logp = small_model.backbone.route(tokens)
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert torch.equal(routed.route_idx_rgb, logp.argmax(-1))
    pool = small_model.backbone.prompt_pool()
    assert torch.equal(routed.prompts_rgb, pool[logp.argmax(-1)])


def test_training_routing_is_hard_gumbel_with_straight_through_gradient(small_model):
    model = small_model
    model.train()
    try:
        inputs = _inputs(seed=4)
        torch.manual_seed(10)
        out1 = model.backbone(*inputs)
        torch.manual_seed(11)
        out2 = model.backbone(*inputs)
        pool = model.backbone.prompt_pool()
        # Hard samples: every prompt is exactly one pool entry, the sampled one.
        torch.testing.assert_close(out1.prompts_rgb, pool[out1.route_idx_rgb], atol=0, rtol=0)
        assert not torch.equal(out1.route_idx_rgb, out2.route_idx_rgb)  # Gumbel noise in training
        out = model.head(out1)
        (out["score_map"].sum() + out["size_map"].sum()).backward()
        router_grad = model.backbone.route[0].weight.grad
        assert router_grad is not None and router_grad.abs().sum() > 0  # straight-through estimator
        assert model.backbone.layers[0].mixer.A_b_log.grad.abs().sum() > 0
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()


def test_model_outputs_same_with_torch_and_reference_backends(small_model):
    inputs = _inputs(seed=5)
    outs = {}
    with torch.inference_mode():
        for backend in ("reference", "torch"):
            small_model.set_scan_backend(backend)
            outs[backend] = small_model(*inputs)
    small_model.set_scan_backend("auto")
    for key in outs["torch"]:
        torch.testing.assert_close(outs["torch"][key], outs["reference"][key], atol=1e-5, rtol=1e-5)


def test_mixer_backends_agree_with_gradients():
    torch.manual_seed(0)
    mixer = BiMambaMixer(16, d_state=4, dt_rank=2)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 13, 16, generator=g)
    prompt = torch.randn(3, 13, 4, generator=g)
    results = {}
    for backend in ("reference", "torch"):
        mixer.scan_backend = backend
        mixer.zero_grad()
        xi = x.clone().requires_grad_(True)
        out = mixer(xi, prompt)
        out.pow(2).sum().backward()
        results[backend] = (out.detach(), xi.grad, {n: p.grad.clone() for n, p in mixer.named_parameters()})
    torch.testing.assert_close(results["torch"][0], results["reference"][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(results["torch"][1], results["reference"][1], atol=1e-5, rtol=1e-5)
    for name, grad in results["reference"][2].items():
        torch.testing.assert_close(results["torch"][2][name], grad, atol=1e-5, rtol=1e-5,
                                   msg=lambda m, name=name: f"grad of {name}: {m}")


def test_backward_prompt_is_not_flipped():
    """The backward scan sees prompt[j] at flipped position j (the reference quirk)."""
    torch.manual_seed(0)
    mixer = BiMambaMixer(8, d_state=4, dt_rank=1, scan_backend="reference")
    x = torch.randn(1, 6, 8)
    prompt = torch.randn(1, 6, 4)
    with torch.no_grad():
        y = mixer.scan(x, prompt)
        # Rebuild the backward scan by hand with the prompt in the same (unflipped) order.
        from fetrack_ros.model.ops import causal_conv1d, selective_scan_reference
        xz = mixer.in_proj(x).transpose(1, 2).flip(-1)
        xs, z = xz.chunk(2, dim=1)
        xs = causal_conv1d(xs, mixer.conv1d_b.weight, mixer.conv1d_b.bias)
        dt, B, C = torch.split(mixer.x_proj_b(xs.transpose(1, 2)), [1, 4, 4], dim=-1)
        delta = (dt @ mixer.dt_proj_b.weight.T).transpose(1, 2)
        expected = selective_scan_reference(xs, delta, -torch.exp(mixer.A_b_log), B.transpose(1, 2),
                                            (C + prompt).transpose(1, 2), mixer.D_b, z,
                                            mixer.dt_proj_b.bias, delta_softplus=True)
    torch.testing.assert_close(y[:, 1], expected, atol=1e-6, rtol=1e-6)
