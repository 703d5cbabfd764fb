"""Training without ROS: synthetic RGB + event sequences, pair sampling, losses, the training loop.

- :mod:`.simulator` (:class:`~.simulator.SyntheticSequence`, :class:`~.simulator.SimConfig`,
  :func:`~.simulator.benchmark_sequences`): procedural scenes (:mod:`.scene`), an RGB camera
  model with the degradations where events help (:mod:`.camera`) and a DVS pixel model
  (:mod:`.dvs`); :mod:`.event_path` sends simulated events through EVT3 packets, the decoder,
  the buffer and the frame windows;
- :mod:`.sampling`: template/search pairs with the reference jitter, from synthetic or
  dataset-folder sequences;
- :mod:`.losses`: GIoU, L1 and the focal loss on Gaussian heat maps (weights 1, 14, 1);
- :mod:`.config` (YAML), :mod:`.trainer` (AdamW, step decay, clipping, checkpoints, resume,
  validation, DDP) and :mod:`.cli` (``fetrack train --config CONFIG``); example configs in
  ``configs/``.

Submodules are imported on use (torch is only needed by the training ones).
"""
