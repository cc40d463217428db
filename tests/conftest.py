"""Shared fixtures: small real datasets carved out of ../shared/data, or (on a bare clone) out
of the fixture set in tests/data. Tests that need the full shared data are marked ``shared``
and skip with a reason when it is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "data"
# FACEATTR_TEST_DATA=fixtures runs the suite as a bare clone would, even beside ../shared
HAVE_SHARED = SHARED.is_dir() and os.environ.get("FACEATTR_TEST_DATA") != "fixtures"
DATA = SHARED if HAVE_SHARED else FIXTURES
CELEBA_ATTR = DATA / "celeba" / "list_attr_celeba.txt"
CELEBA_PART = DATA / "celeba" / "list_eval_partition.txt"
ALIGNED = DATA / "celeba" / "aligned-89x109"
HQ = DATA / "celebahq" / "images-64"
HQ_ATTR = DATA / "celebahq" / "list_attr_celebahq.txt"
TEST_CROPS = DATA / "celeba" / "test-crops-dev"



def pytest_collection_modifyitems(config, items):
    """``shared`` tests skip, with the reason, when ../shared/data is absent."""
    if HAVE_SHARED:
        return
    skip = pytest.mark.skip(reason=f"needs the shared data at {SHARED} (a bare clone has only "
                                   "the fixtures in tests/data)")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


def copy_images(src: Path, dst: Path, n: int, start: int = 0) -> list[str]:
    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in src.glob("*.jpg"))[start:start + n]
    for name in names:
        shutil.copy2(src / name, dst / name)
    return names


@pytest.fixture(scope="session")
def celeba_attr_small(tmp_path_factory) -> Path:
    """The CelebA attribute file cut down to its first 12,000 rows (fast to parse)."""
    lines = CELEBA_ATTR.read_text().splitlines()
    out = tmp_path_factory.mktemp("labels") / "list_attr_celeba.txt"
    rows = lines[2:12002]
    out.write_text("\n".join([str(len(rows)), lines[1], *rows]) + "\n")
    return out


@pytest.fixture()
def small_aligned(tmp_path) -> Path:
    """40 real aligned CelebA images in a temporary folder."""
    folder = tmp_path / "aligned"
    copy_images(ALIGNED, folder, 40)
    return folder


TINY_TRAIN = [
    "model.input_size=32", "model.widths=[8,16,16]", "model.depths=[1,1,1]",
    "model.task_dim=8", "model.lstm_hidden=8", "train.batch_size=32", "train.warmup_steps=2",
    "train.threads=1", "train.log_every=1", "data.val_fraction=0.2", "data.val=[]",
]


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory, celeba_attr_small) -> Path:
    """320 real aligned CelebA faces cached at 32x32."""
    from faceattr.data.cache import prepare
    from faceattr.data.dataset import DatasetSpec, resolve

    root = tmp_path_factory.mktemp("tiny")
    copy_images(ALIGNED, root / "images", 320)
    ds = resolve(DatasetSpec(root / "images", celeba_attr_small, framing="celeba-aligned"))
    prepare(ds, root / "cache", size=32, workers=1, progress=False)
    return root / "cache"


@pytest.fixture(scope="session")
def test_crops_small(tmp_path_factory) -> Path:
    """100 real test-split face crops."""
    folder = tmp_path_factory.mktemp("crops") / "images"
    copy_images(TEST_CROPS, folder, 100)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_cache) -> Path:
    """A model trained for 2 epochs on the tiny cache."""
    from faceattr.training.config import load_config
    from faceattr.training.train import train

    out = tmp_path_factory.mktemp("run") / "run"
    cfg = load_config(None, [*TINY_TRAIN, "train.epochs=2", f'data.train=["{tiny_cache}"]'])
    train(cfg, out, progress=False)
    return out / "model.safetensors"


UTK = FIXTURES / "utkface"  # 24 faces with ages (always the fixtures: small and fast)
FER = FIXTURES / "ferplus"  # 24 faces with FER+ votes


@pytest.fixture(scope="session")
def age_expression_caches(tmp_path_factory) -> tuple[Path, Path]:
    """The fixture UTKFace and FER+ faces cached at 32x32, each in its measured framing."""
    from faceattr.data.cache import prepare
    from faceattr.data.dataset import DatasetSpec, resolve

    root = tmp_path_factory.mktemp("age-expr")
    out = []
    for name, folder, framing in (("utk", UTK, "utkface"), ("fer", FER, "ferplus")):
        ds = resolve(DatasetSpec(folder, folder / "labels.csv", framing=framing))
        prepare(ds, root / name, size=32, workers=1, progress=False)
        out.append(root / name)
    return out[0], out[1]


@pytest.fixture(scope="session")
def joint_model(tmp_path_factory, tiny_cache, age_expression_caches) -> Path:
    """A model with the 40 attributes, age and expression, trained for 2 epochs on a mix of the
    tiny CelebA cache and the fixture UTKFace and FER+ caches."""
    from faceattr.training.config import load_config
    from faceattr.training.train import train

    utk, fer = age_expression_caches
    out = tmp_path_factory.mktemp("joint") / "run"
    cfg = load_config(None, [*TINY_TRAIN, "train.epochs=2", "data.val_fraction=0.3",
                             "train.precise_bn=200",
                             f'data.train=["{tiny_cache}", "{utk}", "{fer}"]'])
    train(cfg, out, progress=False)
    return out / "model.safetensors"


@pytest.fixture(scope="session")
def joint_onnx(tmp_path_factory, joint_model) -> Path:
    from faceattr.inference.export import export_onnx

    return export_onnx(joint_model, tmp_path_factory.mktemp("joint-onnx") / "joint.onnx")
