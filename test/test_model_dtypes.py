"""Half-precision inference (bf16/fp16) on CPU: runs, keeps fp32 where the reference does, stays close."""
import pytest
import torch

from fetrack_ros.model import build_model

INPUTS = ("template_rgb", "template_event", "search_rgb", "search_event")


def test_bf16_depth2_close_to_reference(femamba_depth2):
    fixture = femamba_depth2
    model = build_model("vim_s", depth=2, scan_backend="torch")
    model.load_state_dict(fixture["state_dict"])
    model.to(torch.bfloat16)
    with torch.inference_mode():
        out = model(*[fixture["inputs"][k].to(torch.bfloat16) for k in INPUTS])
    # bf16 keeps ~3 significant digits; the residual stream and the scan state stay in fp32.
    for key, tol in (("score_map", 0.03), ("size_map", 0.01), ("offset_map", 0.03), ("pred_boxes", 0.01)):
        assert out[key].dtype == torch.bfloat16
        err = (out[key].float() - fixture["outputs"][key]).abs().max().item()
        assert err < tol, f"{key}: bf16 error {err:.3g} >= {tol}"
    assert out["score_map"].flatten().argmax() == fixture["outputs"]["score_map"].flatten().argmax()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_small_model_tracks_fp32(dtype):
    torch.manual_seed(0)
    # Smaller crops keep this quick: half-precision convolutions are slow on CPU.
    model = build_model("vim_t", depth=1, scan_backend="torch", template_size=64, search_size=128)
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn(1, 3, s, s, generator=g) for s in (64, 64, 128, 128)]
    with torch.inference_mode():
        ref = model(*inputs)
        half = model.to(dtype)(*[x.to(dtype) for x in inputs])
    for key in ("score_map", "size_map", "offset_map"):
        assert half[key].dtype == dtype and torch.isfinite(half[key].float()).all()
        err = (half[key].float() - ref[key]).abs().max().item()
        assert err < 0.05, f"{key}: {dtype} error {err:.3g}"
    # Random weights give a flat score map, so the peak (and the box) may move between dtypes.
    assert half["pred_boxes"].shape == (1, 1, 4) and torch.isfinite(half["pred_boxes"].float()).all()


def test_dtype_mismatch_is_reported():
    model = build_model("vim_t", depth=1)
    inputs = [torch.zeros(1, 3, s, s, dtype=torch.bfloat16) for s in (128, 128, 256, 256)]
    with pytest.raises(TypeError, match="model runs in torch.float32"):
        model(*inputs)
