"""Growing a trained FEMamba into a bigger one that starts out computing the same function.

Training a bigger network from scratch costs many CPU-hours; grown from a trained one it starts
where the trained one is and only has to learn what the extra capacity adds. Both growths
work on state dicts, before they are loaded:

- :func:`grow_layers`: deeper, new blocks start as the identity;
- :func:`widen_channels`: wider (``embed_dim``), new channels start at zero in the residual
  stream and reach nothing that was there before.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import torch

from .errors import CheckpointError

LAYER_PREFIX = "backbone.layers."
#: The last projection of a block's mixer: zero, the block adds nothing to the residual stream.
OUTPUT_PROJECTION = "mixer.out_proj."


def grow_layers(state_dict: Mapping[str, torch.Tensor], layer_sources: Sequence[int | None],
                initial: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state_dict`` laid out for a backbone whose layer ``i`` is checkpoint layer ``layer_sources[i]``.

    ``None`` marks a new layer: it takes its weights from ``initial`` (the new model's own state
    dict) with the output projection zeroed. A block adds its mixer's output to the residual
    stream, so a zero projection makes the new layer the identity: the grown network computes
    exactly what the checkpoint did, and training starts from there instead of from scratch.
    ``[0, 1, None, 2, 3, None]`` grows a 4-layer backbone to 6. Every checkpoint layer may be used
    at most once; all must be used (dropping trained layers is not growing).
    """
    layers, rest = _split_layers(state_dict)
    initial_layers, _ = _split_layers(initial)
    if len(layer_sources) != len(initial_layers):
        raise CheckpointError(f"layer_sources has {len(layer_sources)} entries but the model has "
                              f"{len(initial_layers)} layers")
    used = [i for i in layer_sources if i is not None]
    unknown = sorted({i for i in used if i not in layers})
    if unknown:
        raise CheckpointError(f"layer_sources name checkpoint layers {unknown}, but it has layers "
                              f"0..{len(layers) - 1}")
    if sorted(used) != sorted(layers):
        raise CheckpointError(f"layer_sources must use each of the checkpoint's {len(layers)} layers exactly "
                              f"once (None for new layers), got {list(layer_sources)}")
    grown = dict(rest)
    for new_index, source in enumerate(layer_sources):
        if source is not None:
            weights = layers[source]
        else:
            weights = {name: torch.zeros_like(value) if name.startswith(OUTPUT_PROJECTION) else value
                       for name, value in initial_layers[new_index].items()}
        grown.update({f"{LAYER_PREFIX}{new_index}.{name}": value for name, value in weights.items()})
    return grown


def _split_layers(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict[int, dict], dict]:
    """``({layer index: {name within the layer: tensor}}, {every other key: tensor})``."""
    layers, rest = defaultdict(dict), {}
    for key, value in state_dict.items():
        if key.startswith(LAYER_PREFIX):
            index, name = key[len(LAYER_PREFIX):].split(".", 1)
            layers[int(index)][name] = value
        else:
            rest[key] = value
    return layers, rest


PATCH_EMBED = "backbone.patch_embed.proj.weight"
#: Tensors whose LAST axis writes the residual stream (D): their new channels start at zero.
_WRITES_RESIDUAL_LAST = ("backbone.cls_token", "backbone.pos_embed_x", "backbone.pos_embed_z")
#: Tensors whose FIRST axis writes the residual stream (D).
_WRITES_RESIDUAL_FIRST = (PATCH_EMBED, "backbone.patch_embed.proj.bias",
                          "mixer.out_proj.weight")
#: Tensors whose second axis reads channels that must not reach old outputs yet: the router's
#: new hidden units (D), and the mixers' new inner channels (E) feeding the shared dt/B/C and the
#: output projection.
_READ_NEW_CHANNELS = ("backbone.route.2.weight", "mixer.x_proj.weight", "mixer.x_proj_b.weight",
                      "mixer.out_proj.weight")


def widen_channels(state_dict: Mapping[str, torch.Tensor], initial: Mapping[str, torch.Tensor]
                   ) -> dict[str, torch.Tensor]:
    """``state_dict`` (width D) laid out for the wider model whose own state dict is ``initial`` (D' > D).

    Each trained tensor fills the leading corner of the new one (``in_proj``'s x and z halves each
    move to their own half); the rest keeps the new model's initialisation, except that nothing
    new writes to the residual stream or reads the new channels into old ones: the new residual
    channels (patch embedding, position embeddings, ``out_proj`` rows) and the new inner
    channels' paths into ``x_proj``, ``out_proj`` and the router's output start at zero. The
    RMSNorm weights are scaled by ``sqrt(D / D')`` because the norm now averages over D'
    channels, D' - D of them zero. The widened network then computes what the checkpoint did,
    up to the norms' ``eps`` (exactly with ``norm_eps * D / D'``; the packaged model's maps move
    by at most 1e-5 either way), and the zeroed weights get a gradient at the first step.
    ``dt_rank`` and everything outside the backbone width (``d_state``, head channels, depth)
    must match.
    """
    old_d, new_d = state_dict[PATCH_EMBED].shape[0], initial[PATCH_EMBED].shape[0]
    if new_d < old_d:
        raise CheckpointError(f"cannot widen embed_dim {old_d} to a narrower {new_d}")
    if new_d == old_d:
        return dict(state_dict)
    rank_key = f"{LAYER_PREFIX}0.mixer.dt_proj.weight"
    if rank_key in state_dict and rank_key in initial and state_dict[rank_key].shape[1] != initial[rank_key].shape[1]:
        raise CheckpointError(f"widening keeps dt_rank: the checkpoint has dt_rank {state_dict[rank_key].shape[1]}, "
                              f"the model {initial[rank_key].shape[1]}; set the model's dt_rank to "
                              f"{state_dict[rank_key].shape[1]}")
    norm_scale = math.sqrt(old_d / new_d)
    wide = dict(state_dict)
    for key, old in state_dict.items():
        target = initial.get(key)
        if target is None or target.shape == old.shape:
            continue
        if target.ndim != old.ndim or any(n < o for n, o in zip(target.shape, old.shape)):
            raise CheckpointError(f"{key}: cannot widen {tuple(old.shape)} to {tuple(target.shape)}")
        new = target.detach().clone()
        if key.endswith("mixer.in_proj.weight"):
            # rows are [x (E), z (E)]: each half keeps its place at the head of its new half
            (old_x, old_z), half = old.chunk(2), new.shape[0] // 2
            new[:old_x.shape[0], :old_d], new[half:half + old_z.shape[0], :old_d] = old_x, old_z
        else:
            new[tuple(slice(0, n) for n in old.shape)] = old
        if key.endswith(".norm.weight") or key == "backbone.norm_f.weight":
            new[:old_d] = old * norm_scale
            new[old_d:] = new[:old_d].mean()
        if key.endswith(_WRITES_RESIDUAL_LAST):
            new[..., old_d:] = 0
        if key.endswith(_WRITES_RESIDUAL_FIRST):
            new[old_d:] = 0
        if key.endswith(_READ_NEW_CHANNELS):
            new[:, old.shape[1]:] = 0
        wide[key] = new
    return wide
