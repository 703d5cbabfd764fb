"""FEMamba forward latency on CPU at batch 1: vim_s / vim_t with each scan backend.

Timing: ``bench.timing.median_seconds`` (wall) and the median CPU time of one forward pass in ``torch.inference_mode``, fp32,
random crops of the real sizes (template 128, search 256), full depth 24. ``torch`` runs with 1
and with 2 intra-op threads (the machine has 2 cores), median of 5 after 2 warm-up runs. The
``reference`` backend (the plain sequential recurrence, the test oracle) takes seconds per
forward, so it runs with 1 thread only (with 2, each of its thousands of tiny per-step ops forks
threads, which on a shared machine costs more than the work) and, for vim_s, with fewer repeats
(median of 3 after 1 warm-up); the speedup compares both backends at 1 thread. ``cuda`` needs a
GPU with mamba-ssm and is reported as unavailable on this machine.
"""
from __future__ import annotations

import os
import statistics
import time

import torch

from bench.timing import median_seconds
from fetrack_ros.model import build_model
from fetrack_ros.model.ops import cuda_kernels_available

TARGETS_S = {"vim_s": 1.5, "vim_t": 0.3}
SPEEDUP_TARGET = 5.0


def _inputs(config):
    g = torch.Generator().manual_seed(0)
    t, s = config.template_size, config.search_size
    return [torch.randn(1, 3, t, t, generator=g), torch.randn(1, 3, t, t, generator=g),
            torch.randn(1, 3, s, s, generator=g), torch.randn(1, 3, s, s, generator=g)]


def _latency(name: str, backend: str, threads: int, warmup: int, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) of one forward pass."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    cpu = []

    def forward():
        start = time.process_time()
        model(*inputs)
        cpu.append(time.process_time() - start)

    try:
        torch.manual_seed(0)
        model = build_model(name, scan_backend=backend)
        inputs = _inputs(model.config)
        with torch.inference_mode():
            wall = median_seconds(forward, warmup=warmup, repeats=repeats)
        return wall, statistics.median(cpu[warmup:])
    finally:
        torch.set_num_threads(previous)


def run() -> dict:
    rows, notes = [], []
    load_before = os.getloadavg()[0]
    plan = [("torch", 1, 2, 5), ("torch", 2, 2, 5), ("reference", 1, 1, 3)]
    results = {}
    for name in ("vim_s", "vim_t"):
        for backend, threads, warmup, repeats in plan:
            if backend == "reference" and name == "vim_t":
                warmup, repeats = 1, 5
            seconds, cpu_seconds = _latency(name, backend, threads, warmup, repeats)
            results[name, backend, threads] = seconds
            rows.append({"model": name, "backend": backend, "threads": threads, "latency_ms": round(seconds * 1e3, 1),
                         "cpu_ms": round(cpu_seconds * 1e3, 1), "target_ms": TARGETS_S[name] * 1e3,
                         "runs": f"median of {repeats} after {warmup} warm-up"})
        rows.append({"model": name, "backend": "cuda", "threads": None, "latency_ms": None, "cpu_ms": None,
                     "target_ms": TARGETS_S[name] * 1e3,
                     "runs": "not run: " + ("available but CPU benchmark" if cuda_kernels_available()
                                            else "no CUDA device / mamba-ssm here")})
    for name in ("vim_s", "vim_t"):
        best_threads = min((1, 2), key=lambda t: results[name, "torch", t])
        best = results[name, "torch", best_threads]
        speedup = results[name, "reference", 1] / results[name, "torch", 1]
        verdict = "met" if best <= TARGETS_S[name] else "MISSED"
        notes.append(f"{name}: torch {best * 1e3:.0f} ms/frame with {best_threads} thread(s) "
                     f"(1 thread {results[name, 'torch', 1] * 1e3:.0f} ms, 2 threads "
                     f"{results[name, 'torch', 2] * 1e3:.0f} ms); target <= {TARGETS_S[name] * 1e3:.0f} ms: {verdict}")
        speed_verdict = f"target >= {SPEEDUP_TARGET:.0f}x: {'met' if speedup >= SPEEDUP_TARGET else 'MISSED'}"
        notes.append(f"{name}: reference {results[name, 'reference', 1]:.2f} s/frame; torch/reference speedup "
                     f"{speedup:.1f}x at 1 thread" + (f" ({speed_verdict})" if name == "vim_s" else ""))
    notes.append(f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on "
                 f"{os.cpu_count()} CPUs: with other jobs on the cores the latencies are upper bounds, and "
                 "2-thread runs suffer most (every parallel op waits for a descheduled thread; "
                 "OMP_WAIT_POLICY=PASSIVE set before torch is imported makes that far milder). "
                 "cpu_ms (CPU time of this process) is the load-independent figure: at 1 thread it is "
                 "the latency on an idle core")
    return {"title": "FEMamba forward latency (CPU, batch 1, fp32, depth 24)", "rows": rows, "notes": notes}
