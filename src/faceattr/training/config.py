"""Training configuration: a TOML file plus ``--set section.key=value`` overrides."""

from __future__ import annotations

import copy
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def default_config() -> dict[str, Any]:
    text = resources.files("faceattr").joinpath("configs/default.toml").read_text("utf-8")
    return tomllib.loads(text)


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Default config, updated by the file at ``path`` and then by ``overrides``."""
    cfg = default_config()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FaceAttrError(f"config file not found: {path}")
        try:
            user = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise FaceAttrError(f"{path}: invalid TOML ({e})") from None
        cfg = merge(cfg, user, str(path))
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise FaceAttrError(f"--set {item!r}: expected section.key=value")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare string
        section, name = key.split(".", 1)
        cfg = merge(cfg, {section: {name: value}}, f"--set {item}")
    return cfg


def merge(base: dict, update: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for section, values in update.items():
        if section not in out or not isinstance(values, dict):
            raise FaceAttrError(f"{where}: unknown config section {section!r}")
        for k, v in values.items():
            if k not in out[section]:
                raise FaceAttrError(f"{where}: unknown setting {section}.{k}")
            _check_type(f"{section}.{k}", out[section][k], v, where)
            out[section][k] = v
    return out


def _check_type(key: str, default: Any, value: Any, where: str) -> None:
    """A value must have the default's type (an int may stand for a float; the scan order may
    be a name or a list)."""
    is_bool = isinstance(value, bool)
    same = isinstance(value, type(default)) and (is_bool == isinstance(default, bool))
    widened = isinstance(default, float) and isinstance(value, int) and not is_bool
    ok = same or widened or (key == "model.order" and isinstance(value, (str, list)))
    if not ok:
        raise FaceAttrError(f"{where}: {key} expects a {type(default).__name__}, got "
                            f"{value!r}")
