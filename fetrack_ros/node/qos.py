"""QoS profiles from the node's ``qos.<name>.*`` parameters (see :mod:`.parameters`).

Defaults follow the drivers: best-effort subscriptions connect to both best-effort and reliable
publishers (a reliable subscription receives nothing from a best-effort driver), and the event
subscription keeps about one second of ~1 ms packets.
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

_RELIABILITY = {"best_effort": ReliabilityPolicy.BEST_EFFORT, "reliable": ReliabilityPolicy.RELIABLE}
_DURABILITY = {"volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL}


def qos_profile(reliability: str, depth: int, durability: str = "volatile") -> QoSProfile:
    """KeepLast(``depth``) profile; ``reliability``/``durability`` by name (see parameters)."""
    if reliability not in _RELIABILITY:
        raise ValueError(f"QoS reliability {reliability!r} unknown; expected one of {sorted(_RELIABILITY)}")
    if durability not in _DURABILITY:
        raise ValueError(f"QoS durability {durability!r} unknown; expected one of {sorted(_DURABILITY)}")
    if depth < 1:
        raise ValueError(f"QoS depth must be >= 1, got {depth}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=_RELIABILITY[reliability], durability=_DURABILITY[durability])


def qos_from_parameters(get, name: str) -> QoSProfile:
    """Profile of ``qos.<name>.*`` read through ``get(parameter_name) -> value``."""
    return qos_profile(get(f"qos.{name}.reliability"), get(f"qos.{name}.depth"), get(f"qos.{name}.durability"))
