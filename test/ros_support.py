"""Helpers for tests that talk to real ROS 2 nodes over DDS (bounded waits, subprocess nodes).

Every wait here has a timeout and fails with a message saying what did not arrive: a ROS
test never hangs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]


def spin_until(executor, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Spin ``executor`` until ``predicate()`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        executor.spin_once(timeout_sec=0.05)


def start_process(args: list[str], ready_line: str, timeout: float = 30.0) -> subprocess.Popen:
    """Start ``python args...`` with the repository on the path; wait for ``ready_line`` on stdout.

    The lines read up to and including the ready line are kept as ``proc.startup_lines``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if ready_line in line:
            proc.startup_lines = seen
            return proc
    stop_process(proc)
    raise AssertionError(f"process {args} did not print {ready_line!r} within {timeout} s; output:\n"
                         + "".join(seen[-40:]))


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> str:
    """Interrupt (like Ctrl-C), then kill if needed; return the remaining output."""
    if proc.poll() is None:
        proc.send_signal(subprocess.signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.stdout.read() if proc.stdout else ""
