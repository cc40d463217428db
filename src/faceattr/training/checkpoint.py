"""Resumable checkpoints as one safetensors file: model, loss and optimiser tensors, RNG state,
and the rest of the training state as JSON in the header. Written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from faceattr.errors import FaceAttrError


def save_checkpoint(path: Path, modules: dict[str, torch.nn.Module],
                    opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``modules``: named modules (model, loss, EMA copy, ...) whose state is saved."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for k, v in module.state_dict().items():
            tensors[f"{name}.{k}"] = v
    osd = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in osd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{idx}.{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = v
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"state": state, "param_groups": osd["param_groups"], "optim_scalars": scalars}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"checkpoint": json.dumps(meta)})
    os.replace(tmp, path)


def load_checkpoint(path: Path, modules: dict[str, torch.nn.Module],
                    opt: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore everything in place; return the JSON training state."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["checkpoint"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as e:
        raise FaceAttrError(f"{path}: not a faceattr checkpoint ({e})") from None
    device = next(modules["model"].parameters()).device

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    for name, module in modules.items():
        try:
            module.load_state_dict(part(f"{name}."))
        except RuntimeError as e:  # another architecture than this run's settings build
            first = str(e).splitlines()[-1].strip()[:160]
            raise FaceAttrError(f"{path}: written by another {name} than the run's settings "
                                f"build ({first}); resume with the settings it was made "
                                "with") from None
    state: dict[int, dict[str, Any]] = {}
    for k, v in part("optim.").items():
        idx, name = k.split(".", 1)
        state.setdefault(int(idx), {})[name] = v.to(device) if name != "step" else v
    for idx, extra in meta["optim_scalars"].items():
        state.setdefault(int(idx), {}).update(extra)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng.torch"])
    return meta["state"]
