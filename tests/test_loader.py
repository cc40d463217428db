import torch

from faceattr.data.cache import open_cache, prepare
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.training.augment import AugmentConfig
from faceattr.training.loader import CacheBatches


def make_cache(folder, labels, out):
    prepare(resolve(DatasetSpec(folder, labels, framing="celeba-aligned")), out, size=32,
            workers=1, progress=False)
    return open_cache(out)


def test_batches_cover_epoch_and_are_seeded(small_aligned, celeba_attr_small, tmp_path):
    c = make_cache(small_aligned, celeba_attr_small, tmp_path / "c")
    cfg = AugmentConfig()
    a = list(CacheBatches([c], batch_size=16, shuffle=True, augment_cfg=cfg, seed=3))
    b = list(CacheBatches([c], batch_size=16, shuffle=True, augment_cfg=cfg, seed=3))
    d = list(CacheBatches([c], batch_size=16, shuffle=True, augment_cfg=cfg, seed=4))
    assert [x.shape[0] for x, _ in a] == [16, 16, 8]
    assert all(torch.equal(x1, x2) for (x1, _), (x2, _) in zip(a, b))
    assert not torch.equal(a[0][0], d[0][0])
    assert sum(int(y.sum()) for _, y in a) == int(c.labels.sum())  # every row once


def test_flip_only_augmentation_mirrors(small_aligned, celeba_attr_small, tmp_path):
    c = make_cache(small_aligned, celeba_attr_small, tmp_path / "c")
    plain = next(iter(CacheBatches([c], batch_size=8)))[0]
    cfg = AugmentConfig(flip=1.0, scale=0, shift=0, rotate=0, brightness=0, contrast=0,
                        saturation=0, border=0)
    flipped = next(iter(CacheBatches([c], batch_size=8, augment_cfg=cfg)))[0]
    assert torch.allclose(flipped, plain.flip(-1), atol=1e-4)


def test_ranks_split_the_epoch(small_aligned, celeba_attr_small, tmp_path):
    c = make_cache(small_aligned, celeba_attr_small, tmp_path / "c")
    seen = []
    for rank in range(2):
        loader = CacheBatches([c], batch_size=8, shuffle=True, seed=1, rank=rank, world=2)
        seen.append(sum(int(x.shape[0]) for x, _ in loader))
    assert seen == [20, 20]
