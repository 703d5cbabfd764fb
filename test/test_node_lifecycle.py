"""Start-up of the tracker node: the params YAML, the lifecycle transitions, and failed starts
(one line, non-zero exit, no traceback)."""
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import (BASE_PARAMS, REPO, Client, NodeProcess, load_sequence,  # noqa: E402
                              rosout_messages, run_node)


@pytest.mark.parametrize("case", ["missing", "garbage", "wrong_depth", "bad_value", "bad_type"])
def test_failed_start_gives_one_line_and_nonzero_exit(case, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    depth1 = tmp_path / "depth1.pt"
    if case == "wrong_depth":  # any real checkpoint of another depth: a small one built here
        import torch

        from fetrack_ros.model import build_model
        torch.save(build_model("vim_t", depth=1).state_dict(), depth1)
    args = {"missing": ["-p", "checkpoint:=/nonexistent/weights.pt"],
            "garbage": ["-p", f"checkpoint:={garbage}"],
            "wrong_depth": ["-p", f"checkpoint:={depth1}", "-p", "model_depth:=3"],
            "bad_value": ["-p", "event_input:=carrier_pigeon"],
            "bad_type": ["-p", "template_update_threshold:=high"]}[case]
    result = run_node(*args)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert len(lines) == 1 and "cannot start" in lines[0], lines
    expected = {"missing": "does not exist", "garbage": "cannot be loaded", "wrong_depth": "model_depth",
                "bad_value": "event_input", "bad_type": "template_update_threshold"}
    assert expected[case] in lines[0]


def test_without_a_checkpoint_the_node_runs_the_packaged_default_model():
    from fetrack_ros.model import default_checkpoint

    packaged = default_checkpoint()
    assert packaged is not None, "the packaged default model resource/default_model.pt is missing"
    # The node prints "tracker_node active: <model> from <checkpoint> on <device> (...)" once active,
    # after one line on what the weights are (the model card stored in the packaged file).
    node = NodeProcess({"scan_backend": "torch", "cpu_threads": 1},
                       ready=f"from {packaged} on cpu (fp32, torch scan, 1 CPU thread)")
    try:
        assert node.alive()
        model_lines = [line for line in node.lines if "model: " in line]
        assert len(model_lines) == 1, node.output
        assert "trained on synthetic" in model_lines[0] and "on real cameras:" in model_lines[0]
        assert "docs/model_card.md" in model_lines[0]
    finally:
        node.stop()


@pytest.mark.parametrize("user_value", [None, 0.5, 1.0], ids=["recommended", "user_0.5", "user_default_value"])
def test_the_checkpoints_recommended_tracker_settings_apply_unless_the_user_set_them(user_value):
    """The packaged model recommends size_update_rate 0.3 (and still_event_density 0.02): the node sets it (visible with
    `ros2 param get`) unless the user gave the parameter, even with the declared default's value."""
    from rcl_interfaces.srv import GetParameters

    params = {"scan_backend": "torch", "cpu_threads": 1}
    if user_value is not None:
        params["size_update_rate"] = user_value
    node = NodeProcess(params)
    client = Client(name="param_client", wait_connected=False)
    try:
        answer = client.call(GetParameters, "/tracker_node/get_parameters",
                             GetParameters.Request(names=["size_update_rate", "search_factor", "still_event_density"]))
        values = [v.double_value for v in answer.values]
        assert values == [0.3 if user_value is None else user_value, 4.0, 0.02]
        line = next(line for line in node.lines if "tracker settings recommended by the checkpoint" in line)
        assert "still_event_density=0.02" in line, line
        if user_value is None:
            assert "size_update_rate=0.3" in line and "kept" not in line, line
        else:
            assert "size_update_rate=0.3" not in line and "kept the user's size_update_rate" in line, line
    finally:
        client.close()
        node.stop()


def test_a_tracker_setting_set_before_configure_is_kept():
    """`ros2 param set` on an unconfigured node counts as the user's choice too."""
    from lifecycle_msgs.msg import Transition
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import GetParameters, SetParameters

    node = NodeProcess({"scan_backend": "torch", "cpu_threads": 1, "autostart": False}, ready="unconfigured")
    client = Client(name="param_client", wait_connected=False)
    try:
        value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=1.0)
        answer = client.call(SetParameters, "/tracker_node/set_parameters",
                             SetParameters.Request(parameters=[Parameter(name="size_update_rate", value=value)]))
        assert answer.results[0].successful
        assert change_state(client, Transition.TRANSITION_CONFIGURE)
        answer = client.call(GetParameters, "/tracker_node/get_parameters",
                             GetParameters.Request(names=["size_update_rate"]))
        assert answer.values[0].double_value == 1.0
        assert any("kept the user's size_update_rate" in line for line in node.lines), node.output
    finally:
        client.close()
        node.stop()


