"""Tar members are data inside the tar, whatever their names say: a member named like a host
file (``/abs/x.jpg``) is read from the archive, a member that climbs out (``../x.jpg``) is left
out."""

import io
import json
import tarfile

from faceattr.cli import main
from faceattr.storage.shards import member_name, scan_images

from .conftest import TEST_CROPS


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_member_names_stay_inside():
    assert member_name("/abs/x.jpg") == "abs/x.jpg" and member_name("./a//b.jpg") == "a/b.jpg"
    assert member_name("../x.jpg") is None and member_name("a/../../x.jpg") is None
    assert member_name("/") is None


def test_a_member_named_like_a_host_file_is_read_from_the_tar(tmp_path, capsys):
    crops = sorted(TEST_CROPS.glob("*.jpg"))
    host = tmp_path / "host" / "face.jpg"  # a real file on the host, another face
    host.parent.mkdir()
    host.write_bytes(crops[1].read_bytes())
    shard = tmp_path / "shard.tar"
    with tarfile.open(shard, "w") as tar:
        add(tar, str(host), crops[0].read_bytes())  # the member's own bytes: crop 0
        add(tar, "../escape.jpg", crops[2].read_bytes())
    assert scan_images(shard) == [str(host).lstrip("/")]
    assert main(["predict", str(shard), "--no-detect", "--format", "jsonl"]) == 0
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["predict", str(crops[0]), str(host), "--no-detect", "--format", "jsonl"]) == 0
    own, other = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert len(got) == 1 and got[0]["file"].startswith(str(shard))
    assert got[0]["probabilities"] == own["probabilities"] != other["probabilities"]
