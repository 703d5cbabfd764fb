"""ROS 2 tools around the node: :mod:`.replay` (a bag into ROS 2 with /clock, paced or in lockstep
with the node), :mod:`.recorder` (Tracks into a bag), :mod:`.live_eval` (bags through a real
node process, scored like offline runs) and :mod:`.process` (starting a Python process, such as the
node, and waiting for its ready line; also used by the tests and benchmarks)."""
