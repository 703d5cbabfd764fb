"""Bootstrap intervals over sequences: how far a benchmark mean could move with other sequences."""
import json

import numpy as np
import pytest

from fetrack_ros.evaluation import metrics, report


def test_interval_of_identical_values_is_that_value_and_spread_widens_it():
    assert metrics.bootstrap_interval([42.0] * 7) == (42.0, 42.0)
    rng = np.random.default_rng(1)
    narrow = metrics.bootstrap_interval(50 + rng.normal(0, 2, 30))
    wide = metrics.bootstrap_interval(50 + rng.normal(0, 20, 30))
    assert narrow[0] < 50.5 + 2 and narrow[1] > 49.5 - 2
    assert (wide[1] - wide[0]) > 5 * (narrow[1] - narrow[0])


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    trials, hits = 300, 0
    for trial in range(trials):
        sample = rng.exponential(10.0, 40)              # skewed, like per-sequence scores; true mean 10
        low, high = metrics.bootstrap_interval(sample, resamples=2000, seed=trial)
        hits += low <= 10.0 <= high
    assert 0.88 <= hits / trials <= 0.99                # percentile bootstrap, n = 40: close to 0.95


def test_interval_is_reproducible_and_rejects_bad_input():
    values = np.random.default_rng(3).uniform(0, 100, 20)
    assert metrics.bootstrap_interval(values) == metrics.bootstrap_interval(values)
    assert metrics.bootstrap_interval(values, confidence=0.5) != metrics.bootstrap_interval(values)
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(ValueError, match="finite per-sequence values"):
            metrics.bootstrap_interval(bad)
    with pytest.raises(ValueError, match="confidence must be in"):
        metrics.bootstrap_interval(values, confidence=95)


def test_summary_intervals_surround_its_means_and_reach_the_report(tmp_path, official_fixtures):
    cases = json.loads((official_fixtures / "metrics_cases.json").read_text())["cases"]
    results = {c["name"]: metrics.evaluate_sequence(c["pred_xywh"], c["gt_xywh"]) for c in cases}
    summary = metrics.summarize(results.values())
    per_sequence = metrics.sequence_scores(list(results.values()))
    assert per_sequence["auc"].mean() == pytest.approx(summary["auc"], abs=1e-3)
    assert per_sequence["precision_20"].mean() == pytest.approx(summary["precision_20"], abs=1e-3)
    for key in ("auc", "precision_20"):
        low, high = summary[f"{key}_ci95"]
        assert per_sequence[key].min() <= low <= summary[key] <= high <= per_sequence[key].max()
    paths = report.write_report(tmp_path, results)
    low, high = summary["auc_ci95"]
    assert "SR 95% interval" in paths["markdown"].read_text()
    assert f"{low:.1f}-{high:.1f}" in paths["markdown"].read_text()
    assert json.loads(paths["json"].read_text())["overall"]["auc_ci95"] == pytest.approx([low, high])