def test_no_checkpoint_and_no_packaged_model_is_a_clear_startup_error(monkeypatch):
    from fetrack_ros.model import checkpoint, loading

    monkeypatch.setattr(checkpoint, "default_checkpoint", lambda: None)
    with pytest.raises(loading.ModelLoadError, match="no checkpoint configured and no packaged default model"):
        loading.load_inference_model("auto", None)


@pytest.fixture  # one /tracker_node at a time: a module-scoped one would answer the next test's queries
def unconfigured_node():
    # the packaged params file, then the test's overrides
    # event input and clock from the file: EventPackets, clock offset estimated from header stamps
    # images as sensor_msgs/CompressedImage (png) on image/compressed
    params = {**BASE_PARAMS, "autostart": False, "max_wait": 1.0, "image_transport": "compressed"}
    proc = NodeProcess(params, extra_args=("--params-file", str(REPO / "config" / "tracker.yaml")),
                       ready="unconfigured")
    yield proc
    proc.stop()


def change_state(client, transition_id: int) -> bool:
    from lifecycle_msgs.srv import ChangeState

    request = ChangeState.Request()
    request.transition.id = transition_id
    return client.call(ChangeState, "/tracker_node/change_state", request).success


def get_state(client) -> str:
    from lifecycle_msgs.srv import GetState

    return client.call(GetState, "/tracker_node/get_state", GetState.Request()).current_state.label


def header_clock_stream(n_frames: int, latency_us: int = 200):
    """EVT3 packets (header stamp = first event's time + offset + a driver latency) and image stamps."""
    import numpy as np

    from fetrack_ros.events import make_events
    from ros_node_harness import FRAME_NS, evt3_packets

    offset_ns = 1_760_000_000 * 1_000_000_000
    rng = np.random.default_rng(7)
    frame_us = FRAME_NS // 1000
    stamps, windows, counts = [], [], []
    for k in range(n_frames + 1):
        t1 = 2_000_000 + (k + 1) * frame_us
        t = np.sort(rng.integers(t1 - frame_us, t1, 3000))
        events = make_events(rng.integers(0, 346, 3000), rng.integers(0, 260, 3000), t, rng.integers(0, 2, 3000))
        windows.append(evt3_packets(events, 346, 260, offset_ns + latency_us * 1000, seq_start=100 * k))
        stamps.append(offset_ns + t1 * 1000)
        counts.append(len(events))
    return windows, stamps[:n_frames], counts[:n_frames]


