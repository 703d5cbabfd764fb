"""Reports: tables (markdown + JSON) and plots, checked against the metrics fixture summary."""
import json

import numpy as np
import pytest

from fetrack_ros.evaluation import metrics, report


@pytest.fixture(scope="module")
def results(official_fixtures):
    cases = json.loads((official_fixtures / "metrics_cases.json").read_text())
    return cases, {c["name"]: metrics.evaluate_sequence(c["pred_xywh"], c["gt_xywh"]) for c in cases["cases"]}


def test_report_files_and_numbers(tmp_path, results):
    cases, res = results
    paths = report.write_report(tmp_path / "out", res, fps={"case0": 25.0}, overall_fps=24.5, title="fixture",
                                meta={"checkpoint": "none"})
    data = json.loads(paths["json"].read_text())
    ref = cases["summary"]
    assert data["overall"]["auc"] == pytest.approx(ref["AUC"], abs=1e-4)
    assert data["overall"]["precision_20"] == pytest.approx(ref["precision_at_20px"], abs=1e-4)
    assert data["overall"]["norm_precision_20"] == pytest.approx(ref["normalized_precision_at_0_20"], abs=1e-4)
    assert data["overall"]["fps"] == 24.5 and data["meta"] == {"checkpoint": "none"}
    assert [r["sequence"] for r in data["sequences"]] == [c["name"] for c in cases["cases"]]
    row0 = data["sequences"][0]
    assert row0["auc"] == pytest.approx(100 * np.mean(np.float32(cases["cases"][0]["success_curve"])), abs=1e-4)
    assert row0["frames"] == cases["cases"][0]["n_gt"] and row0["fps"] == 25.0
    assert data["sequences"][1]["fps"] is None
    np.testing.assert_allclose(data["curves_percent"]["success_curve"], ref["mean_success_curve_percent"], atol=1e-4)
    md = paths["markdown"].read_text()
    assert f"| ALL (5 sequences) | {sum(c['n_gt'] for c in cases['cases'])} |" in md
    assert f"{ref['AUC']:.2f}" in md and "| case3 |" in md
    for kind in ("success_plot", "precision_plot"):
        png = paths[kind].read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_comparison_plot_of_two_runs(tmp_path, results):
    _, res = results
    a = metrics.summarize(res.values())
    b = metrics.summarize([res["case0"]])
    path = report.plot_success({"all": a, "case0 only": b}, tmp_path / "cmp.png")
    import cv2
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 300
    # two differently coloured curves were drawn: more than a handful of distinct colours
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20


def test_markdown_table_skips_empty_columns():
    table = report.markdown_table([{"sequence": "s", "frames": 3, "auc": 50.0, "fps": None}])
    assert table.splitlines()[0] == "| sequence | frames | AUC (SR) % |"
    assert table.splitlines()[2] == "| s | 3 | 50.00 |"


def test_report_needs_results(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        report.write_report(tmp_path, {})
