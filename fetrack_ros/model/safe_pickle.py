"""A restricted unpickler for checkpoints that pickle objects of foreign code.

Official Mamba-FETrack checkpoints store the weights under ``net`` next to objects of classes from
the reference code base (settings, statistics, ...). Unpickling those normally imports that code
and may run anything. This module is a drop-in ``pickle_module`` for ``torch.load`` that:

- resolves only an allow-list of globals (tensor rebuilding, ``OrderedDict``, torch dtypes/devices,
  numpy scalars/arrays, a few builtin containers) and never imports anything else;
- turns every other class (a name starting with an upper-case letter) into an inert
  :class:`OpaqueObject` subclass that only records its arguments and state;
- refuses, with :class:`UnsafePickleError`, to call any other global (a function, as pickles do to
  run code: ``os.system``, ``builtins.eval``, ...), and refuses any global of modules that only
  malicious pickles reference (``os``, ``subprocess``, ``builtins.eval`` ...).
"""
from __future__ import annotations

import codecs
import collections
import pickle

import torch


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for something this reader will not do (call a function, use os/eval...)."""


class OpaqueObject:
    """Inert stand-in for an object whose class is not imported; keeps what the pickle gave it.

    ``pickled_class`` is ``"module.Name"``; ``args``, ``state``, ``items`` (dict-like content)
    and ``list_items`` (list-like content) hold the pickled data, uninterpreted.
    """

    pickled_class = "?"

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        object.__setattr__(obj, "args", args)
        object.__setattr__(obj, "state", None)
        object.__setattr__(obj, "items", {})
        object.__setattr__(obj, "list_items", [])
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        object.__setattr__(self, "state", state)

    def __setitem__(self, key, value):
        self.items[key] = value

    def append(self, value):
        self.list_items.append(value)

    def extend(self, values):
        self.list_items.extend(values)

    def __repr__(self) -> str:
        return f"<opaque {self.pickled_class}>"


class _RefusedCallable:
    """A global that is not on the allow-list: harmless as a value, refused when called."""

    def __init__(self, qualified: str):
        self.qualified = qualified

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError(f"the checkpoint asks to call {self.qualified}(...), which is not an "
                                "allowed constructor; refusing to run code from a checkpoint")

    def __repr__(self) -> str:
        return f"<refused {self.qualified}>"


# Modules whose globals only appear in pickles meant to run code.
_DENIED_MODULES = {"os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "importlib",
                   "shutil", "socket", "runpy", "code", "codeop", "pty", "ctypes", "operator",
                   "functools", "pickle", "_pickle", "marshal", "types", "webbrowser", "multiprocessing",
                   "signal", "torch.hub", "torch.jit", "torch.ops"}


def _safe_reconstructor(cls, base, state):
    """copyreg._reconstructor for placeholder classes only (protocol 0/1 object pickles)."""
    if isinstance(cls, type) and issubclass(cls, OpaqueObject) and base is object:
        obj = cls.__new__(cls)
        if state is not None:
            obj.__setstate__(state)
        return obj
    raise UnsafePickleError(f"copyreg._reconstructor({cls!r}, {base!r}) is not allowed")


def _safe_rebuild_from_type_v2(func, new_type, args, state):
    if new_type not in (torch.Tensor, torch.nn.Parameter):
        raise UnsafePickleError(f"tensor subclass {new_type!r} is not allowed")
    return torch._tensor._rebuild_from_type_v2(func, new_type, args, state)


def _allowed_globals() -> dict[tuple[str, str], object]:
    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "complex"): complex, ("builtins", "slice"): slice,
        ("builtins", "bytearray"): bytearray, ("builtins", "range"): range,
        ("copyreg", "_reconstructor"): _safe_reconstructor,
        # Protocol-2 pickles store bytes (e.g. numpy scalar data) as _codecs.encode(str, "latin1").
        ("_codecs", "encode"): codecs.encode,
        ("torch._tensor", "_rebuild_from_type_v2"): _safe_rebuild_from_type_v2,
        ("torch", "Size"): torch.Size, ("torch", "device"): torch.device,
        ("torch", "Tensor"): torch.Tensor,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
    }
    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                 "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
                 "_rebuild_device_tensor_from_numpy", "_rebuild_wrapper_subclass"):
        if hasattr(torch._utils, name):
            allowed[("torch._utils", name)] = getattr(torch._utils, name)
    for name in dir(torch):
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[("torch", name)] = getattr(torch, name)
    try:
        import numpy as np
    except ImportError:
        return allowed
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("numpy", "ndarray")] = np.ndarray
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "scalar")] = _numpy_multiarray("scalar")
        allowed[(mod, "_reconstruct")] = _numpy_multiarray("_reconstruct")
    for name in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "BoolDType"):
        if hasattr(getattr(np, "dtypes", None), name):
            allowed[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    return allowed


def _numpy_multiarray(name):
    import numpy as np
    core = getattr(np, "_core", None) or np.core
    return getattr(core.multiarray, name)


_ALLOWED: dict[tuple[str, str], object] | None = None


class Unpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that never imports: allow-list, inert placeholders, refused calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._placeholders: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        global _ALLOWED
        if _ALLOWED is None:
            _ALLOWED = _allowed_globals()
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        qualified = f"{module}.{name}"
        if module in _DENIED_MODULES or module.split(".")[0] in _DENIED_MODULES:
            raise UnsafePickleError(f"the checkpoint references {qualified}, which only a pickle meant "
                                    "to run code would use; refusing to load it")
        if name.rsplit(".", 1)[-1][:1].isupper():
            if qualified not in self._placeholders:
                self._placeholders[qualified] = type(name.rsplit(".", 1)[-1], (OpaqueObject,),
                                                     {"pickled_class": qualified, "__module__": __name__})
            return self._placeholders[qualified]
        return _RefusedCallable(qualified)


def load(file, **kwargs):
    """``pickle.load`` with the restricted :class:`Unpickler`."""
    return Unpickler(file, **kwargs).load()
