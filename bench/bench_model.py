"""FEMamba forward latency on CPU at batch 1: vim_s / vim_t with each scan backend.

Timing: ``bench.timing.median_seconds`` (median of >= 5 runs after warm-up) of one forward pass in
``torch.inference_mode``, fp32, random crops of the real sizes. The ``reference`` backend (the
plain sequential recurrence, the test oracle) takes ~minutes per full-depth vim_s measurement, so
it is measured at depths 2 and 4 and extrapolated linearly to depth 24 (the layers are identical,
so time is affine in depth); the same extrapolation is checked against a full-depth measurement of
the ``torch`` backend. ``cuda`` needs a GPU with mamba-ssm and is reported as unavailable here.
Each configuration runs with 1 and with 2 intra-op threads (the machine has 2 cores).
"""
from __future__ import annotations

import os

import torch

from bench.timing import median_seconds
from fetrack_ros.model import build_model
from fetrack_ros.model.ops import cuda_kernels_available

TARGETS_S = {"vim_s": 1.5, "vim_t": 0.3}
SPEEDUP_TARGET = 5.0
FULL_DEPTH = 24


def _inputs(config):
    g = torch.Generator().manual_seed(0)
    t, s = config.template_size, config.search_size
    return [torch.randn(1, 3, t, t, generator=g), torch.randn(1, 3, t, t, generator=g),
            torch.randn(1, 3, s, s, generator=g), torch.randn(1, 3, s, s, generator=g)]


def _latency(name: str, backend: str, depth: int, warmup: int, repeats: int) -> float:
    torch.manual_seed(0)
    model = build_model(name, depth=depth, scan_backend=backend)
    inputs = _inputs(model.config)
    with torch.inference_mode():
        return median_seconds(lambda: model(*inputs), warmup=warmup, repeats=repeats)


def _extrapolated(name: str, backend: str) -> float:
    t2 = _latency(name, backend, 2, warmup=1, repeats=5)
    t4 = _latency(name, backend, 4, warmup=1, repeats=5)
    return t2 + (FULL_DEPTH - 2) * (t4 - t2) / 2


def run() -> dict:
    rows, notes = [], []
    load_before = os.getloadavg()[0]
    previous_threads = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name in ("vim_s", "vim_t"):
                measured = _latency(name, "torch", FULL_DEPTH, warmup=2, repeats=5)
                check = _extrapolated(name, "torch")
                reference = _extrapolated(name, "reference")
                for backend, seconds, method in (
                        ("torch", measured, "measured depth 24, median of 5 after 2 warm-up"),
                        ("torch", check, "extrapolated from depths 2 and 4 (check of the method)"),
                        ("reference", reference, "extrapolated from depths 2 and 4, medians of 5")):
                    rows.append({"model": name, "backend": backend, "threads": threads,
                                 "latency_s": round(seconds, 4), "target_s": TARGETS_S[name],
                                 "method": method})
                speedup = reference / measured
                met = "met" if measured <= TARGETS_S[name] else "MISSED"
                notes.append(f"{name}, {threads} thread(s): torch {measured * 1e3:.0f} ms/frame "
                             f"(target <= {TARGETS_S[name] * 1e3:.0f} ms: {met}); reference "
                             f"{reference:.2f} s/frame (extrapolated); torch/reference speedup "
                             f"{speedup:.1f}x" + (f" (target >= {SPEEDUP_TARGET:.0f}x: "
                                                   f"{'met' if speedup >= SPEEDUP_TARGET else 'MISSED'})"
                                                   if name == "vim_s" else ""))
                notes.append(f"{name}, {threads} thread(s): depth-24 extrapolation error on torch "
                             f"{(check - measured) / measured * 100:+.0f}%")
    finally:
        torch.set_num_threads(previous_threads)
    for name in ("vim_s", "vim_t"):
        rows.append({"model": name, "backend": "cuda", "threads": 0, "latency_s": None,
                     "target_s": TARGETS_S[name],
                     "method": "available" if cuda_kernels_available() else "unavailable: no CUDA / mamba-ssm"})
    notes.append(f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on "
                 f"{os.cpu_count()} CPUs: other jobs shared the cores, so these are upper bounds")
    return {"title": "FEMamba forward latency (CPU, batch 1, fp32)", "rows": rows, "notes": notes}
