import shutil

import pytest

from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.data.labels import read_celeba_attributes
from faceattr.errors import FaceAttrError

from .conftest import CELEBA_PART


def test_folder_subset_of_label_file(small_aligned, celeba_attr_small):
    ds = resolve(DatasetSpec(small_aligned, celeba_attr_small, framing="celeba-aligned"))
    assert len(ds) == 40 and ds.files[0] == "000001.jpg"
    table = read_celeba_attributes(celeba_attr_small)
    assert (ds.labels[5] == table.values[5]).all()  # looked up by name
    assert any("have no image" in n for n in ds.notes)


def test_unlabelled_images_are_reported_then_skippable(small_aligned, celeba_attr_small):
    shutil.copy2(small_aligned / "000001.jpg", small_aligned / "stranger.jpg")
    with pytest.raises(FaceAttrError, match=r"1 image\(s\) in .* have no row .*stranger.jpg"):
        resolve(DatasetSpec(small_aligned, celeba_attr_small))
    ds = resolve(DatasetSpec(small_aligned, celeba_attr_small, skip_missing=True))
    assert len(ds) == 40 and "stranger.jpg" not in ds.files


def test_split_filter(small_aligned, celeba_attr_small):
    ds = resolve(DatasetSpec(small_aligned, celeba_attr_small, CELEBA_PART, "train"))
    assert len(ds) == 40
    with pytest.raises(FaceAttrError, match="belongs to the test split"):
        resolve(DatasetSpec(small_aligned, celeba_attr_small, CELEBA_PART, "test"))


def test_rows_of_other_splits_are_not_counted_as_missing_images(small_aligned, tmp_path,
                                                               celeba_attr_small):
    """--split val on an age CSV with a split column: the train rows are not 'without an
    image'; a val row whose image is absent is."""
    names = sorted(p.name for p in small_aligned.glob("*.jpg"))[:3]
    folder = tmp_path / "val"
    folder.mkdir()
    for n in names[:2]:
        shutil.copy2(small_aligned / n, folder / n)
    rows = [f"{names[0]},30,val", f"{names[1]},40,val", f"{names[2]},50,val"]
    rows += [f"train{i}.jpg,20,train" for i in range(5)]
    labels = tmp_path / "ages.csv"
    labels.write_text("file,age,split\n" + "\n".join(rows) + "\n")
    ds = resolve(DatasetSpec(folder, labels, split="val"))
    assert len(ds) == 2
    assert ds.notes == [f"1 of 3 label rows of the val split have no image in {folder} "
                        "(the folder holds a subset)"]


def test_bad_paths_and_options(tmp_path, celeba_attr_small, small_aligned):
    with pytest.raises(FaceAttrError, match="images not found"):
        resolve(DatasetSpec(tmp_path / "nope", celeba_attr_small))
    with pytest.raises(FaceAttrError, match="label file not found"):
        resolve(DatasetSpec(small_aligned, tmp_path / "nope.txt"))
    with pytest.raises(FaceAttrError, match="needs --partition"):
        DatasetSpec(small_aligned, celeba_attr_small, split="train")
    with pytest.raises(FaceAttrError, match="unknown framing 'weird'"):
        resolve(DatasetSpec(small_aligned, celeba_attr_small, framing="weird"))
