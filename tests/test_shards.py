"""Images read in place from tar shards, and label rows matched to images by id."""

import io
import tarfile

import pytest
from PIL import Image

from faceattr.cli import main
from faceattr.data.cache import open_cache, prepare
from faceattr.data.dataset import DatasetSpec, matcher, resolve
from faceattr.errors import FaceAttrError
from faceattr.preprocess.image import open_image
from faceattr.storage.shards import scan_images

from .conftest import ALIGNED, CELEBA_ATTR, DATA

SHARDS = DATA / "celeba" / "aligned-crop108-64"

pytestmark = pytest.mark.shared  # needs hundreds of test crops / the tar shards


def webp_bytes(path) -> bytes:
    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, "WEBP", quality=90)
    return buf.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture()
def shard_dir(tmp_path):
    """Two shards of 12 real aligned faces as WebP (named by id), one member corrupt."""
    folder = tmp_path / "shards"
    folder.mkdir()
    names = sorted(p.name for p in ALIGNED.glob("*.jpg"))[:12]
    for k, part in enumerate((names[:6], names[6:])):
        with tarfile.open(folder / f"train-{k:02d}.tar", "w") as tar:
            for name in part:
                add(tar, name.replace(".jpg", ".webp"), webp_bytes(ALIGNED / name))
            add(tar, "notes.txt", b"not an image, ignored")
    with tarfile.open(folder / "train-00.tar", "a") as tar:
        add(tar, "000999.webp", webp_bytes(ALIGNED / "000001.jpg")[:300])  # truncated
    return folder


def test_folder_of_shards_is_read_in_place(shard_dir, celeba_attr_small):
    files = scan_images(shard_dir)
    assert len(files) == 13 and files[0] == "train-00.tar/000001.webp"
    assert "train-00.tar/notes.txt" not in files
    ds = resolve(DatasetSpec(shard_dir, celeba_attr_small, framing="celeba-aligned"))
    table_row = ds.files.index("train-01.tar/000007.webp")
    ref = resolve(DatasetSpec(ALIGNED, CELEBA_ATTR, skip_missing=True))
    assert (ds.labels[table_row] == ref.labels[ref.files.index("000007.jpg")]).all()
    image = open_image(shard_dir / "train-01.tar/000007.webp")
    assert image.size == (89, 109)


def test_one_tar_file_and_a_corrupt_member(shard_dir, celeba_attr_small, tmp_path):
    ds = resolve(DatasetSpec(shard_dir / "train-00.tar", celeba_attr_small,
                             framing="celeba-aligned"))
    assert ds.files == [f"{i:06d}.webp" for i in range(1, 7)] + ["000999.webp"]
    summary = prepare(ds, tmp_path / "c", size=32, workers=1, progress=False)
    assert (summary.cached, summary.skipped) == (6, 1)
    assert summary.failures[0].startswith(str(shard_dir / "train-00.tar" / "000999.webp"))
    cache = open_cache(tmp_path / "c")
    assert len(cache) == 6 and "000999.webp" not in cache.files
    with pytest.raises(FaceAttrError, match="no such image in"):
        open_image(shard_dir / "train-00.tar" / "000042.webp")


def test_not_a_tar_and_an_empty_tar_are_one_line_errors(tmp_path, capsys):
    fake = tmp_path / "fake.tar"
    fake.write_bytes(b"this is not a tar archive" * 40)
    rc = main(["prepare", "--images", str(fake), "--labels", str(CELEBA_ATTR), "--out",
               str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == f"error: {fake}: not a tar archive"
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w") as tar:
        add(tar, "readme.txt", b"hello")
    rc = main(["predict", str(empty), "--no-detect"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "holds no images" in err


def test_predict_reads_a_shard(shard_dir, capsys):
    rc = main(["predict", str(shard_dir / "train-01.tar"), "--no-detect", "--format", "csv"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(out) == 7 and "train-01.tar/000007.webp" in out[1]


def test_label_rows_match_images_by_id():
    match = matcher(["000001.jpg", "000002.jpg", "sub/a.png", "x.jpg", "x.png"])
    assert match("000001.jpg") == "000001.jpg"
    assert match("shards/train-00.tar/000002.webp") == "000002.jpg"
    assert match("sub/a.png") == "sub/a.png" and match("other/a.jpg") == "sub/a.png"
    assert match("x.webp") is None  # two rows share the id: no guess
    assert match("000003.webp") is None


def test_real_shards_split_by_partition():
    files = scan_images(SHARDS)
    assert len(files) == 48_123 + 19_867
    assert len(set(files)) == len(files)
    labels = [f for f in files if f.startswith("val-00.tar/")]
    assert labels[0] == "val-00.tar/162771.webp" and labels[-1] == "val-00.tar/182637.webp"
