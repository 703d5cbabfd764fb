"""Training losses against hand-computed values, and one optimisation step on a fixed batch."""
import math

import numpy as np
import pytest
import torch

from fetrack_ros.training.losses import (LossWeights, cxcywh_to_xyxy, focal_loss, gaussian_heatmap, gaussian_radius,
                                         giou, tracking_loss)


def test_giou_of_overlapping_disjoint_and_identical_boxes():
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [0.1, 0.2, 0.5, 0.6]])
    gt = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0], [0.1, 0.2, 0.5, 0.6]])
    g, iou = giou(pred, gt)
    # 1: intersection 1, union 4 + 4 - 1 = 7, enclosing 3 x 3 = 9.  2: no overlap, union 2, enclosing 3.
    expected_g = torch.tensor([1 / 7 - (9 - 7) / 9, 0 - (3 - 2) / 3, 1.0])
    assert torch.allclose(g, expected_g, atol=1e-6)
    assert torch.allclose(iou, torch.tensor([1 / 7, 0.0, 1.0]), atol=1e-6)


def test_focal_loss_on_a_2x2_map():
    pred = torch.tensor([[[[0.9, 0.2], [0.1, 0.3]]]])
    target = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]])
    pos = math.log(0.9) * 0.1 ** 2
    neg = (math.log(0.8) * 0.2 ** 2 * 0.5 ** 4 + math.log(0.9) * 0.1 ** 2 + math.log(0.7) * 0.3 ** 2)
    assert focal_loss(pred, target).item() == pytest.approx(-(pos + neg) / 1, rel=1e-6)
    # Without a positive cell the loss is the negative part alone.
    assert focal_loss(pred, target * 0.5).item() == pytest.approx(
        -(math.log(0.1) * 0.81 * 0.5 ** 4 + math.log(0.8) * 0.04 * 0.75 ** 4 + math.log(0.9) * 0.01
          + math.log(0.7) * 0.09), rel=1e-6)


def test_gaussian_radius_matches_the_centernet_formulas():
    h, w, m = 4.0, 2.0, 0.7
    r1 = ((h + w) + math.sqrt((h + w) ** 2 - 4 * w * h * (1 - m) / (1 + m))) / 2
    r2 = (2 * (h + w) + math.sqrt(4 * (h + w) ** 2 - 16 * (1 - m) * w * h)) / 2
    r3 = (-2 * m * (h + w) + math.sqrt(4 * m * m * (h + w) ** 2 - 16 * m * (m - 1) * w * h)) / 2
    assert gaussian_radius(h, w, m) == pytest.approx(min(r1, r2, r3))
    assert gaussian_radius(h, w, m) == pytest.approx(r3)


def test_gaussian_heatmap_peak_radius_and_sigma():
    feat = 16
    box = torch.tensor([[0.5 + 0.2 / feat, 0.25 + 0.4 / feat, 0.5, 0.25]])   # 8 x 4 cells
    hm = gaussian_heatmap(box, feat)[0, 0]
    iy, ix = round(0.25 * feat + 0.4), round(0.5 * feat + 0.2)
    assert hm[iy, ix] == 1.0 and (hm == 1.0).sum() == 1
    r = int(gaussian_radius(4.0, 8.0))
    sigma = (2 * r + 1) / 6
    assert r >= 1
    assert hm[iy, ix + 1].item() == pytest.approx(math.exp(-1 / (2 * sigma ** 2)), rel=1e-6)
    assert hm[iy + 1, ix + 1].item() == pytest.approx(math.exp(-2 / (2 * sigma ** 2)), rel=1e-6)
    ys, xs = torch.nonzero(hm, as_tuple=True)
    assert (ys - iy).abs().max() <= r and (xs - ix).abs().max() <= r
    # A centre on the last cell's far side stays on the map.
    edge = gaussian_heatmap(torch.tensor([[0.999, 0.999, 0.1, 0.1]]), feat)[0, 0]
    assert edge[feat - 1, feat - 1] == 1.0


