"""Training without ROS: pair sampling, losses, the training loop.

- :mod:`.sampling`: template/search pairs with the reference jitter and the real-camera
  augmentations, from simulated (:mod:`fetrack_ros.simulation`) or dataset-folder sequences;
- :mod:`.losses`: GIoU, L1 and the focal loss on Gaussian heat maps (weights 1, 14, 1);
- :mod:`.config` (YAML), :mod:`.trainer` (AdamW, step decay, clipping, checkpoints, resume,
  validation, DDP), :mod:`.curves` (training plots); ``fetrack train`` is :mod:`fetrack_ros.cli.train`;
  example configs in ``configs/``.

Submodules are imported on use (torch is only needed by the training ones).
"""
