"""Shared fixtures: small real datasets carved out of ../shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CELEBA_ATTR = DATA / "celeba" / "list_attr_celeba.txt"
CELEBA_PART = DATA / "celeba" / "list_eval_partition.txt"
ALIGNED = DATA / "celeba" / "aligned-89x109"
HQ = DATA / "celebahq" / "images-64"
HQ_ATTR = DATA / "celebahq" / "list_attr_celebahq.txt"
TEST_CROPS = DATA / "celeba" / "test-crops-dev"

if not DATA.is_dir():  # pragma: no cover
    pytest.exit(f"the shared data is missing: expected it at {DATA}", returncode=3)


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
