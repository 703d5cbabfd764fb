"""A tiny real ROS 2 node, run as its own process by the interface tests.

It republishes every Track and EventPacket it receives on ``echo_out/...`` and serves
``set_target``, accepting boxes with positive size. Prints ``ECHO READY`` once set up.
"""
import rclpy
from rclpy.node import Node

from event_camera_msgs.msg import EventPacket
from fetrack_ros.msg import Track
from fetrack_ros.srv import SetTarget


class EchoNode(Node):
    def __init__(self):
        super().__init__("interface_echo")
        self._track_pub = self.create_publisher(Track, "echo_out/track", 10)
        self._events_pub = self.create_publisher(EventPacket, "echo_out/events", 10)
        self.create_subscription(Track, "echo_in/track", self._track_pub.publish, 10)
        self.create_subscription(EventPacket, "echo_in/events", self._events_pub.publish, 10)
        self.create_service(SetTarget, "set_target", self._set_target)

    def _set_target(self, request, response):
        response.success = request.width > 0 and request.height > 0
        response.message = (f"target {request.x:g},{request.y:g},{request.width:g},{request.height:g} "
                            f"at {request.stamp.sec}.{request.stamp.nanosec:09d}")
        return response


def main():
    rclpy.init()
    node = EchoNode()
    print("ECHO READY", flush=True)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
