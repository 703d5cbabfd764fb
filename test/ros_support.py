"""Helpers for tests that talk to real ROS 2 nodes over DDS (bounded waits, subprocess nodes).

Every wait here has a timeout and fails with a message saying what did not arrive: a ROS
test never hangs.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from fetrack_ros.tools.process import PythonProcess

REPO_ROOT = Path(__file__).resolve().parents[1]


def spin_until(executor, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Spin ``executor`` until ``predicate()`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        executor.spin_once(timeout_sec=0.05)


def start_process(args: list[str], ready_line: str, timeout: float = 30.0) -> PythonProcess:
    """``python args...`` run from the repository root, returned once it printed ``ready_line``
    (:class:`fetrack_ros.tools.process.PythonProcess`: ``startup_lines`` holds the lines up to and
    including it, ``lines`` the output so far; ``ProcessStartError`` with its last lines if not)."""
    return PythonProcess(args, ready_line, timeout=timeout, cwd=REPO_ROOT)


def stop_process(proc: PythonProcess, timeout: float = 10.0) -> str:
    """Interrupt (like Ctrl-C), then kill if needed; return its last output lines."""
    return proc.stop(timeout)