def test_params_yaml_is_accepted_and_lifecycle_drives_processing(unconfigured_node):
    from lifecycle_msgs.msg import Transition

    rgb, _, _ = load_sequence(1)
    client = Client(name="lifecycle_client", event_input="event_packet", wait_connected=False, compressed=True)
    try:
        assert get_state(client) == "unconfigured"
        assert change_state(client, Transition.TRANSITION_CONFIGURE)
        assert get_state(client) == "inactive"
        client.wait_connected()
        windows, stamps, counts = header_clock_stream(4)
        client.publish_image(rgb[0], stamps[0] - 10**9)  # inactive: counted, no Track
        client.wait_diagnostic("dropped.inactive", lambda v: v >= 1)
        assert change_state(client, Transition.TRANSITION_ACTIVATE)
        assert get_state(client) == "active"
        client.publish_packets(windows[0])
        tracks = []
        for k, stamp in enumerate(stamps):
            client.publish_packets(windows[k + 1])
            client.publish_image(rgb[0], stamp)
            tracks.append(client.wait_track(stamp))
        assert all(t.status == 0 for t in tracks)  # uninitialized: the file sets no initial_box
        # the clock offset estimated from header stamps puts each window's events in its window
        # (up to the events of the 0.2 ms driver latency at the window edges)
        for track, expected in zip(tracks[1:], counts[1:]):
            assert abs(track.num_events - expected) <= 0.03 * expected, (track.num_events, expected)
        assert client.count("images.incomplete_events") == 0
        assert change_state(client, Transition.TRANSITION_DEACTIVATE)
        assert get_state(client) == "inactive"
        assert not client.tracks_for([stamps[0] - 10**9])[0]
        # cleanup releases model and interfaces; configure builds them again
        assert change_state(client, Transition.TRANSITION_CLEANUP)
        assert get_state(client) == "unconfigured"
        client.spin_until(lambda: client.node.count_publishers("/tracker_node/track") == 0, 20, "the Track publisher to go")
        assert change_state(client, Transition.TRANSITION_CONFIGURE)
        assert get_state(client) == "inactive"
        client.wait_connected()
        assert unconfigured_node.alive(), unconfigured_node.output
    finally:
        client.close()


# ---------------------------------------------------------------- ROS-side behaviour of the process


def get_parameters(client, names):
    from rcl_interfaces.srv import GetParameters

    return client.call(GetParameters, "/tracker_node/get_parameters", GetParameters.Request(names=names)).values


@pytest.fixture(scope="module")
def integer_node():
    """Integer values given for double parameters on the command line."""
    proc = NodeProcess(BASE_PARAMS, extra_args=("-p", "initial_box:=[93,126,54,42]",
                                                "-p", "template_update_threshold:=1", "-p", "clip_margin:=10"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def integer_client(integer_node):
    client = Client(name="integer_client", wait_connected=False)
    yield client
    client.close()


def test_integers_for_double_parameters_are_accepted_as_doubles(integer_node, integer_client):
    from rcl_interfaces.msg import ParameterType

    box, threshold, margin = get_parameters(integer_client, ["initial_box", "template_update_threshold",
                                                             "clip_margin"])
    assert box.type == ParameterType.PARAMETER_DOUBLE_ARRAY and list(box.double_array_value) == [93.0, 126.0, 54.0, 42.0]
    assert threshold.type == ParameterType.PARAMETER_DOUBLE and threshold.double_value == 1.0
    assert margin.type == ParameterType.PARAMETER_DOUBLE and margin.double_value == 10.0
    # at runtime too (`ros2 param set /tracker_node template_update_threshold 0` sends an integer)
    result = integer_client.set_parameter("template_update_threshold", 0)
    assert result.successful, result.reason
    (threshold,) = get_parameters(integer_client, ["template_update_threshold"])
    assert threshold.type == ParameterType.PARAMETER_DOUBLE and threshold.double_value == 0.0
    # the range and other types are still checked
    assert not integer_client.set_parameter("template_update_threshold", 2).successful
    assert not integer_client.set_parameter("template_update_threshold", "high").successful
    assert not integer_client.set_parameter("template_update_interval", 2.0).successful  # an integer parameter
    assert integer_node.alive()


def test_the_ready_line_is_logged_to_rosout(integer_node, integer_client):
    from rcl_interfaces.msg import Log

    logs = rosout_messages(integer_client)
    integer_client.spin_until(lambda: any("tracker_node active" in m.msg for m in logs), 20,
                              "the ready line on /rosout")
    ready = next(m for m in logs if "tracker_node active" in m.msg)
    assert ready.name == "tracker_node" and ready.level == Log.INFO
    # (on the console too: NodeProcess waited for it on the process's output)


def test_lifecycle_shutdown_ends_the_process_with_code_0(integer_node, integer_client):
    import time

    from lifecycle_msgs.msg import Transition

    assert change_state(integer_client, Transition.TRANSITION_ACTIVE_SHUTDOWN)
    deadline = time.monotonic() + 20
    while integer_node.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not integer_node.alive(), "the node process still runs after the shutdown transition"
    assert integer_node.proc.returncode == 0, integer_node.output
    assert "Traceback" not in integer_node.output
