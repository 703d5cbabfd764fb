"""Tracking data without a ROS runtime: sequences and where they come from.

- :mod:`.sequence`: the :class:`~.sequence.Sequence` / :class:`~.sequence.Frame` every source gives
  (RGB frame, its events or event frame, stamp in ns, ground-truth box in px);
- :mod:`.datasets`: benchmark folders (FE108, COESOT, FELT layouts, raw aedat4 recordings);
- :mod:`.bags` / :mod:`.bagwriter` / :mod:`.rostypes`: rosbag2 bags (sqlite3, mcap) read and
  written with ``rosbags``, and the message types they hold;
- :mod:`.convert`: dataset sequences to bags; :mod:`.groundtruth`: box text files;
- :mod:`.synthetic_folders`: small generated sequences in the dataset layouts (tests, examples).
"""
