"""Scoring trackers without a ROS runtime: the reference toolkit's metrics (:mod:`.metrics`),
resumable runs of the :class:`~fetrack_ros.tracking.Tracker` over sequences (:mod:`.run`),
reports and plots (:mod:`.report`), tracking videos (:mod:`.video`) and the classical baseline
every claim is compared with (:mod:`.baselines`)."""