def test_total_loss_is_the_weighted_sum_of_hand_computed_parts():
    feat = 4
    gt = torch.tensor([[0.5, 0.5, 0.5, 0.5]])                # xyxy 0.25..0.75
    pred_box = torch.tensor([[[0.5, 0.5, 0.25, 0.5]]])       # xyxy 0.375, 0.25, 0.625, 0.75
    score = torch.full((1, 1, feat, feat), 0.1)
    outputs = {"pred_boxes": pred_box, "score_map": score}
    weights = LossWeights()
    assert (weights.giou, weights.l1, weights.focal) == (1.0, 14.0, 1.0)
    total, stats = tracking_loss(outputs, gt, weights)
    # GIoU: pred inside gt, IoU = 0.125 / 0.25 = 0.5, enclosing = gt -> GIoU 0.5, loss 0.5.
    assert stats["giou"] == pytest.approx(0.5) and stats["iou"] == pytest.approx(0.5)
    # L1 over the 4 xyxy coordinates: |0.375-0.25| + 0 + |0.625-0.75| + 0 = 0.25 -> mean 0.0625.
    assert stats["l1"] == pytest.approx(0.0625)
    hm = gaussian_heatmap(gt, feat)
    assert stats["focal"] == pytest.approx(focal_loss(score, hm).item())
    assert total.item() == pytest.approx(1.0 * 0.5 + 14.0 * 0.0625 + 1.0 * stats["focal"], rel=1e-6)


def test_ground_truth_is_clamped_to_the_crop():
    gt = torch.tensor([[0.95, 0.5, 0.2, 0.2]])
    assert torch.allclose(cxcywh_to_xyxy(gt).clamp(0, 1), torch.tensor([[0.85, 0.4, 1.0, 0.6]]))


def test_one_optimisation_step_lowers_the_loss_on_a_fixed_batch():
    from fetrack_ros.model import build_model
    from fetrack_ros.tracking.normalize import PatchNormalizer
    from fetrack_ros.training.config import TrainConfig
    from fetrack_ros.training.sampling import PairSampler, SyntheticSource
    from fetrack_ros.simulation.simulator import SimConfig
    from fetrack_ros.training.trainer import build_optimizer, collate_pairs, to_inputs, train_step

    torch.manual_seed(0)
    model = build_model("vim_t", depth=1, embed_dim=64, head_channels=32, template_size=64, search_size=128).train()
    config = TrainConfig.from_dict({"train": {"lr": 1e-3}})
    source = SyntheticSource(SimConfig(height=96, width=128, num_frames=8, target_size_px=(14.0, 28.0)), reuse=8)
    sampler = PairSampler([source], None, config.pair_settings(64, 128))
    rng = np.random.default_rng(0)
    batch = collate_pairs([sampler.sample(rng) for _ in range(4)])
    normalize = PatchNormalizer("cpu")
    optimizer = build_optimizer(model, config.train.lr, config.train.weight_decay, config.train.backbone_lr_multiplier)

    def loss_now():
        torch.manual_seed(123)  # same Gumbel routing noise for both evaluations
        with torch.no_grad():
            inputs, gt = to_inputs(batch, normalize)
            return tracking_loss(model(*inputs), gt, config.train.loss_weights)[0].item()

    before = loss_now()
    torch.manual_seed(123)
    stats = train_step(model, optimizer, batch, normalize, config)
    assert stats["loss"] == pytest.approx(before, rel=1e-5)
    after = loss_now()
    assert after < before, (before, after)


def test_score_prior_initialisation_lowers_the_starting_focal_loss():
    from fetrack_ros.model import build_model
    from fetrack_ros.training.trainer import init_score_prior

    torch.manual_seed(0)
    model = build_model("vim_t", depth=1, embed_dim=64, head_channels=32, template_size=64, search_size=128).eval()
    z, x = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 128, 128)
    gt = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.3, 0.6, 0.25, 0.15]])
    before = tracking_loss(model(z, z, x, x), gt, LossWeights())[1]["focal"]
    init_score_prior(model, 0.01)
    with torch.no_grad():
        out = model(z, z, x, x)
    assert torch.allclose(out["score_map"].mean(), torch.tensor(0.01), atol=0.02)
    after = tracking_loss(out, gt, LossWeights())[1]["focal"]
    # What is left is essentially the positive cell's -log(0.01) (1 - 0.01)^2 = 4.51; negatives ~0.
    assert after < before and abs(after - (-math.log(0.01) * 0.99 ** 2)) < 0.3
