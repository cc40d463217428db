"""Training configuration: a TOML file plus ``--set section.key=value`` overrides, as a dict
(what a run records in ``config.json``), checked and typed by ``training/settings.py``."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
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
        user = _read_settings(path, f"config file not found: {path}", tomllib.loads,
                              tomllib.TOMLDecodeError, "invalid TOML")
        cfg = merge(cfg, user, str(path))
    return validate(apply_overrides(cfg, overrides))


def _read_settings(path: Path, missing: str, parse: Callable[[str], Any],
                   error: type[Exception], bad: str) -> dict[str, Any]:
    """A settings file parsed by ``parse``; one-line errors when it is missing or unreadable."""
    if not path.is_file():
        raise FaceAttrError(missing)
    try:
        return parse(path.read_text("utf-8"))
    except (error, UnicodeDecodeError) as e:
        raise FaceAttrError(f"{path}: {bad} ({e})") from None


def apply_overrides(cfg: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """``cfg`` updated by ``--set section.key=value`` items (values parsed as TOML)."""
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


def resume_config(run: str | Path, overrides: list[str] | None) -> tuple[dict[str, Any], list[str]]:
    """The settings of the run in ``run`` (its ``config.json``), with deliberate ``--set``
    changes applied; returns the config and the changes as ``key: old -> new`` lines."""
    path = Path(run) / "config.json"
    saved = _read_settings(path, f"--resume: no run in {run} (no config.json)", json.loads,
                           json.JSONDecodeError, "corrupt run settings")
    cfg = validate(apply_overrides(merge(default_config(), saved, str(path)), overrides))
    # a setting added after the run started takes its default silently; only real changes count
    changes = [f"{sec}.{k}: {json.dumps(saved.get(sec, {}).get(k))} -> {json.dumps(v)}"
               for sec, values in cfg.items() for k, v in values.items()
               if saved.get(sec, {}).get(k, default_config()[sec][k]) != v]
    fixed = [c for c in changes if c.startswith("model.")]
    if fixed:
        raise FaceAttrError(f"--resume: the run's model cannot change ({'; '.join(fixed)}); "
                            "start a new run (train.init fine-tunes from a model file)")
    return cfg, changes


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
        kind = type(default).__name__
        raise FaceAttrError(f"{where}: {key} expects {'an' if kind[0] in 'aeiou' else 'a'} "
                            f"{kind}, got "
                            f"{value!r}")


def validate(cfg: dict[str, Any]) -> dict[str, Any]:
    """Check every key, type and bound (:class:`~faceattr.training.settings.Settings`), before
    any data is read or any step is taken; returns ``cfg``."""
    from faceattr.training.settings import Settings

    Settings.from_dict(cfg)
    return cfg
