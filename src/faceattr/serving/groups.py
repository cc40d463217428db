"""Attribute groups for display (the page shows one panel per group)."""

from __future__ import annotations

from faceattr.celeba import GROUPS


def attribute_groups(attributes: list[str]) -> dict[str, list[str]]:
    """Group the model's attributes; any not in a known group go to "Other"."""
    out = {g: [a for a in names if a in attributes] for g, names in GROUPS.items()}
    known = {a for names in GROUPS.values() for a in names}
    other = [a for a in attributes if a not in known]
    if other:
        out["Other"] = other
    return {g: v for g, v in out.items() if v}
