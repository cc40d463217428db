"""Logical-consistency rules: attribute combinations that cannot (or should not) occur together.

The patent's motivation is that independent per-attribute classifiers produce impossible
combinations. Each rule is a set of attributes of which at most one may be present (for a
two-attribute rule: "not both"). A prediction violates the rule set if any rule is broken.
"""

from __future__ import annotations

import numpy as np

from faceattr.celeba import RULES


def violations(values: np.ndarray, attributes: tuple[str, ...] | list[str]) -> dict:
    """Share of rows (images) that break each rule, and any rule, for 0/1 ``values`` (N, A).

    Rules that name an attribute missing from ``attributes`` are left out.
    """
    pos = {a: i for i, a in enumerate(attributes)}
    any_broken = np.zeros(len(values), dtype=bool)
    per_rule: dict[str, float] = {}
    for name, attrs in RULES:
        if not all(a in pos for a in attrs):
            continue
        broken = values[:, [pos[a] for a in attrs]].sum(1) > 1
        per_rule[name] = float(broken.mean()) if len(values) else 0.0
        any_broken |= broken
    return {"any": float(any_broken.mean()) if len(values) else 0.0, "rules": per_rule}
