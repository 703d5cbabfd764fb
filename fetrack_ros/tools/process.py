"""A Python child process that says when it is ready: start, wait for its ready line, stop.

Used to run the tracker node (:mod:`.live_eval`, the node tests, the benchmarks; it prints
:data:`fetrack_ros.node.READY_LINE` once active) and the tests' helper processes. The child runs
``python args...`` with this checkout's ``fetrack_ros`` first on its path (the same code as the
caller) and unbuffered output; stdout and stderr are merged and read line by line by a thread, so
a chatty child never blocks on a full pipe. No ROS here: the child may be anything.
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

#: The folder holding this ``fetrack_ros`` (the repository root in a checkout)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class ProcessStartError(RuntimeError):
    """The child exited, or stayed silent, before its ready line; the message ends with its last output."""


def _default_sigint() -> None:
    """In the child before exec: SIGINT back to its default. A parent started in the background by
    a shell ignores SIGINT and its children inherit that, and Python then never raises
    KeyboardInterrupt: :meth:`PythonProcess.stop` could only kill."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class PythonProcess:
    """``python args...`` started and waited for until it prints a line containing ``ready_line``.

    ``timeout``: seconds to wait for that line (the child is stopped and :class:`ProcessStartError`
    raised when it exits first or the time runs out). ``env``: variables set on top of this
    process's environment. ``log_path``: every line is also written there. ``keep``: how many of
    the latest lines :attr:`lines` holds (None: all). ``what``: the child's name in messages.

    Attributes: ``proc`` (the ``subprocess.Popen``), ``startup_lines`` (the lines up to and
    including the ready line), ``lines`` (the output so far), :attr:`output` (its last ``tail``
    lines as one string).
    """

    def __init__(self, args: list[str], ready_line: str, *, timeout: float = 30.0, what: str | None = None,
                 env: dict | None = None, cwd: str | Path | None = None, log_path: str | Path | None = None,
                 keep: int | None = None, tail: int = 60) -> None:
        self.args, self.ready_line, self.tail = list(args), ready_line, tail
        self.what = what or f"process 'python {' '.join(self.args)}'"
        full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), full_env.get("PYTHONPATH")) if p)
        self.startup_lines: list[str] = []
        self.lines: list[str] | collections.deque[str] = [] if keep is None else collections.deque(maxlen=keep)
        self._ready = threading.Event()
        self._log = open(log_path, "w") if log_path is not None else None
        self.proc = subprocess.Popen([sys.executable, *self.args], cwd=cwd, env=full_env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=_default_sigint)
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            exited = self.proc.poll() is not None
            if exited:
                self._drain.join(timeout=2.0)  # the ready line may be among the last ones
                if self._ready.is_set():
                    break
            if exited or time.monotonic() > deadline:
                why = (f"exited with code {self.proc.returncode}" if exited
                       else f"did not report {ready_line!r} within {timeout:g} s")
                self.stop()
                raise ProcessStartError(f"{self.what} {why}; its output:\n{self.output}")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if not self._ready.is_set():
                self.startup_lines.append(line)
                if self.ready_line in line:
                    self._ready.set()
            if self._log is not None:
                self._log.write(line)
                self._log.flush()

    @property
    def output(self) -> str:
        """The last ``tail`` lines printed so far (``(nothing)`` if none)."""
        return "".join(list(self.lines)[-self.tail:]).rstrip() or "(nothing)"

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> str:
        """Interrupt (SIGINT, like Ctrl-C), kill if it has not ended within ``timeout`` s; the output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._drain.join(timeout=5.0)
        if self._log is not None and not self._drain.is_alive():
            self._log.close()
            self._log = None
        return self.output

    def __enter__(self) -> "PythonProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
