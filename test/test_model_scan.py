"""Selective-scan backends: the fast torch scan against the sequential reference, values and gradients."""
import pytest
import torch

from fetrack_ros.model.ops import causal_conv1d, resolve_backend, selective_scan
from fetrack_ros.model.ops.scan import _may_underflow, selective_scan_reference, selective_scan_torch

NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


def _inputs(batch, dim, length, state=16, groups=1, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(dtype)
    bc_shape = (batch, state, length) if groups == 1 else (batch, groups, state, length)
    return {"u": rnd(batch, dim, length), "delta": rnd(batch, dim, length, scale=0.5),
            "A": -torch.exp(rnd(dim, state, scale=0.5)), "B": rnd(*bc_shape), "C": rnd(*bc_shape),
            "D": rnd(dim), "z": rnd(batch, dim, length), "delta_bias": rnd(dim, scale=0.5)}


def _run(fn, inputs, **kw):
    return fn(*(inputs[n] for n in NAMES), delta_softplus=True, **kw)


@pytest.mark.parametrize("batch,dim,length,groups", [(1, 8, 1, 1), (2, 12, 15, 2), (3, 8, 17, 1),
                                                     (1, 32, 40, 2), (2, 6, 33, 3)])
def test_torch_matches_reference_values(batch, dim, length, groups):
    inputs = _inputs(batch, dim, length, groups=groups)
    with torch.no_grad():
        ref = _run(selective_scan_reference, inputs)
        fast = _run(selective_scan_torch, inputs)
    assert fast.shape == ref.shape == (batch, dim, length)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 4, 16, 64])
def test_torch_chunking_is_exact_in_float64(chunk):
    inputs = _inputs(2, 10, 37, groups=2, dtype=torch.float64)
    with torch.no_grad():
        ref = _run(selective_scan_reference, inputs)
        fast = _run(selective_scan_torch, inputs, chunk=chunk)
    assert fast.dtype == torch.float64
    torch.testing.assert_close(fast, ref, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 2])
def test_torch_large_steps_split_into_serial_pieces(threads):
    # 1 x 2 groups x 16 states x 1100 channels per step > 32767 elements: with 2 threads each
    # step is split into pieces that PyTorch runs serially; with 1 thread it is one op.
    inputs = _inputs(1, 2200, 5, groups=2)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            torch.testing.assert_close(_run(selective_scan_torch, inputs),
                                       _run(selective_scan_reference, inputs), atol=1e-5, rtol=1e-5)
    finally:
        torch.set_num_threads(previous)


def test_large_decays_stay_finite_and_exact():
    """Very negative dt*A (state fully forgotten) must not produce inf/nan or differ."""
    inputs = _inputs(2, 8, 20, groups=2)
    inputs["delta_bias"] = inputs["delta_bias"] + 30.0       # dt ~ 30, A up to -5: dt*A << -80
    with torch.no_grad():
        ref = _run(selective_scan_reference, inputs)
        fast = _run(selective_scan_torch, inputs)
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("length,groups", [(9, 1), (21, 2)])
def test_torch_gradients_match_reference(length, groups):
    base = _inputs(2, 12, length, groups=groups, seed=1)
    grads = {}
    for name, fn in (("ref", selective_scan_reference), ("torch", selective_scan_torch)):
        inputs = {k: v.clone().requires_grad_(True) for k, v in base.items()}
        out = _run(fn, inputs, **({"chunk": 4} if name == "torch" else {}))
        weight = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
        (out * weight).sum().backward()
        grads[name] = {k: v.grad for k, v in inputs.items()}
    for key in NAMES:
        torch.testing.assert_close(grads["torch"][key], grads["ref"][key], atol=1e-5, rtol=1e-5,
                                   msg=lambda m, key=key: f"gradient of {key}: {m}")


def test_torch_backward_passes_gradcheck_in_float64():
    """The hand-written backward (recomputing chunk states) against finite differences."""
    base = _inputs(1, 4, 7, state=3, groups=2, dtype=torch.float64, seed=2)
    names = ("u", "delta", "A", "B", "C", "delta_bias")
    leaves = [base[n].clone().requires_grad_(True) for n in names]

    def fn(*args):
        kw = dict(zip(names, args))
        return selective_scan_torch(kw["u"], kw["delta"], kw["A"], kw["B"], kw["C"], base["D"], base["z"],
                                    kw["delta_bias"], delta_softplus=True, chunk=3)

    assert torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=1e-7, rtol=1e-5)


