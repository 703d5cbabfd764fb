"""Training without ROS: synthetic RGB + event sequences, pair sampling, losses, the training loop.

- :mod:`.simulator` (:class:`~.simulator.SyntheticSequence`, :class:`~.simulator.SimConfig`):
  procedural scenes (:mod:`.scene`), an RGB camera model (:mod:`.camera`) and a DVS model (:mod:`.dvs`);
- :mod:`.sampling`: template/search pairs with jitter, from synthetic or dataset-folder sequences;
- :mod:`.losses`: GIoU, L1 and the focal loss on Gaussian heat maps;
- :mod:`.trainer` and :mod:`.cli` (``fetrack train --config CONFIG``).

Submodules are imported on use (torch is only needed by the training ones).
"""
