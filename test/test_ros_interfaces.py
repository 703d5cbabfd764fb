"""Our generated interfaces travel over real Fast DDS between two processes on loopback."""
import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from event_camera_msgs.msg import EventPacket  # noqa: E402
from fetrack_ros.msg import Track  # noqa: E402
from fetrack_ros.srv import SetTarget  # noqa: E402
from ros_support import spin_until, start_process, stop_process  # noqa: E402


@pytest.fixture(scope="module")
def echo_process():
    proc = start_process(["test/echo_node.py"], "ECHO READY")
    yield proc
    stop_process(proc)


@pytest.fixture()
def node(echo_process):
    rclpy.init()
    node = rclpy.create_node("interface_test")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()


def _round_trip(node, executor, msg_type, msg, topic):
    received = []
    pub = node.create_publisher(msg_type, f"echo_in/{topic}", 10)
    node.create_subscription(msg_type, f"echo_out/{topic}", received.append, 10)
    spin_until(executor, lambda: pub.get_subscription_count() > 0 and node.count_publishers(f"echo_out/{topic}") > 0,
               20.0, f"the echo node to connect on {topic}")
    # Discovery of the echo node's own subscription to us may lag: publish until echoed.
    for _ in range(100):
        pub.publish(msg)
        try:
            spin_until(executor, lambda: bool(received), 0.2, f"the echoed {topic}")
            return received[0]
        except AssertionError:
            continue
    raise AssertionError(f"no echoed {msg_type.__name__} on echo_out/{topic} after 100 publishes")


def test_track_round_trip(node):
    msg = Track(status=Track.STATUS_LOW_CONFIDENCE, x=12.5, y=-3.25, width=40.0, height=30.5,
                confidence=0.375, template_updated=True, num_events=123456)
    msg.header.frame_id = "camera_rgb"
    msg.header.stamp.sec, msg.header.stamp.nanosec = 1700000000, 123456789
    echoed = _round_trip(*node, Track, msg, "track")
    assert echoed == msg
    assert [Track.STATUS_UNINITIALIZED, Track.STATUS_TRACKING, Track.STATUS_LOST] == [0, 1, 3]


def test_event_packet_round_trip(node):
    payload = bytes(range(256)) * 40
    msg = EventPacket(height=720, width=1280, seq=42, time_base=16_717_012_000, encoding="evt3",
                      is_bigendian=False, events=payload)
    msg.header.frame_id = "event_camera"
    echoed = _round_trip(*node, EventPacket, msg, "events")
    assert bytes(echoed.events) == payload
    assert (echoed.height, echoed.width, echoed.seq, echoed.time_base, echoed.encoding) == \
        (720, 1280, 42, 16_717_012_000, "evt3")
    assert echoed.header.frame_id == "event_camera"


@pytest.mark.parametrize("width, success", [(40.0, True), (0.0, False)])
def test_set_target_service(node, width, success):
    ros_node, executor = node
    client = ros_node.create_client(SetTarget, "set_target")
    spin_until(executor, lambda: client.service_is_ready(), 20.0, "the set_target service")
    request = SetTarget.Request(x=10.0, y=20.0, width=width, height=30.0)
    request.stamp.sec, request.stamp.nanosec = 5, 7
    future = client.call_async(request)
    spin_until(executor, future.done, 20.0, "the set_target response")
    response = future.result()
    assert response.success is success
    assert response.message == f"target 10,20,{width:g},30 at 5.000000007"
