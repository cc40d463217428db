"""Batches from one or more caches, shuffled and augmented, with no JPEG decoding.

A plain iterator instead of ``DataLoader`` workers: the cache is already decoded, so one
indexing operation plus one batched augmentation per step is all the work there is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from faceattr.data.cache import Cache
from faceattr.data.labels import MISSING
from faceattr.errors import FaceAttrError
from faceattr.training.augment import AugmentConfig, augment
from faceattr.training.tensor import normalise, to_unit

__all__ = ["MISSING", "CacheBatches"]


class CacheBatches:
    """Iterate over ``(images float (B,3,S,S), labels long (B,A))`` batches of some cache rows.

    Pixels travel to ``device`` as uint8 and are augmented there (on the GPU when training on one).
    ``rank``/``world`` give each distributed process a disjoint share of every epoch.

    Caches of different tasks mix: CelebA caches (attributes), age caches and expression caches.
    Then each batch's targets are a dict: ``attributes`` (B, A) long with -1 where a row has no
    attribute labels, ``age`` (B,) years with NaN where it has none, ``expression`` (B, E) vote
    shares, all zero where it has none.
    """

    def __init__(self, caches: Sequence[Cache], indices: np.ndarray | None = None,
                 batch_size: int = 64, shuffle: bool = False,
                 augment_cfg: AugmentConfig | None = None, seed: int = 0,
                 mean: float = 0.5, std: float = 0.5, drop_last: bool = False,
                 rank: int = 0, world: int = 1, device: torch.device | str = "cpu",
                 soft: str = "", soft_weight: float = 0.5) -> None:
        """``soft``: distillation, the name of the teacher's probabilities stored beside each
        cache (``CACHE/soft/NAME.npy``, ``tools/soft_targets.py``); targets are then floats,
        ``(1 - soft_weight) * label + soft_weight * teacher``."""
        if not caches:
            raise FaceAttrError("no cache given")
        labelled = [c for c in caches if c.attributes]
        attrs = labelled[0].attributes if labelled else ()
        sizes = {c.size for c in caches}
        for c in labelled:
            if c.attributes != attrs:
                raise FaceAttrError(f"{c.path}: attributes differ from {labelled[0].path}")
        if len(sizes) != 1:
            raise FaceAttrError(f"caches have different image sizes: {sorted(sizes)}")
        arrays = [np.asarray(c.images) for c in caches]  # into memory: one copy, fast indexing
        self.images = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        self.labels = np.concatenate([c.labels if c.attributes else
                                      np.full((len(c), len(attrs)), MISSING, np.uint8)
                                      for c in caches])
        # mixed: some labels unknown (a blank cell, an age or expression set): each row then
        # counts for the tasks it has labels for
        self.mixed = len(labelled) < len(caches) or any("age" in c.targets or "expression" in
                                                        c.targets for c in caches) \
            or bool((self.labels == MISSING).any())
        self.age = np.concatenate([c.targets.get("age", np.full(len(c), np.nan, np.float32))
                                   for c in caches]).astype(np.float32)
        e = max((c.targets["expression"].shape[1] for c in caches if "expression" in c.targets),
                default=0)
        votes = np.concatenate([c.targets.get("expression", np.zeros((len(c), e), np.float32))
                                for c in caches]).astype(np.float32)
        self.expression = votes / np.maximum(votes.sum(1, keepdims=True), 1e-9)
        self.soft = None
        if soft:
            parts = []
            for c in caches:
                path = c.path / "soft" / f"{soft}.npy"
                if not path.is_file():
                    raise FaceAttrError(f"data.soft = {soft!r}: no soft targets at {path} "
                                        "(make them with tools/soft_targets.py)")
                q = np.load(path)
                if q.shape != c.labels.shape:
                    raise FaceAttrError(f"{path}: shape {q.shape}, the cache has "
                                        f"{c.labels.shape}")
                parts.append(q)
            self.soft, self.soft_weight = np.concatenate(parts), soft_weight
        self.attributes = attrs
        self.indices = np.arange(len(self.labels)) if indices is None else np.asarray(indices)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.augment_cfg, self.seed, self.mean, self.std = augment_cfg, seed, mean, std
        self.rank, self.world, self.device = rank, world, torch.device(device)
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """The epoch's order; ``skip``: start after that many batches (a resumed timed stop)."""
        self.epoch, self.skip = epoch, skip

    def _order(self) -> np.ndarray:
        idx = self.indices
        if self.shuffle:
            rng = np.random.default_rng((self.seed, self.epoch))
            idx = idx[rng.permutation(len(idx))]
        if self.world > 1:  # pad to a multiple of world, then stride like DistributedSampler
            pad = (-len(idx)) % self.world
            idx = np.concatenate([idx, idx[:pad]])[self.rank::self.world]
        return idx

    def __len__(self) -> int:
        n = len(self._order())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | dict[str, torch.Tensor]]]:
        order = self._order()
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch * 7919 + self.rank)
        stop = len(self) * self.batch_size
        first = self.skip * self.batch_size
        for start in range(first, min(stop, len(order)), self.batch_size):
            sel = np.sort(order[start:start + self.batch_size])
            x = to_unit(np.ascontiguousarray(self.images[sel]), self.device)
            if self.augment_cfg is not None:
                x = augment(x, self.augment_cfg, gen)
            x = normalise(x, self.mean, self.std)
            if self.mixed:
                lab = self.labels[sel].astype(np.int64)
                lab[lab == MISSING] = -1
                yield x, {k: torch.from_numpy(v).to(self.device) for k, v in
                          [("attributes", lab), ("age", self.age[sel]),
                           ("expression", self.expression[sel])]}
            elif self.soft is not None:
                w = self.soft_weight
                y = (1 - w) * self.labels[sel] + w * self.soft[sel].astype(np.float32)
                yield x, torch.from_numpy(y.astype(np.float32)).to(self.device)
            else:
                yield x, torch.from_numpy(self.labels[sel].astype(np.int64)).to(self.device)
