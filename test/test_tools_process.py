"""The one runner of child processes with a ready line (:mod:`fetrack_ros.tools.process`); no ROS."""
import time

import pytest

from fetrack_ros.tools.process import PACKAGE_ROOT, ProcessStartError, PythonProcess

CHILD = """
import os, signal, sys, time
print("starting", os.environ.get("FETRACK_TEST_VALUE"))
print("path", sys.path[1] if len(sys.path) > 1 else "")
print("warning on stderr", file=sys.stderr)
if "--ignore-sigint" in sys.argv:  # before the ready line: stop() may follow it at once
    signal.signal(signal.SIGINT, signal.SIG_IGN)
print("child READY now")
for k in range(1000):
    print("tick", k)
    time.sleep(0.02)
"""


def test_waits_for_the_ready_line_keeps_startup_and_later_lines(tmp_path):
    log = tmp_path / "child.log"
    with PythonProcess(["-c", CHILD], "READY", timeout=30, env={"FETRACK_TEST_VALUE": "42"}, log_path=log) as child:
        assert [line.split()[0] for line in child.startup_lines] == ["starting", "path", "warning", "child"]
        assert child.startup_lines[0] == "starting 42\n"
        assert child.startup_lines[1] == f"path {PACKAGE_ROOT}\n"  # the caller's fetrack_ros comes first
        deadline = time.monotonic() + 10
        while not any(line.startswith("tick 3") for line in child.lines) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.alive() and child.lines[:4] == child.startup_lines
        output = child.stop()
    assert not child.alive() and child.returncode != 0  # ended by SIGINT (KeyboardInterrupt)
    assert "KeyboardInterrupt" in output and "tick 3" in log.read_text()


def test_exit_before_the_ready_line_names_the_code_and_the_last_lines():
    script = "import sys\nfor k in range(100): print('line', k)\nsys.exit(3)"
    with pytest.raises(ProcessStartError) as error:
        PythonProcess(["-c", script], "READY", timeout=30, what="the child", tail=5)
    message = str(error.value)
    assert message.startswith("the child exited with code 3; its output:\n")
    assert message.endswith("line 95\nline 96\nline 97\nline 98\nline 99") and "line 94" not in message


def test_silence_past_the_timeout_stops_the_child_with_a_clear_error():
    started = time.monotonic()
    with pytest.raises(ProcessStartError, match=r"did not report 'READY' within 1 s; its output:\nhello"):
        PythonProcess(["-c", "import time\nprint('hello')\ntime.sleep(60)"], "READY", timeout=1)
    assert time.monotonic() - started < 15  # stopped by SIGINT, not left running for a minute


def test_a_child_ignoring_sigint_is_killed():
    child = PythonProcess(["-c", CHILD, "--ignore-sigint"], "READY", timeout=30, keep=3)
    started = time.monotonic()
    child.stop(timeout=0.5)
    assert child.returncode == -9 and time.monotonic() - started < 10
    assert len(child.lines) <= 3  # keep: only the latest lines
