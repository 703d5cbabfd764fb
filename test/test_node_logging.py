"""Start-up errors reach /rosout (rqt_console, log files), not only the console.

In a module of its own: a failed start waits for a /rosout subscriber to be discovered only when
it knows of none, so clients of other tests still alive in the same module would let it exit
before this test's subscriber had matched.
"""
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import Client, rosout_messages, run_node  # noqa: E402


@pytest.mark.parametrize("args, reason", [
    (("-p", "checkpoint:=/nonexistent/weights.pt"), "does not exist"),      # configure fails
    (("-p", "template_update_threshold:=high"), "template_update_threshold"),  # declaring fails
])
def test_startup_errors_are_logged_to_rosout(args, reason):
    client = Client(name="rosout_client", wait_connected=False)
    try:
        logs = rosout_messages(client)
        result = run_node(*args)
        assert result.returncode == 1
        client.spin_until(lambda: any("cannot start" in m.msg for m in logs), 10, "the start-up error on /rosout")
        error = next(m for m in logs if "cannot start" in m.msg)
        assert error.name == "tracker_node" and reason in error.msg
    finally:
        client.close()