def _log2_decay_factors(inputs):
    """dt and A*log2(e) as the torch scan forms them (their product is log2 of the decay)."""
    dt = torch.nn.functional.softplus(inputs["delta"] + inputs["delta_bias"][:, None])
    return dt, inputs["A"] * 1.4426950408889634


def test_underflow_bound_is_safe_and_tells_the_two_regimes_apart():
    """The clamp is skipped only when no dt*A' can fall below the clamp: check the bound against
    the products themselves, in the ordinary and the fully decayed regime."""
    for bias, expected in ((0.0, False), (30.0, True)):
        inputs = _inputs(2, 8, 12, groups=2, seed=3)
        inputs["delta_bias"] = inputs["delta_bias"] + bias
        dt, a = _log2_decay_factors(inputs)
        products = dt[:, :, None, :] * a[None, :, :, None]          # (b, D, N, L)
        assert _may_underflow(dt, a) is expected
        assert bool((products < -115.0).any()) is expected
    # Signs of either factor do not fool the bound.
    assert _may_underflow(torch.tensor([-60.0, 1.0]), torch.tensor([-1.0, 2.0]))
    assert not _may_underflow(torch.tensor([0.5, 1.0]), torch.tensor([-3.0, 2.0]))
    assert _may_underflow(torch.tensor([float("nan")]), torch.tensor([-1.0]))


def test_torch_gradients_with_fully_decayed_states():
    base = _inputs(2, 8, 12, groups=2, seed=3)
    base["delta_bias"] = base["delta_bias"] + 30.0       # dt*A far below the clamp for many entries
    grads = {}
    for name, fn in (("ref", selective_scan_reference), ("torch", selective_scan_torch)):
        inputs = {k: v.clone().requires_grad_(True) for k, v in base.items()}
        _run(fn, inputs).sum().backward()
        grads[name] = {k: v.grad for k, v in inputs.items()}
    for key in NAMES:
        assert torch.isfinite(grads["torch"][key]).all(), key
        torch.testing.assert_close(grads["torch"][key], grads["ref"][key], atol=1e-5, rtol=1e-5,
                                   msg=lambda m, key=key: f"gradient of {key}: {m}")


def test_dispatcher_and_backend_resolution():
    inputs = _inputs(1, 8, 10)
    with torch.no_grad():
        torch.testing.assert_close(_run(selective_scan, inputs, backend="auto"),
                                   _run(selective_scan, inputs, backend="reference"), atol=1e-5, rtol=1e-5)
    assert resolve_backend("auto", torch.device("cpu")) == "torch"
    with pytest.raises(ValueError, match="CUDA tensors"):
        resolve_backend("cuda", torch.device("cpu"))
    with pytest.raises(ValueError, match="must be one of"):
        resolve_backend("triton", torch.device("cpu"))
    with pytest.raises(ValueError, match="B must be"):
        selective_scan(inputs["u"], inputs["delta"], inputs["A"], inputs["B"][..., :-1], inputs["C"])


def test_cuda_backend_without_kernels_says_what_is_missing():
    import importlib.util
    from fetrack_ros.model.ops.backend import cuda_kernels
    if importlib.util.find_spec("mamba_ssm") is not None:
        pytest.skip("mamba-ssm is installed here")
    with pytest.raises(RuntimeError, match="mamba-ssm and causal-conv1d"):
        cuda_kernels()


def test_cpu_code_never_imports_mamba_ssm():
    import sys
    inputs = _inputs(1, 8, 10)
    with torch.no_grad():
        _run(selective_scan, inputs, backend="auto")
    assert "mamba_ssm" not in sys.modules and "causal_conv1d" not in sys.modules


def test_causal_conv1d_is_causal_with_left_zero_padding():
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(2, 3, 9, generator=g), torch.randn(3, 4, generator=g), torch.randn(3, generator=g)
    y = causal_conv1d(x, w, b, activation=None)
    padded = torch.nn.functional.pad(x, (3, 0))
    expected = torch.stack([(padded[:, :, t:t + 4] * w).sum(-1) + b for t in range(9)], dim=-1)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(causal_conv1d(x, w, b), torch.nn.functional.silu(expected))
