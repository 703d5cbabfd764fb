"""Synthetic RGB + event sequences, deterministic per seed (numpy and OpenCV only).

:mod:`.simulator` (:class:`~.simulator.SyntheticSequence`, :class:`~.simulator.SimConfig`,
:func:`~.simulator.benchmark_sequences`) samples a procedural scene (:mod:`.scene`) through an RGB
camera model (:mod:`.camera`; DAVIS346-like APS frames in :mod:`.aps`) and a DVS pixel model
(:mod:`.dvs`); :mod:`.event_path` sends simulated events through EVT3 packets and the decoder.
Used by the demo, the benchmarks and training alike.
"""
